"""A notification made in one process reaches the user's socket on another node, over the Redis
bus: two `inkweave serve` nodes with authentication on and an `inkweave worker`, one MariaDB and
one Redis. Each arrives once, and is stored where every node can list it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from tests.api.test_works import make_chapter, make_work, ok, save, share
from tests.jobs.workers import WorkerProcess, worker_argv
from tests.support.api import Account
from tests.support.cluster import Cluster, NodeApi, running_cluster
from tests.support.waiting import DEADLINE_S

pytestmark = pytest.mark.mariadb


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    async with running_cluster(Path(tmp_path_factory.mktemp("two-nodes"))) as running:
        yield running


@pytest.fixture(scope="module")
def worker(cluster: Cluster) -> Iterator[WorkerProcess]:
    env = {**cluster.process_env("worker"), "INKWEAVE_JOBS_WORKER_THREADS": "1"}
    process = WorkerProcess(worker_argv(), env, cluster.root / "worker.log")
    yield process
    process.stop()


class Inbox:
    """A notification socket's messages, as they arrive."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket

    async def next(self) -> dict[str, Any]:
        return json.loads(await self.socket.recv())

    async def notification(self, **match: Any) -> dict[str, Any]:
        """The next notification whose `data` has every key/value of `match`."""
        while True:
            message = await self.next()
            data = message.get("notification", {}).get("data", {})
            if message["type"] == "notification" and match.items() <= data.items():
                return message


async def arrival(
    inbox: Inbox, worker: WorkerProcess | None = None, **match: Any
) -> dict[str, Any]:
    """The next notification matching `match`, awaited with the generous deadline."""
    try:
        return await asyncio.wait_for(inbox.notification(**match), DEADLINE_S)
    except TimeoutError:
        log = worker.log() if worker else ""
        raise AssertionError(f"no notification {match} within {DEADLINE_S:g}s\n{log}") from None


@asynccontextmanager
async def inbox_on(node: NodeApi, account: Account) -> AsyncIterator[Inbox]:
    async with websockets.connect(node.notifications_url(account)) as socket:
        inbox = Inbox(socket)
        hello = await asyncio.wait_for(inbox.next(), DEADLINE_S)
        assert hello == {"type": "hello", "unread": 0}, hello
        yield inbox


async def test_an_invitation_made_on_node_a_reaches_the_members_socket_on_node_b(
    on_a: NodeApi, on_b: NodeApi
) -> None:
    owner, member = await on_a.sign_up(), await on_a.sign_up()
    work = await make_work(on_a, owner, title="两地书")
    async with inbox_on(on_b, member) as inbox:
        await share(on_a, owner, work["id"], member, "editor")
        invited = await arrival(inbox, work_id=work["id"])
    assert invited["notification"]["kind"] == "invitation"
    assert invited["notification"]["title"] == "你被邀请参与《两地书》"
    assert invited["unread"] == 1


async def test_an_export_finished_by_a_worker_reaches_the_owners_socket_on_node_b(
    cluster: Cluster, on_a: NodeApi, on_b: NodeApi, worker: WorkerProcess
) -> None:
    owner = await on_a.sign_up()
    work = await make_work(on_a, owner, title="远方")
    chapter = await make_chapter(on_a, owner, work["id"])
    ok(await save(on_a, owner, work["id"], chapter["id"], "第一句。"))
    async with inbox_on(on_b, owner) as inbox:
        body = {"work_id": work["id"], "format": "txt"}
        queued = ok(await on_a.call("POST", "/api/v1/export", owner, json=body), 202)
        done = await arrival(inbox, worker, task_id=queued["task_id"])
    assert done["notification"]["kind"] == "export"
    assert done["notification"]["data"]["status"] == "completed"
    exported = cluster.root / "worker" / "blobs" / "exports" / f"{queued['task_id']}.txt"
    assert "第一句。" in exported.read_text(encoding="utf-8")  # the worker made it
    assert done["unread"] == 1  # delivered once, though it may travel more than one way
    listed = ok(await on_b.call("GET", "/api/v1/notifications", owner))
    assert [item["id"] for item in listed["items"]] == [done["notification"]["id"]]
