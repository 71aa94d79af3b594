"""The job-side commands: `inkweave worker` and `inkweave export`."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.exports import FORMATS, ExportError, ExportOptions, file_name, render
from jobs.exports.job import load_source, read_work
from jobs.host import TaskHandler
from jobs.runner import TaskRunner

from .adapters import Adapters, build_adapters, start_adapters, stop_adapters
from .composition import build_services
from .jobs_setup import build_job_system, start_jobs, task_handlers
from .services.access_changes import no_sockets
from .settings import Settings
from .tracing import provider_from_settings, tracer_of
from .worker_observability import serve_metrics, traced_handlers

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = logging.getLogger("inkweave")


@asynccontextmanager
async def running_adapters(
    settings: Settings, runner: TaskRunner, *, tracer: Tracer | None = None
) -> AsyncIterator[Adapters]:
    """Adapters started outside the web app (worker, CLI), the text projection included;
    `tracer`: their rooms and AI calls make spans."""
    adapters = build_adapters(settings, runner=runner, tracer=tracer)
    await start_adapters(adapters)
    try:
        yield adapters
    finally:
        await stop_adapters(adapters)


async def run_worker(
    settings: Settings,
    *,
    compaction_interval_s: float | None = None,
    handlers: Mapping[str, TaskHandler] | None = None,
) -> None:
    """Run jobs from the broker and the periodic scheduler until SIGTERM or SIGINT.

    `handlers`: the task kinds this worker runs (default: every kind; a test adds its own).

    Seen as `inkweave serve` is: spans to `INKWEAVE_OTLP_ENDPOINT` (one `task.run` per task, its
    AI calls inside), and its metrics (AI calls and tokens, rooms) on
    `INKWEAVE_WORKER_METRICS_PORT`."""
    system = build_job_system(settings)
    if system.kind == "stub":
        log.warning(
            "no broker configured (INKWEAVE_REDIS_URL or INKWEAVE_RABBITMQ_URL): this worker "
            "runs periodic jobs only; tasks run inside `inkweave serve`"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    provider = provider_from_settings(settings)
    tracer = tracer_of(provider) if provider is not None else None
    try:
        async with running_adapters(settings, system.runner, tracer=tracer) as adapters:
            services = build_services(adapters, recheck_sockets=no_sockets)
            await services.word_list.start()  # AI answers are judged by the current list
            if tracer is not None:
                handlers = traced_handlers(
                    task_handlers(adapters, services, sync_url=None)
                    if handlers is None
                    else handlers,
                    tracer,
                )
            # Before any job: a port already taken stops the worker before it takes a task.
            metrics = serve_metrics(settings, adapters.metrics.registry)
            try:
                await start_jobs(
                    system,
                    adapters,
                    services,
                    run_jobs=True,
                    handlers=handlers,
                    compaction_interval_s=compaction_interval_s,
                    recover=False,  # tasks of an in-process broker belong to `inkweave serve`
                )
                log.info("worker started", extra={"broker": system.kind})
                try:
                    await stop.wait()
                finally:
                    log.info("worker stopping")
                    await system.stop()
            finally:
                if metrics is not None:
                    await asyncio.to_thread(metrics.close)
    finally:
        if provider is not None:  # the last spans go out (a blocking export)
            await asyncio.to_thread(provider.shutdown)


class ProgressBar:
    """A tqdm bar on stderr, fed from the rendering thread."""

    def __init__(self, description: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            desc=description,
            unit="%",
            file=sys.stderr,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}",
        )
        self._shown = 0

    def to(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        if percent > self._shown:
            self._bar.update(percent - self._shown)
            self._shown = percent

    def span(self, start: int, end: int) -> Callable[[int], None]:
        return lambda percent: self.to(start + (end - start) * percent // 100)

    def close(self) -> None:
        self._bar.close()


async def run_export(
    settings: Settings,
    work_id: int,
    fmt: str,
    out: Path | None,
    options: dict[str, Any],
    chapter_ids: list[int] | None,
) -> Path:
    """Export a work in this process (no task row) and write the file."""
    system = build_job_system(settings)  # queues nothing here; the adapters want a runner
    async with running_adapters(settings, system.runner) as adapters:
        source = await load_source(adapters.database, work_id, chapter_ids)
        if FORMATS[fmt].scripts_only and source.work.type != "script":
            raise ExportError(f"{fmt} is for scripts; work {work_id} is a {source.work.type}")
        bar = ProgressBar(f"{source.work.title} → {fmt}")
        try:
            work = await read_work(adapters.store, source, bar.span(0, 20))
            data = await asyncio.to_thread(
                render, fmt, work, ExportOptions(**options), bar.span(20, 100)
            )
            bar.to(100)
        finally:
            bar.close()
    target = out or Path(file_name(work.title, fmt))
    if target.is_dir():
        target = target / file_name(work.title, fmt)
    target.write_bytes(data)
    return target
