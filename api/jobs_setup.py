"""Settings → the job system, for `inkweave serve` (in-process jobs) and `inkweave worker`.

The composition root of the jobs: which handler runs which kind of task, which periodic jobs
run, and who hears how a task ended. `jobs` knows none of these use cases; they are handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from ai_agents.agents import summaries
from ai_agents.agents.task_runner import AgentPorts, run_task
from jobs.broker import BrokerConfig
from jobs.exports.job import ExportJob
from jobs.host import FinishedHook, TaskHandler, TaskPolicy
from jobs.schedule import default_jobs
from jobs.system import JobSystem
from jobs.tasks import FAILED
from storage.sql.models import Task

from .adapters import Adapters
from .composition import Services
from .services.agent_ports import RoomDocuments, ServiceLibrary
from .services.ai_tasks import AI_KIND
from .services.comment_positions import positions
from .services.exports import EXPORT, notify_exported
from .services.import_job import ImportJob
from .services.imports import IMPORT, notify_imported
from .services.notifications import Notifier
from .settings import Settings


def task_handlers(
    adapters: Adapters, services: Services, *, sync_url: str | None
) -> dict[str, TaskHandler]:
    """Which handler runs which kind of task. `sync_url`: where AI peers join this server's
    documents (`INKWEAVE_AI_SYNC_URL` wins)."""
    a = adapters
    agent_ports = AgentPorts(
        database=a.database,
        documents=RoomDocuments(a.store, a.rooms, a.tokens, a.settings.ai_sync_url or sync_url),
        library=ServiceLibrary(a.database, services.works, services.chapters),
        tasks=a.tasks,
        ai=a.ai,
        safety=a.safety,
        notify=services.notifier.notify_quietly,
        context_chars=a.settings.ai_context_chars,
    )
    return {
        AI_KIND: partial(run_task, agent_ports),
        EXPORT: ExportJob(
            a.database,
            a.store,
            a.tasks,
            a.blobs,
            passwords=services.exports.passwords,
            positions=positions,
        ),
        IMPORT: ImportJob(
            database=a.database,
            tasks=a.tasks,
            blobs=a.blobs,
            rooms=a.rooms,
            projection=a.projection,
            works=services.works,
            chapters=services.chapters,
        ),
    }


def owner_notices(notifier: Notifier) -> FinishedHook:
    """The job system's `on_finished` hook: a task's owner hears how it ended."""
    completion = {EXPORT: notify_exported, IMPORT: notify_imported}

    async def tell_the_owner(task: Task) -> None:
        if task.status == FAILED:
            await notifier.task_failed(task, task.error or "")
            return
        notice = completion.get(task.kind)
        if notice is not None:
            await notice(notifier, task)

    return tell_the_owner


def broker_config(settings: Settings) -> BrokerConfig:
    return BrokerConfig(
        redis_url=settings.redis_url,
        rabbitmq_url=settings.rabbitmq_url,
        namespace=settings.jobs_namespace or f"{settings.redis_prefix}dramatiq",
        queue=settings.jobs_queue,
        max_retries=settings.jobs_max_retries,
        min_backoff_ms=settings.jobs_min_backoff_ms,
        max_backoff_ms=settings.jobs_max_backoff_ms,
        heartbeat_timeout_ms=settings.jobs_heartbeat_timeout_ms,
        maintenance_chance=settings.jobs_maintenance_chance,
        worker_threads=settings.jobs_worker_threads,
    )


def build_job_system(settings: Settings) -> JobSystem:
    return JobSystem(
        broker_config(settings),
        policy=TaskPolicy(
            heartbeat_s=settings.jobs_task_heartbeat_s,
            stale_s=settings.jobs_task_stale_s,
            time_limit_s=settings.jobs_time_limit_s,
        ),
    )


def jobs_in_process(settings: Settings, system: JobSystem) -> bool:
    """Whether `inkweave serve` runs jobs itself: by default only with the in-process broker."""
    if settings.jobs_in_process is not None:
        return settings.jobs_in_process
    return system.kind == "stub"


def _recovers(settings: Settings, system: JobSystem, run_jobs: bool) -> bool:
    """Whether this process resubmits the unfinished tasks at start: where the in-process broker
    runs them (it forgets its messages on restart, SQL remembers the tasks), and of the processes
    of one `inkweave serve --workers`, only the first (the others' tasks are running)."""
    return run_jobs and system.kind == "stub" and settings.worker_index == 0


async def start_jobs(
    system: JobSystem,
    adapters: Adapters,
    services: Services,
    *,
    run_jobs: bool,
    sync_url: str | None = None,
    handlers: Mapping[str, TaskHandler] | None = None,
    compaction_interval_s: float | None = None,
    recover: bool | None = None,
) -> None:
    """`handlers`: the task kinds this process runs (default: every kind, `task_handlers`).
    `recover`: resubmit unfinished tasks (default: `_recovers`)."""
    a = adapters
    await system.start(
        a.database,
        run_jobs=run_jobs,
        handlers=task_handlers(a, services, sync_url=sync_url) if handlers is None else handlers,
        periodic=default_jobs(
            a.settings,
            database=a.database,
            store=a.store,
            blobs=a.blobs,
            tasks=a.tasks,
            refresh_summaries=partial(summaries.refresh_summaries, a.database),
            compaction_interval_s=compaction_interval_s,
        ),
        on_finished=owner_notices(services.notifier),
        recover=_recovers(a.settings, system, run_jobs) if recover is None else recover,
    )
