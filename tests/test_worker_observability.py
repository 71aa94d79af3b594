"""`inkweave worker` is seen like `inkweave serve`: a real worker subprocess on Redis runs an AI
task queued by the API, serves its AI call counters on `INKWEAVE_WORKER_METRICS_PORT`, and sends
a `task.run` span with the task's `ai.call` inside to a loopback OTLP collector."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.services.ai_tasks import AI_KIND
from api.settings import Settings
from api.worker_observability import TASK_SPAN
from tests.api.test_works import make_work, ok
from tests.jobs.workers import WorkerProcess, settings_env, worker_argv
from tests.support.api import Api
from tests.support.asgi import serving
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.inprocess import running_app
from tests.support.server import free_port
from tests.support.waiting import DEADLINE_S, eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
OUTLINE = json.dumps(
    {"chapters": [{"title": "第一章 车票", "summary": "周正在旧书里发现一张二十年前的车票。"}]},
    ensure_ascii=False,
)


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    namespace = f"inkweave-test-{uuid.uuid4().hex[:8]}:"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class Collector:
    """OTLP/HTTP (protobuf) on loopback, keeping every span it receives."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.port = free_port()
        self.app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])

    async def _traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return Response(b"", media_type="application/x-protobuf")

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span.name == name]


def attributes(span: Span) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in span.attributes:
        kind = attribute.value.WhichOneof("value")
        values[attribute.key] = getattr(attribute.value, kind) if kind else None
    return values


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(timeout=DEADLINE_S) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_the_worker_serves_its_ai_metrics_and_sends_its_spans(
    tmp_path: Path, redis_namespace: str
) -> None:
    collector = Collector()
    async with running_fake_llm() as llm, serving(collector.app, collector.port):
        llm.script(Reply(text=OUTLINE, usage=(30, 8)))
        shared: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}",
            "docs_url": f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}",
            "redis_url": REDIS_URL,
            "redis_prefix": redis_namespace,
            "ai_retries": 0,
            "rate_limit_user_per_min": 100_000,  # the test polls its task quickly
        }
        providers = [llm.provider_config("fake")]
        metrics_port = free_port()
        env = {
            **settings_env(shared),
            **settings_env(
                {
                    "worker_metrics_port": metrics_port,
                    "otlp_endpoint": f"http://127.0.0.1:{collector.port}",
                }
            ),
            "INKWEAVE_AI_PROVIDERS": json.dumps(providers),
        }
        settings = Settings(**shared, auto_migrate=True, ai_providers=providers)
        async with running_app(settings) as app:
            assert app.app.state.jobs.kind == "redis"  # the API only queues
            worker = WorkerProcess(worker_argv(), env, tmp_path / "worker.log")
            api = Api(app)
            try:
                await asyncio.to_thread(worker.wait_started)
                owner = await api.sign_up()
                work = await make_work(api, owner)
                body = {"work_id": work["id"], "prompt": "退休刑警周正在旧书里发现一张车票"}
                queued = ok(await api.call("POST", "/api/v1/ai/outline", owner, json=body))

                async def completed() -> bool:
                    path = f"/api/v1/ai/tasks/{queued['task_id']}"
                    task = ok(await api.call("GET", path, owner))
                    assert task["status"] not in ("failed", "cancelled"), task
                    return task["status"] == "completed"

                await eventually(completed, what="the worker to run the outline")
                samples = await scrape(metrics_port)
            finally:
                await api.close()
                worker.proc.terminate()  # SIGTERM: a clean stop flushes the spans
                # Waited for here, not in a blocking call: this loop serves the collector.
                await eventually(lambda: worker.proc.poll() is not None, what="the worker exits")
    assert worker.proc.returncode == 0, worker.log()

    ok_calls = ("inkweave_ai_calls_total", (("provider", "fake"), ("status", "ok")))
    assert samples[ok_calls] == 1, samples
    prompt = ("inkweave_ai_tokens_total", (("direction", "prompt"), ("provider", "fake")))
    completion = ("inkweave_ai_tokens_total", (("direction", "completion"), ("provider", "fake")))
    assert (samples[prompt], samples[completion]) == (30, 8)

    [task] = collector.named(TASK_SPAN)
    assert attributes(task) == {
        "inkweave.task.kind": AI_KIND,
        "inkweave.task.id": queued["task_id"],
    }
    [call] = collector.named("ai.call")
    assert attributes(call)["gen_ai.system"] == "fake"
    assert attributes(call)["gen_ai.usage.output_tokens"] == 8
    assert (call.trace_id, call.parent_span_id) == (task.trace_id, task.span_id)
