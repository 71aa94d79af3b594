"""Database outages while clients type (README, "Operations", "Database outages").

Each test runs database servers of its own (SecantusDB for MongoDB, a MariaDB on its own data
directory), never the shared services, and stops them (SIGSTOP: open connections go silent),
resumes them, or kills them with -9 and starts them again on the same data. Required, and checked
here: no update is relayed that was not stored; a socket whose update could not be stored is
closed with 1013 (y-websocket reconnects and sends it again); REST answers 503 `50303` instead of
hanging; `/readyz` names the dependency that is down; everything works again once the database is
back, by itself, and no update that reached another client is lost.

The driver timeouts are made small (`TIMEOUT_S`): the behaviour is the same as with the defaults,
only sooner. Waits are on conditions, never on the clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pycrdt import Doc, Text

from api.envelope import install_error_handlers
from api.settings import Settings
from storage.ai_histories.mongo import AiHistoriesUnavailable
from storage.docs.base import DocStore, StoredDoc, StoreUnavailable
from storage.docs.merge import apply_stored
from storage.docs.mongo import MongoDocStore
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from storage.sql.engine import DriverTimeouts
from sync_server.connection import CLOSE_TRY_AGAIN
from tests.api.test_works import make_work, ok
from tests.support.api import Api
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.inprocess import RunningApp, running_app
from tests.support.own_mariadb import OwnMariaDB, missing_binaries
from tests.support.secantus import SecantusServer
from tests.support.server import free_port
from tests.support.waiting import DEADLINE_S, eventually
from tests.support.yclient import YClient

TIMEOUT_S = 2.0  # connect and read timeouts of every database driver in these tests
TIMEOUTS = DriverTimeouts(connect_s=TIMEOUT_S, read_s=TIMEOUT_S)
DOC = "outage-chapter"
LOGIN = {"email": "nobody@example.com", "password": "not-a-password-of-anyone"}

needs_mariadbd = pytest.mark.skipif(
    bool(missing_binaries()), reason=f"MariaDB server binaries missing: {missing_binaries()}"
)


@pytest.fixture
def secantus() -> Iterator[SecantusServer]:
    # Journal on: a kill -9 loses no acknowledged append. A fixed port: restarted where it was.
    server = SecantusServer(journal=True, port=free_port()).start()
    try:
        yield server
    finally:
        resume(server)
        server.remove()


@pytest.fixture(scope="module")
def mariadb() -> Iterator[OwnMariaDB]:
    server = OwnMariaDB().install().start()
    try:
        yield server
    finally:
        server.remove()


def pause(server: SecantusServer) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)


def resume(server: SecantusServer) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)


def settings_for(tmp_path: Path, **databases: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        auth="off",
        auto_migrate=True,
        database_connect_timeout_s=TIMEOUT_S,
        database_read_timeout_s=TIMEOUT_S,
        **databases,
    )


async def get(app: RunningApp, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.http_url, timeout=DEADLINE_S) as http:
        return await http.get(path)


async def login(app: RunningApp) -> httpx.Response:
    """A REST call that reads the relational database (nobody has this account: 401)."""
    async with httpx.AsyncClient(base_url=app.http_url, timeout=DEADLINE_S) as http:
        return await http.post("/api/v1/auth/login", json=LOGIN, headers={"Accept-Language": "en"})


def room_text(app: RunningApp) -> str:
    """What the room relays from: its document holds only stored updates."""
    return str(app.adapters.rooms.rooms[DOC].doc.get(CONTENT, type=Text))


async def stored_text(store: DocStore) -> str:
    doc: Doc = Doc()
    apply_stored(doc, await store.load(DOC), name=DOC)
    return str(doc.get(CONTENT, type=Text))


async def typists(app: RunningApp) -> tuple[YClient, YClient]:
    writer = await YClient(app.sync_url, DOC, name="writer").connect()
    reader = await YClient(app.sync_url, DOC, name="reader").connect()
    writer.append("甲 before; ")
    await eventually(lambda: str(reader.text) == "甲 before; ", what="first edit relayed")
    return writer, reader


def suspended_tasks() -> str:
    """Where each task of this loop (the app's and the clients') is suspended, innermost last."""
    lines = []
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=8)
        where = " > ".join(f"{frame.f_code.co_name}:{frame.f_lineno}" for frame in frames)
        lines.append(f"{task.get_name()}: {where}")
    return "\n".join(sorted(lines))


async def refused_while_down(app: RunningApp, writer: YClient, text: str) -> None:
    """`writer` types while the store is out of reach: its socket is closed with 1013 and the
    room, so every reader, never got the edit."""
    before = room_text(app)
    writer.append(text)
    try:
        await asyncio.wait_for(writer.closed.wait(), DEADLINE_S)
    except TimeoutError:  # once in a full-suite run (2026-12-07): say where everything waited
        raise AssertionError(
            f"the writer was not refused within {DEADLINE_S}s; tasks:\n{suspended_tasks()}"
        ) from None
    assert writer.close_code == CLOSE_TRY_AGAIN, (writer.close_code, writer.close_reason)
    assert "document store unavailable" in writer.close_reason
    assert room_text(app) == before, "an edit that was not stored was relayed"


async def refused_to_load(app: RunningApp, doc: str) -> None:
    """A socket opening `doc` while the store is out of reach is told to try again (1013), not
    that the document is broken (1011); the failed room is dropped, so a later open loads it."""
    client = YClient(app.sync_url, doc, name="late")
    await client.connect(wait_synced=False)
    await asyncio.wait_for(client.closed.wait(), DEADLINE_S)
    assert client.close_code == CLOSE_TRY_AGAIN, (client.close_code, client.close_reason)
    assert "document store unavailable" in client.close_reason
    await eventually(lambda: doc not in app.adapters.rooms.rooms, what="the failed room dropped")
    await client.close()


async def reconnecting(writer: YClient, done: Callable[[], bool]) -> None:
    """As y-websocket does by itself: reconnect whenever the server closed the socket (its sync
    step 2 then sends the edits the server lacks), until `done`."""

    async def probe() -> bool:
        if done():
            return True
        if writer.closed.is_set():
            await writer.reconnect()
        return False

    await eventually(probe, what="the writer's edits stored and relayed after the outage")


async def unready(app: RunningApp, down: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await get(app, "/readyz")
        body = response.json()
        return body if response.status_code == 503 and body[down] != "ok" else None

    return await eventually(probe, what=f"/readyz reports {down} down")


async def ready(app: RunningApp) -> None:
    async def probe() -> bool:
        return (await get(app, "/readyz")).status_code == 200

    await eventually(probe, what="/readyz ready again")


def rejected_as_down(app: RunningApp) -> float:
    registry = app.adapters.metrics.registry
    sample = registry.get_sample_value("inkweave_http_rejected_total", {"reason": "database_down"})
    return sample or 0.0


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == 50303, body
    assert body["message"] == "A database is unavailable; try again in a few seconds"
    assert response.headers["Retry-After"] == "5"


async def test_rest_answers_503_when_the_document_store_is_out_of_reach() -> None:
    """What a REST call that reads a document (through its room) gets while the store is down:
    the store's own `StoreUnavailable`, answered like an unreachable relational database."""
    app = FastAPI()
    downs: list[bool] = []
    install_error_handlers(app, on_unavailable=lambda: downs.append(True))

    @app.get("/api/v1/chapter")
    async def chapter() -> None:
        raise StoreUnavailable("document database unreachable: 127.0.0.1:1: timed out")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        english = await http.get("/api/v1/chapter", headers={"Accept-Language": "en"})
        chinese = await http.get("/api/v1/chapter")
    assert_unavailable(english)
    assert english.json()["error"] == "document store unavailable"
    assert chinese.json()["message"] == "数据库暂时无法访问，请稍后再试"
    assert downs == [True, True]


@pytest.mark.mongo
async def test_a_stopped_mongodb_document_store(tmp_path: Path, secantus: SecantusServer) -> None:
    store = MongoDocStore(secantus.url, "outage", timeouts=TIMEOUTS)
    async with running_app(settings_for(tmp_path), store=store) as app:
        writer, reader = await typists(app)

        pause(secantus)
        try:
            await refused_while_down(app, writer, "乙 during; ")
            await refused_to_load(app, "outage-other-chapter")
            body = await unready(app, "docs")
            assert body["database"] == "ok", body
        finally:
            resume(secantus)

        await reconnecting(writer, lambda: "乙 during; " in str(reader.text))
        await ready(app)
        assert str(reader.text) == str(writer.text) == "甲 before; 乙 during; "
        assert await stored_text(store) == str(reader.text)
        late = await YClient(app.sync_url, "outage-other-chapter", name="late").connect()
        await writer.close()
        await reader.close()
        await late.close()


@needs_mariadbd
async def test_a_stopped_mariadb_as_database_and_document_store(
    tmp_path: Path, mariadb: OwnMariaDB
) -> None:
    url = await mariadb.create_database(f"stopped_{secrets.token_hex(4)}")
    settings = settings_for(tmp_path, database_url=url, docs_url=url)
    async with running_app(settings) as app:
        assert (await login(app)).status_code == 401
        writer, reader = await typists(app)

        mariadb.pause()
        try:
            await refused_while_down(app, writer, "乙 during; ")
            assert_unavailable(await login(app))
            body = await unready(app, "database")
            assert body["docs"] != "ok", body
        finally:
            mariadb.resume()

        await reconnecting(writer, lambda: "乙 during; " in str(reader.text))
        await ready(app)
        assert (await login(app)).status_code == 401
        assert rejected_as_down(app) >= 1
        assert await stored_text(app.adapters.store) == str(reader.text)
        await writer.close()
        await reader.close()


@pytest.mark.mongo
@needs_mariadbd
async def test_mariadb_and_mongodb_killed_together(
    tmp_path: Path, mariadb: OwnMariaDB, secantus: SecantusServer
) -> None:
    url = await mariadb.create_database(f"killed_{secrets.token_hex(4)}")
    store = MongoDocStore(secantus.url, "outage", timeouts=TIMEOUTS)
    async with running_app(settings_for(tmp_path, database_url=url), store=store) as app:
        writer, reader = await typists(app)
        writer.append("乙 acknowledged; ")
        await eventually(lambda: "乙 acknowledged; " in str(reader.text), what="relayed")
        acknowledged = str(reader.text)

        mariadb.kill()
        secantus.kill()
        await refused_while_down(app, writer, "丙 during; ")
        assert_unavailable(await login(app))
        body = await unready(app, "docs")
        assert body["database"] != "ok", body

        mariadb.start()
        secantus.start()
        # Before the writer sends anything again: every edit another client saw survived.
        assert (await stored_text(store)).startswith(acknowledged)

        await reconnecting(writer, lambda: "丙 during; " in str(reader.text))
        await ready(app)
        assert (await login(app)).status_code == 401
        assert str(reader.text) == "甲 before; 乙 acknowledged; 丙 during; "
        assert await stored_text(store) == str(reader.text)
        await writer.close()
        await reader.close()


class UnreachableStore(SQLDocStore):
    """A real SQLite store whose loads of one document find its database out of reach."""

    async def load(self, doc: str) -> StoredDoc:
        if doc == "unreachable":
            raise StoreUnavailable("document database unreachable: 127.0.0.1:1: timed out")
        return await super().load(doc)


async def test_a_document_that_cannot_be_loaded_from_an_unreachable_store_is_1013(
    tmp_path: Path,
) -> None:
    """Without a database server of its own (the stopped MongoDB above is the real case): only
    `StoreUnavailable` is "try again"; any other load failure stays 1011 (tests/sync_server)."""
    store = UnreachableStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    async with running_app(settings_for(tmp_path), store=store) as app:
        await refused_to_load(app, "unreachable")


@pytest.mark.mongo
async def test_ai_tasks_end_while_the_ai_history_mongodb_is_stopped(
    tmp_path: Path, secantus: SecantusServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The AI histories on MongoDB use the driver timeouts: a record that cannot be written fails
    with a clear error (logged by the router, which goes on), the task completes with its answer,
    and reading the histories answers 503 until MongoDB is back."""
    outline = {"chapters": [{"title": "第一章 停电", "summary": "数据库停了，故事照写。"}]}
    async with running_fake_llm() as llm:
        llm.script(Reply(text=json.dumps(outline, ensure_ascii=False)))
        settings = Settings(
            data_dir=tmp_path / "data",
            auto_migrate=True,
            database_connect_timeout_s=TIMEOUT_S,
            database_read_timeout_s=TIMEOUT_S,
            mongo_url=secantus.url,
            mongo_database="outage-ai",
            ai_providers=[llm.provider_config("fake")],
            ai_retries=0,
            rate_limit_user_per_min=100_000,  # the test polls its task quickly
        )
        # Documents stay in SQLite: only the AI histories are on the MongoDB that stops.
        store = SQLDocStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
        async with running_app(settings, store=store) as app:
            api = Api(app)
            owner = await api.sign_up()
            work = await make_work(api, owner)
            body = {"work_id": work["id"], "prompt": "停电的夜里，作者还在写"}
            histories = "/api/v1/ai/histories"

            pause(secantus)
            try:
                with caplog.at_level(logging.ERROR, logger="ai_agents"):
                    queued = ok(await api.call("POST", "/api/v1/ai/outline", owner, json=body))

                    async def ended() -> dict[str, Any] | None:
                        path = f"/api/v1/ai/tasks/{queued['task_id']}"
                        task = ok(await api.call("GET", path, owner))
                        return task if task["status"] in ("completed", "failed") else None

                    task = await eventually(ended, what="the AI task to end")
                assert task["status"] == "completed", task
                assert task["result"]["chapters"][0]["title"] == "第一章 停电"
                [failed] = [r for r in caplog.records if r.message == "could not record an AI call"]
                assert failed.exc_info is not None
                error = failed.exc_info[1]
                assert isinstance(error, AiHistoriesUnavailable), repr(error)
                assert str(error).startswith("AI history database unreachable"), str(error)
                listed = await api.call("GET", histories, owner, headers={"Accept-Language": "en"})
                assert_unavailable(listed)
            finally:
                resume(secantus)

            async def readable() -> bool:
                return (await api.call("GET", histories, owner)).status_code == 200

            await eventually(readable, what="the histories readable once MongoDB is back")
            await api.close()
