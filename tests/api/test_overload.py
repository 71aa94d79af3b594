"""Graceful overload (issue 20): a saturated node answers 503 `OVERLOADED` with `Retry-After` at
once instead of queueing for seconds; a waiting request whose client hung up never runs; a
database pool that has no connection in time is a 503 with the envelope, never a 500; once
the load is gone, the next request is served as usual.

The app's own tests hold its one database connection to keep a request inside; the admission
middleware's waiting room is tested on a small app of its own whose route waits for an event the
test sets, under real uvicorn (a hang-up must be a real closed socket).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from api.admission import AdmissionLimits, AdmissionMiddleware, Later, Rejections, Timer, Turns
from api.settings import Settings
from storage.sql.database import Database, overloaded
from tests.jobs.conftest import SQLITE_ONLY
from tests.support.api import Api, running_api
from tests.support.asgi import serving
from tests.support.clock import ManualClock
from tests.support.server import free_port
from tests.support.waiting import eventually

BUSY_ZH = "服务繁忙，请稍后再试"
WRONG_LOGIN = {"email": "没有这个人@example.com", "password": "wrong-password-1"}


def assert_busy(response: httpx.Response, message: str = BUSY_ZH) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert (body["code"], body["message"]) == (50302, message)
    return body


def rejected(registry: CollectorRegistry, reason: str) -> float:
    return registry.get_sample_value("inkweave_http_rejected_total", {"reason": reason}) or 0.0


# --- the app: admission and the database pool -----------------------------------------------


@asynccontextmanager
async def overloaded_app(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    async with running_api(settings.model_copy(update=changes)) as api:
        yield api


@SQLITE_ONLY
async def test_a_saturated_node_answers_503_at_once_then_serves_again(settings: Settings) -> None:
    async with overloaded_app(
        settings,
        http_max_in_flight=1,
        http_queue_limit=0,
        database_pool_size=1,
        database_pool_overflow=0,
        database_pool_timeout_s=60,  # the held request waits for the test, not for a timeout
    ) as api:
        turns: Turns = api.app.app.state.admission
        database = api.app.adapters.database
        async with database.engine.connect():  # the pool's one connection, held by the test
            held = asyncio.create_task(api.http.post("/api/v1/auth/login", json=WRONG_LOGIN))
            await eventually(lambda: turns.in_flight == 1, what="the first request is inside")

            assert_busy(await api.http.post("/api/v1/auth/login", json=WRONG_LOGIN))
            english = await api.http.get("/api/v1/works", headers={"Accept-Language": "en"})
            assert_busy(english, "The server is busy; try again in a moment")
            assert english.headers["x-content-type-options"] == "nosniff"
            assert (await api.http.get("/healthz")).status_code == 200  # probes are never held
            metrics = (await api.http.get("/metrics")).text
            assert 'inkweave_http_rejected_total{reason="queue_full"} 2.0' in metrics
            assert not held.done()

        assert (await held).status_code == 401  # it ran once the connection came back
        assert (await api.http.post("/api/v1/auth/login", json=WRONG_LOGIN)).status_code == 401


async def hold_the_connection(database: Database) -> AsyncConnection:
    """The pool's one connection, once the app's background work (jobs, projection) is done
    with it."""

    async def attempt() -> AsyncConnection | None:
        try:
            return await database.engine.connect()
        except PoolTimeout:
            return None

    return await eventually(attempt, what="the pool's connection is free")


@SQLITE_ONLY
async def test_no_database_connection_in_time_is_a_503_never_a_500(settings: Settings) -> None:
    async with overloaded_app(
        settings, database_pool_size=1, database_pool_overflow=0, database_pool_timeout_s=0.05
    ) as api:
        registry = api.app.adapters.metrics.registry
        held = await hold_the_connection(api.app.adapters.database)
        body = assert_busy(await api.http.post("/api/v1/auth/login", json=WRONG_LOGIN))
        assert body["error"] == "database busy"
        await held.close()
        assert rejected(registry, "database") == 1
        assert (await api.http.post("/api/v1/auth/login", json=WRONG_LOGIN)).status_code == 401


def _operational(error: Exception) -> OperationalError:
    return OperationalError("UPDATE chapters SET text = ?", {}, error)


def test_busy_database_errors_are_load_and_other_errors_are_faults() -> None:
    class MySQLError(Exception):
        pass

    assert overloaded(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"))
    assert overloaded(_operational(sqlite3.OperationalError("database is locked")))
    assert overloaded(_operational(MySQLError(1040, "Too many connections")))
    assert overloaded(_operational(MySQLError(1205, "Lock wait timeout exceeded")))
    assert not overloaded(_operational(sqlite3.OperationalError("no such table: chapters")))
    assert not overloaded(_operational(MySQLError(1054, "Unknown column 'x'")))
    assert not overloaded(ValueError("database is locked"))


async def test_a_newcomer_whose_turn_would_come_too_late_is_refused_at_once() -> None:
    clock = ManualClock()
    limits = AdmissionLimits(max_in_flight=1, queue_limit=100, queue_wait_s=1.0, max_hold_s=2.0)
    turns = Turns(limits, clock=clock)
    assert turns.take()
    waiters = [turns.queue() for _ in range(3)]
    for _ in range(2):  # while others wait, one request finishes every 0.2 s
        clock.advance(0.2)
        turns.give_back()
    assert [w is not None and w.done() for w in waiters] == [True, True, False]
    assert turns.queue() is not None  # second in line: its turn comes in about 0.4 s
    assert turns.queue() is None  # third: 0.6 s, past half the 1 s it may wait
    assert turns.waiting == 2

    for _ in range(3):  # the queue runs dry: the next busy spell is not judged by this one
        clock.advance(0.2)
        turns.give_back()
    assert (turns.in_flight, turns.waiting) == (0, 0)
    assert turns.take()
    assert all(turns.queue() is not None for _ in range(3))


# --- the waiting room, on an app of its own -------------------------------------------------


def on_clock(clock: ManualClock) -> Later:
    """`loop.call_later` on the test's clock: the call comes once the test moves it far enough."""

    def later(delay_s: float, then: Callable[[], None]) -> Timer:
        async def wait() -> None:
            await clock.sleep(delay_s)
            then()

        return asyncio.ensure_future(wait())

    return later


@dataclass
class Room:
    """An app behind the admission middleware: `/api/held` waits for `release`; every run of a
    route is counted."""

    turns: Turns
    clock: ManualClock
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    runs: list[str] = field(default_factory=list)
    http: httpx.AsyncClient | None = None
    port: int = 0

    def app(self) -> Starlette:
        async def held(request: Request) -> JSONResponse:
            self.runs.append("held")
            await self.release.wait()
            return JSONResponse({"ok": True})

        async def echo(request: Request) -> JSONResponse:
            self.runs.append("echo")
            return JSONResponse(await request.json())

        async def healthz(request: Request) -> PlainTextResponse:
            return PlainTextResponse("ok")

        app = Starlette(
            routes=[
                Route("/api/held", held),
                Route("/api/echo", echo, methods=["POST"]),
                Route("/healthz", healthz),
            ]
        )
        app.add_middleware(
            AdmissionMiddleware,
            turns=self.turns,
            rejections=Rejections(self.registry),
            later=on_clock(self.clock),
        )
        return app

    async def get(self, path: str) -> httpx.Response:
        assert self.http is not None
        return await self.http.get(path)

    async def hold_the_slot(self) -> asyncio.Task[httpx.Response]:
        inside = asyncio.create_task(self.get("/api/held"))
        await eventually(lambda: self.runs == ["held"], what="the first request runs")
        return inside


@asynccontextmanager
async def room(
    queue_limit: int = 1, queue_wait_s: float = 1, max_hold_s: float = 60
) -> AsyncIterator[Room]:
    limits = AdmissionLimits(
        max_in_flight=1, queue_limit=queue_limit, queue_wait_s=queue_wait_s, max_hold_s=max_hold_s
    )
    state = Room(Turns(limits), ManualClock())
    state.port = free_port()
    async with (
        serving(state.app(), state.port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{state.port}", timeout=30) as http,
    ):
        state.http = http
        try:
            yield state
        finally:
            state.release.set()


async def test_a_full_queue_is_refused_at_once_and_the_slot_serves_the_next() -> None:
    async with room(queue_limit=0) as r:
        inside = await r.hold_the_slot()
        assert_busy(await r.get("/api/held"))
        assert (await r.get("/healthz")).status_code == 200
        r.release.set()
        assert (await inside).status_code == 200
        assert (await r.get("/api/held")).status_code == 200
        assert r.runs == ["held", "held"]
        assert rejected(r.registry, "queue_full") == 1
        assert (r.turns.in_flight, r.turns.waiting) == (0, 0)


async def test_a_request_that_waits_too_long_is_answered_503() -> None:
    async with room() as r:
        inside = await r.hold_the_slot()
        waiting = asyncio.create_task(r.get("/api/held"))
        await eventually(lambda: r.turns.waiting == 1 and len(r.clock.sleeping) == 2)
        r.clock.advance(1.0)
        assert_busy(await waiting)
        assert rejected(r.registry, "queue_timeout") == 1
        r.release.set()
        assert (await inside).status_code == 200
        assert r.runs == ["held"]
        assert (r.turns.in_flight, r.turns.waiting) == (0, 0)


async def test_a_request_running_long_gives_its_turn_to_the_next() -> None:
    async with room(queue_wait_s=10, max_hold_s=2) as r:  # a call to a model, say
        inside = await r.hold_the_slot()
        waiting = asyncio.create_task(r.get("/api/held"))
        await eventually(lambda: r.turns.waiting == 1 and len(r.clock.sleeping) == 2)
        r.clock.advance(2)
        await eventually(lambda: r.runs == ["held", "held"], what="the next one runs meanwhile")
        assert (r.turns.in_flight, r.turns.waiting) == (1, 0)
        r.release.set()
        assert [(await inside).status_code, (await waiting).status_code] == [200, 200]
        assert (r.turns.in_flight, r.turns.waiting) == (0, 0)  # each turn went back once


async def test_a_waiting_request_whose_client_hung_up_never_runs() -> None:
    async with room() as r:
        inside = await r.hold_the_slot()
        _reader, writer = await asyncio.open_connection("127.0.0.1", r.port)
        writer.write(b"GET /api/held HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        await eventually(lambda: r.turns.waiting == 1, what="the second request waits")
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: rejected(r.registry, "client_gone") == 1, what="it is dropped")
        assert r.turns.waiting == 0
        r.release.set()
        assert (await inside).status_code == 200
        assert (await r.get("/api/held")).status_code == 200
        assert r.runs == ["held", "held"]  # the first and the last: never the one that hung up


@pytest.mark.parametrize("repeat", [2000, 20_000])  # 30 KB: read ahead whole; 300 KB: in part
async def test_a_request_admitted_after_waiting_gets_its_whole_body(repeat: int) -> None:
    async with room() as r:
        inside = await r.hold_the_slot()
        chapter = {"title": "第一章 风起", "text": "夜色如墨。" * repeat}
        assert r.http is not None
        posted = asyncio.create_task(r.http.post("/api/echo", content=json.dumps(chapter)))
        await eventually(lambda: r.turns.waiting == 1, what="the post waits")
        r.release.set()
        assert (await inside).status_code == 200
        answer = await posted
        assert answer.status_code == 200
        assert answer.json() == chapter
        assert r.runs == ["held", "echo"]
