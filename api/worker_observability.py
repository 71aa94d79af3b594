"""What makes `inkweave worker` seen: a span per task it runs (the AI calls of the task are its
children) and its own Prometheus endpoint, since a worker serves no HTTP app with `/metrics`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from opentelemetry.trace import SpanKind, Tracer
from prometheus_client import CollectorRegistry, start_http_server

from jobs.host import TaskHandler

from .settings import Settings

log = logging.getLogger(__name__)

TASK_SPAN = "task.run"


def traced_handlers(handlers: Mapping[str, TaskHandler], tracer: Tracer) -> dict[str, TaskHandler]:
    """Each handler inside a `task.run` span (consumer kind) naming the task's kind and id."""

    def traced(kind: str, handler: TaskHandler) -> TaskHandler:
        async def run(task_id: str) -> bool | None:
            attributes = {"inkweave.task.kind": kind, "inkweave.task.id": task_id}
            # Current while the handler runs: the router's `ai.call` spans become its children.
            with tracer.start_as_current_span(
                TASK_SPAN, kind=SpanKind.CONSUMER, attributes=attributes
            ):
                return await handler(task_id)

        return run

    return {kind: traced(kind, handler) for kind, handler in handlers.items()}


@dataclass(slots=True)
class MetricsServer:
    """prometheus_client's threaded WSGI server over one registry."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def serve_metrics(settings: Settings, registry: CollectorRegistry) -> MetricsServer | None:
    """`registry` on `INKWEAVE_WORKER_METRICS_HOST`:`INKWEAVE_WORKER_METRICS_PORT`; None when
    the port is 0 (off)."""
    if not settings.worker_metrics_port:
        return None
    server, thread = start_http_server(
        settings.worker_metrics_port, addr=settings.worker_metrics_host, registry=registry
    )
    served = MetricsServer(server, thread)
    log.info("worker metrics on http://%s:%d/metrics", settings.worker_metrics_host, served.port)
    return served
