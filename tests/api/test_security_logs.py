"""No secret in a log line, nor in a stored error (issue 15, item 2).

A real `inkweave serve` process with its real logging (JSON and text), on SQLite and MariaDB:
sockets that carry tokens in their URLs (`/sync`, the notification socket), requests that fail
with a token in the query, and an AI task whose model provider answers with an error that quotes
a token. Afterwards nothing shaped like a JWT is anywhere in the log, in the task's error read
back over REST, or in the recorded AI call; the lines still say which path was asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import websockets

from api.logs import configure_logging
from storage.ai_histories.sql import SQLAiHistories
from storage.sql.database import Database
from tests.ai_agents.test_ai_api import chapter_with, continue_, finished
from tests.api.test_works import refused
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.cluster import NodeApi
from tests.support.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with running_fake_llm() as running:
        yield running


@pytest.fixture(params=["json", "text"])
def log_format(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def node(
    log_format: str, tmp_path: Path, database_url: str, llm: FakeLLM
) -> AsyncIterator[NodeApi]:
    """`inkweave serve` logging every request (INFO), with one model provider and no offline
    fallback, so that a provider's failure fails the task."""
    env = {
        "INKWEAVE_AUTH": "on",
        "INKWEAVE_LOG_LEVEL": "INFO",
        "INKWEAVE_LOG_FORMAT": log_format,
        "INKWEAVE_DATABASE_URL": database_url,
        "INKWEAVE_AUTO_MIGRATE": "true",
        "INKWEAVE_AI_PROVIDERS": json.dumps([llm.provider_config("leaky")]),
        "INKWEAVE_AI_OFFLINE_FALLBACK": "false",
        "INKWEAVE_AI_RETRIES": "1",
        "INKWEAVE_AI_BACKOFF_S": "0.01",
    }
    server = await asyncio.to_thread(ServerProcess(tmp_path / "data", env=env).start)
    client = NodeApi(server)
    try:
        yield client
    finally:
        await client.close()
        await asyncio.to_thread(server.stop)


async def refused_notification_socket(url: str) -> None:
    with contextlib.suppress(websockets.InvalidStatus, websockets.ConnectionClosed):
        async with websockets.connect(url) as socket:
            await socket.recv()


def jwts_in(text: str) -> list[str]:
    return JWT.findall(text)


async def recorded_ai_errors(database_url: str, user_id: int) -> list[str]:
    database = Database(database_url)
    try:
        _, calls = await SQLAiHistories(database).list(user_id)
    finally:
        await database.close()
    return [stored.call.error or "" for stored in calls]


@SQLITE_ONLY  # the subject is not SQL: auth and roles are covered on MariaDB elsewhere
async def test_tokens_in_urls_and_errors_never_reach_the_log(
    node: NodeApi, llm: FakeLLM, log_format: str, database_url: str
) -> None:
    owner = await node.sign_up()
    work_id, chapter = await chapter_with(node, owner)
    doc = chapter["content_id"]

    editor = await YClient(node.node.sync_url, doc, token=owner.token).connect()
    await editor.close()
    notifications_url = node.notifications_url(owner)
    async with websockets.connect(notifications_url) as socket:
        assert json.loads(await socket.recv())["type"] == "hello"
    forged = owner.token[:-4] + "AAAA"
    await refused_notification_socket(notifications_url.replace(owner.token, forged))
    refused(await node.http.get(f"/api/v1/users/me?access_token={owner.token}"), 401)
    await node.http.get("/api/v1/auth/oidc/callback?code=one-time-secret&state=s")

    # The provider's error quotes a token, as a proxy in front of a model may echo a request.
    leak = f"upstream refused https://gateway.example/v1?access_token={owner.refresh_token}"
    llm.script(*[Reply(status=500, error_message=leak)] * 2)
    task = await finished(node, owner, await continue_(node, owner, work_id, chapter["id"]))
    assert task["status"] == "failed", task
    assert jwts_in(task["error"]) == [], task["error"]
    assert "access_token=[redacted]" in task["error"], task["error"]
    ai_errors = await recorded_ai_errors(database_url, owner.id)
    assert len(ai_errors) == 2 and all("access_token=[redacted]" in e for e in ai_errors)
    assert jwts_in(" ".join(ai_errors)) == [], ai_errors

    await asyncio.to_thread(node.node.stop)  # every line is written
    log = node.node.log_path.read_text(encoding="utf-8")
    assert jwts_in(log) == []
    assert "one-time-secret" not in log
    for seen in (
        f"/sync/{doc}?token=[redacted]",
        "/api/v1/notifications/ws?token=[redacted]",
        "/api/v1/users/me?access_token=[redacted]",
        "/api/v1/auth/oidc/callback?code=[redacted]&state=s",
        "access_token=[redacted]",  # the provider's error, in the retry's line
    ):
        assert seen in log, f"{seen!r} not in the log:\n{log}"
    if log_format == "json":  # redacted lines are still one JSON object each
        redacted = [json.loads(line) for line in log.splitlines() if "[redacted]" in line]
        assert any(f"/sync/{doc}?token=[redacted]" in line["msg"] for line in redacted)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
async def test_tracebacks_and_extra_fields_are_redacted(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """What no request of the test above happens to log: a traceback that quotes a URL, an
    `extra` field holding one, and a message whose arguments do not fit its format."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl"
    configure_logging("INFO", log_format)
    log = logging.getLogger("inkweave.test")
    try:
        raise ConnectionError(f"peer could not join ws://node/sync/d?token={token}")
    except ConnectionError:
        log.exception("peer failed", extra={"url": f"/api/v1/notifications/ws?token={token}"})
    log.warning("bad arguments %s %s", f"Bearer {token}")
    log.info('"GET /api/v1/payments/sandbox/ORD1?t=%s HTTP/1.1" 200', "pay-page-capability")
    written = capsys.readouterr().err
    assert token not in written and jwts_in(written) == [], written
    assert "ws://node/sync/d?token=[redacted]" in written
    assert "Bearer [redacted]" in written
    assert "/sandbox/ORD1?t=[redacted] HTTP/1.1" in written
    if log_format == "json":  # the text format leaves extra fields out
        assert "/api/v1/notifications/ws?token=[redacted]" in written


def test_the_proxy_in_front_logs_paths_without_their_query() -> None:
    """deploy/nginx.conf (docker-compose's balancer) writes its own access lines."""
    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text()
    formats = dict(re.findall(r"log_format (\w+) ((?:'[^']*'\s*)+);", conf))
    logs = re.findall(r"access_log \S+ (\w+);", conf)
    assert logs and all(name in formats for name in logs), (logs, list(formats))
    for name in logs:
        assert not re.search(r"\$(request|request_uri|args|query_string|arg_\w+)\b", formats[name])
    assert '/api/v1/export/download/)" "${kept}[redacted]"' in conf
