"""OpenTelemetry traces: REST requests, sync room load/append/relay and AI calls are spans when a
tracer provider is configured; without `INKWEAVE_OTLP_ENDPOINT` no SDK is even imported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.app import create_app
from api.settings import Settings
from tests.api.test_works import make_chapter, make_work, ok
from tests.support.api import RestClient
from tests.support.asgi import serving
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.yclient import YClient
from tests.test_startup_imports import _fresh_python


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}",
        auto_migrate=True,
        ai_backoff_s=0.01,
        **overrides,
    )


class _Client(RestClient):
    def __init__(self, base_url: str, app: Any) -> None:
        super().__init__(base_url)
        self.app = app

    def mails(self) -> list[dict[str, str]]:
        return self.app.state.adapters.mailer.read()


@asynccontextmanager
async def _serving(settings: Settings, **app_options: Any) -> AsyncIterator[_Client]:
    port = free_port()
    app = create_app(settings, sync_url=f"ws://127.0.0.1:{port}/sync", **app_options)
    async with serving(app, port, lifespan="on"):
        client = _Client(f"http://127.0.0.1:{port}", app)
        try:
            yield client
        finally:
            await client.close()


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def test_rest_sync_and_ai_calls_are_spans(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with running_fake_llm() as llm:
        llm.script(Reply(text="他快步走了过去。", usage=(30, 8)))
        settings = _settings(
            tmp_path, ai_providers=[llm.provider_config("fake")], auth="on", ai_retries=0
        )
        async with _serving(settings, tracer_provider=provider) as api:
            owner = await api.sign_up()
            work = await make_work(api, owner)
            body = {"work_id": work["id"], "content": "他很快的跑了过去。", "style": "formal"}
            polished = ok(await api.call("POST", "/api/v1/ai/polish", owner, json=body))
            assert polished["provider"] == "fake"
            missing = await api.call("GET", f"/api/v1/works/{work['id'] + 1000}", owner)
            assert missing.status_code == 404

            doc = (await make_chapter(api, owner, work["id"], "第一章"))["content_id"]
            sync_base = str(api.http.base_url.copy_with(scheme="ws").join("/sync"))
            writer = await YClient(sync_base, doc, token=owner.token).connect()
            reader = await YClient(sync_base, doc, token=owner.token).connect()
            writer.append("夜色渐深。")
            await eventually(lambda: "夜色" in str(reader.text), what="relayed")
            await writer.close()
            await reader.close()

    spans = exporter.get_finished_spans()
    names = {span.name for span in spans}
    assert "HTTP POST /api/v1/works" in names, names
    assert "HTTP GET /api/v1/works/{work_id}" in names, names

    [polish] = _named(spans, "HTTP POST /api/v1/ai/polish")
    assert polish.attributes["http.response.status_code"] == 200
    assert polish.attributes["http.route"] == "/api/v1/ai/polish"
    [call] = _named(spans, "ai.call")
    assert call.attributes["gen_ai.system"] == "fake"
    assert call.attributes["gen_ai.request.model"] == "fake-model"
    assert call.attributes["gen_ai.usage.input_tokens"] == 30
    assert call.attributes["gen_ai.usage.output_tokens"] == 8
    assert call.parent is not None and call.parent.span_id == polish.context.span_id
    assert call.context.trace_id == polish.context.trace_id

    [load] = _named(spans, "sync.load")
    assert load.attributes["inkweave.doc"] == doc
    assert load.end_time >= load.start_time
    appends = _named(spans, "sync.append")
    assert appends and all(s.attributes["inkweave.doc"] == doc for s in appends)
    relays = [s for s in _named(spans, "sync.relay") if s.attributes["inkweave.kind"] == "updates"]
    assert relays and relays[0].attributes["inkweave.frames"] >= 1


async def test_an_otlp_endpoint_receives_the_spans(tmp_path: Path) -> None:
    """A collector on loopback (OTLP/HTTP, protobuf) gets the spans by the time the app stops."""
    received: list[ExportTraceServiceRequest] = []
    arrived = asyncio.Event()

    async def traces(request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        received.append(export)
        arrived.set()
        return Response(b"", media_type="application/x-protobuf")

    collector_port = free_port()
    collector = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    async with serving(collector, collector_port):
        settings = _settings(tmp_path, otlp_endpoint=f"http://127.0.0.1:{collector_port}")
        async with _serving(settings) as api:
            assert (await api.http.get("/healthz")).status_code == 200
        # The app's shutdown flushed the batch: in a thread, while this loop serves the collector.
        await asyncio.wait_for(arrived.wait(), 30)
    names = [
        (span.name, resource.resource)
        for export in received
        for resource in export.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert any(name == "HTTP GET /healthz" for name, _ in names), names
    service = {
        attribute.key: attribute.value.string_value
        for attribute in names[0][1].attributes
        if attribute.key == "service.name"
    }
    assert service == {"service.name": "inkweave"}


def test_without_an_endpoint_no_sdk_is_loaded(tmp_path: Path) -> None:
    loaded = _fresh_python(
        f"""
        import json, sys
        from pathlib import Path

        from api.app import create_app
        from api.settings import Settings

        create_app(Settings(data_dir=Path({str(tmp_path / "data")!r})))
        print(json.dumps(sorted(
            name for name in sys.modules
            if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter"))
        )))
        """,
        tmp_path,
    )
    assert loaded == []
