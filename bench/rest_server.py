"""The server under test for the REST benchmark and the writer who drives it.

`served()` starts `inkweave serve` as shipped (one process per core), with auth on, on a fresh
data dir, on SQLite or on a MariaDB database of its own (created on 127.0.0.1:3306 as root,
dropped afterwards); the rate limits and the free level's quotas are lifted, since one user
sends the whole load. `Writer` is a signed-up user's REST calls over a `rest_http` client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from ai_session import sign_up_and_write
from paths import REPO
from processes import HOST, InkweaveNode
from progress import log
from rest_http import CLIENTS, Http, Reply, json_body
from rest_text import ChapterText, join

DATABASES = ("sqlite", "mariadb")
START_TIMEOUT_S = 60
CALL_TIMEOUT_S = 60  # one REST call outside the open loop (which has its own)
UNLIMITED = 1_000_000_000
SERVER_ENV = {
    "INKWEAVE_AUTH": "on",
    "INKWEAVE_WORKERS": "0",  # the shipped default, one per core (InkweaveNode's default is 1)
    "INKWEAVE_RATE_LIMIT_USER_PER_MIN": str(UNLIMITED),
    "INKWEAVE_RATE_LIMIT_IP_PER_MIN": str(UNLIMITED),
    "INKWEAVE_QUOTAS": json.dumps(
        {
            "free": {
                "works": None,
                "ai_per_minute": None,
                "ai_per_day": None,
                "exports_per_day": None,
            }
        }
    ),
}


@contextlib.asynccontextmanager
async def database_url(kind: str) -> AsyncIterator[str | None]:
    """None for SQLite (the data dir's files); a fresh MariaDB database's URL, dropped after."""
    if kind == "sqlite":
        yield None
        return
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.support.mariadb import mariadb_database

    async with mariadb_database() as url:
        log(f"MariaDB database {url.rsplit('/', 1)[1].split('?')[0]}, dropped at the end")
        yield url


@contextlib.asynccontextmanager
async def served(
    python: str,
    kind: str,
    tmp: Path,
    logs: Path,
    name: str,
    *,
    source: Path | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[InkweaveNode]:
    """`inkweave serve` on `kind` (from the `source` tree, by default the repo; `env` over
    SERVER_ENV), stopped (and its data removed) when the block ends."""
    data_dir = tmp / name / "data"
    async with database_url(kind) as url:
        settings = SERVER_ENV | (env or {})
        if url is not None:
            settings |= {"INKWEAVE_DATABASE_URL": url, "INKWEAVE_AUTO_MIGRATE": "true"}
        node = InkweaveNode(python, data_dir, logs, env=settings, name=name, pythonpath=source)
        try:
            await asyncio.to_thread(node.start, START_TIMEOUT_S)
            yield node
        finally:
            await asyncio.to_thread(node.stop)
            shutil.rmtree(data_dir.parent, ignore_errors=True)


def _tree(pid: int) -> list[psutil.Process]:
    """The process and its children (a server may run worker processes under a supervisor)."""
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def server_cores(pid: int) -> int:
    """Cores the server can use: one per serving process (a supervisor and its workers count
    as the workers), at most the machine's."""
    processes = len(_tree(pid))
    return min(os.cpu_count() or 1, processes - 1 if processes > 1 else 1)


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (MiB)."""
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 2**20


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of the process and its living children so far."""
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def log_size(node: InkweaveNode) -> int:
    try:
        return node.log_path.stat().st_size
    except OSError:
        return 0


def logged_errors(node: InkweaveNode, offset: int) -> dict[str, int]:
    """Requests the server answered 500 since `offset` of its log (its "unhandled error" lines),
    by the exception's last line: a client that gave up first never saw them."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError), node.log_path.open("rb") as log_file:
        log_file.seek(offset)
        for line in log_file:
            if b'"unhandled error"' not in line:
                continue
            with contextlib.suppress(ValueError):
                trace = json.loads(line).get("exc") or "?"
                found[trace.strip().splitlines()[-1][:160]] += 1
    return dict(found)


@dataclass
class Writer:
    """A signed-up user's REST calls; `http` carries their token."""

    http: Http
    token: str

    async def send(self, method: str, path: str, body: Any = None) -> Reply:
        """One request, its answer within CALL_TIMEOUT_S (else TimeoutError)."""
        payload = None if body is None else json_body(body)
        async with asyncio.timeout(CALL_TIMEOUT_S):
            return await self.http.request(method, path, payload)

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """The `data` of a 2xx answer; anything else raises."""
        reply = await self.send(method, path, body)
        try:
            return reply.data()
        except RuntimeError as exc:
            raise RuntimeError(f"{method} {path}: {exc}") from None

    async def new_work(self, title: str) -> int:
        return (await self.call("POST", "/api/v1/works", {"title": title, "type": "novel"}))[
            "work_id"
        ]

    async def add_chapter(self, work_id: int, number: int, text: str) -> int:
        """A chapter at the end of the work, titled 第N章, holding `text`; its id."""
        chapter = await self.call(
            "POST", f"/api/v1/works/{work_id}/chapters", {"title": f"第{number}章"}
        )
        await self.save(work_id, chapter["id"], text)
        return chapter["id"]

    async def save(self, work_id: int, chapter_id: int, text: str) -> None:
        body = {"chapter_id": chapter_id, "content": text}
        await self.call("PUT", f"/api/v1/works/{work_id}/content", body)

    async def finished_task(
        self, path: str, timeout_s: float, poll_s: float = 0.05
    ) -> dict[str, Any]:
        """Poll a task view until it is neither queued nor processing (at most `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while (task := await self.call("GET", path))["status"] in ("queued", "processing"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} still {task['status']} after {timeout_s} s")
            await asyncio.sleep(poll_s)
        return task


@contextlib.asynccontextmanager
async def writer(node: InkweaveNode, client: str = "raw") -> AsyncIterator[Writer]:
    """A new user signed up over REST (the code from the node's outbox), with no work."""
    async with httpx.AsyncClient(base_url=node.http_url, timeout=30) as setup:
        session = await sign_up_and_write(node, setup)
    http = CLIENTS[client](HOST, node.port, {"Authorization": f"Bearer {session.token}"})
    user = Writer(http, session.token)
    try:  # sign_up_and_write also made a work with one chapter of prose: not ours, gone
        await user.call("DELETE", f"/api/v1/works/{session.work_id}")
        await user.call("DELETE", f"/api/v1/works/{session.work_id}/purge")
        yield user
    finally:
        await http.close()


async def seed_work(
    user: Writer, title: str, chapters: int, seed: int
) -> tuple[int, dict[int, list[str]]]:
    """A novel of `chapters` chapters of ~3,000 characters: its id and each chapter's paragraphs."""
    work_id = await user.new_work(title)
    text = ChapterText(seed)
    paragraphs: dict[int, list[str]] = {}
    for number in range(1, chapters + 1):
        mine = text.paragraphs(number)
        paragraphs[await user.add_chapter(work_id, number, join(mine))] = mine
    return work_id, paragraphs
