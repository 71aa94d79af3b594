"""OpenTelemetry traces of REST requests, sync rooms (load, append, relay) and AI calls.

On only where `INKWEAVE_OTLP_ENDPOINT` names a collector (or a caller hands in a tracer provider,
as the tests do with an in-memory exporter); off, no SDK or exporter is imported and nothing is
wrapped. The provider is this app's own, not OpenTelemetry's global one: two apps in one process
(tests) trace apart.

Spans: `HTTP <method> <route>` per REST request (server kind, the route template as name, so that
`/api/v1/works/{work_id}` is one name); `sync.load` from a room's first reader until its document
is read; `sync.append` per stored update (start = end - the append's own time); `sync.relay` per
broadcast; `ai.call` per try of a model (provider, model, tokens, status), a child of the request
or task span that made it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.ai_histories.base import AiCall
from sync_server.hooks import Relayed, RoomHooks

from .http_metrics import route_template
from .settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from sync_server.room import Room

TRACER_NAME = "inkweave"


def provider_from_settings(settings: Settings) -> TracerProvider | None:
    """A provider that exports to the configured collector in batches; None when none is."""
    if not settings.otlp_endpoint:
        return None
    # Imported only here: a node without a collector never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    resource = Resource.create(
        {"service.name": "inkweave", "service.instance.worker": settings.worker_index}
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def tracer_of(provider: Any) -> Tracer:
    return provider.get_tracer(TRACER_NAME)


class TracingMiddleware:
    """ASGI: one server span per HTTP request, named after the route it matched."""

    def __init__(self, app: ASGIApp, *, tracer: Tracer) -> None:
        self.app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        span = self._tracer.start_span(
            f"HTTP {method}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            otel_context.detach(token)
            route = route_template(scope)
            if route:
                span.update_name(f"HTTP {method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


class RoomTracing(RoomHooks):
    """Spans of the rooms, through the room hooks (registered only while tracing is on)."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._loading: set[asyncio.Task[None]] = set()

    async def on_load(self, room: Room) -> None:
        span = self._tracer.start_span("sync.load", attributes={"inkweave.doc": room.name})
        # The hook runs before the read; the span ends when the room is ready (or failed).
        loaded = asyncio.get_running_loop().create_task(room.ready())
        self._loading.add(loaded)

        def end(task: asyncio.Task[None]) -> None:
            self._loading.discard(task)
            if task.cancelled() or task.exception() is not None:
                span.set_status(Status(StatusCode.ERROR))
            span.end()

        loaded.add_done_callback(end)

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        end = time.time_ns()
        span = self._tracer.start_span(
            "sync.append",
            start_time=end - int(append_seconds * 1e9),
            attributes={"inkweave.doc": room.name, "inkweave.update_bytes": len(update)},
        )
        span.end(end_time=end)

    def on_relay(self, room: Room, kind: Relayed, frames: int) -> None:
        span = self._tracer.start_span(
            "sync.relay",
            attributes={
                "inkweave.doc": room.name,
                "inkweave.kind": kind,
                "inkweave.frames": frames,
            },
        )
        span.end()


class AiCallTracing:
    """A span per try of a model, as the router reports it (`Router(observers=...)`)."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def __call__(self, call: AiCall) -> None:
        end = time.time_ns()
        span = self._tracer.start_span(
            "ai.call",
            kind=SpanKind.CLIENT,
            start_time=end - call.duration * 1_000_000,
            attributes={
                "gen_ai.system": call.provider,
                "gen_ai.request.model": call.model,
                "gen_ai.usage.input_tokens": call.prompt_tokens,
                "gen_ai.usage.output_tokens": call.completion_tokens,
                "inkweave.ai.action": call.action_type,
                "inkweave.ai.status": call.status,
            },
        )
        if call.status != "ok":
            span.set_status(Status(StatusCode.ERROR, call.error or None))
        span.end(end_time=end)
