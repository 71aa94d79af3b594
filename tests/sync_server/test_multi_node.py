"""Invariant 6: peers on different nodes converge (two `inkweave serve` processes, one Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from sync_server.presence import STALE_AFTER_S
from tests.support.mariadb import mariadb_database
from tests.support.metrics import metric
from tests.support.secantus import mongo_database
from tests.support.server import ServerProcess, free_port
from tests.support.waiting import DEADLINE_S, eventually, eventually_sync
from tests.support.yclient import YClient
from tests.support.ydocs import clocks

pytestmark = [pytest.mark.mariadb, pytest.mark.mongo]


class ThrowawayRedis:
    """A redis-server of the test's own, on another port, that the test may shut down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        eventually_sync(self._answers, what="redis-server answers")

    def _answers(self) -> bool:
        with contextlib.suppress(redis.ConnectionError):
            return bool(redis.Redis(port=self.port).ping())
        return False

    def shutdown(self) -> None:
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=self.port).shutdown(nosave=True)
        if self.proc is not None:
            self.proc.wait(timeout=10)


@pytest.fixture
def shared_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture
async def shared_db() -> AsyncIterator[str]:
    async with mariadb_database() as url:
        yield url


@pytest.fixture
async def shared_mongo() -> AsyncIterator[tuple[str, str]]:
    async with mongo_database() as (url, name):
        yield url, name


def node(
    tmp_path: Path, name: str, db_url: str, mongo: tuple[str, str], redis_url: str
) -> ServerProcess:
    return ServerProcess(
        tmp_path / name,
        env={
            "INKWEAVE_DATABASE_URL": db_url,
            "INKWEAVE_MONGO_URL": mongo[0],
            "INKWEAVE_MONGO_DATABASE": mongo[1],
            "INKWEAVE_REDIS_URL": redis_url,
            "INKWEAVE_AWARENESS_RENEWAL_FLUSH_S": "0.5",
        },
    )


@pytest.fixture
def two_nodes(
    tmp_path: Path,
    shared_db: str,
    shared_mongo: tuple[str, str],
    shared_redis: ThrowawayRedis,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `inkweave serve` processes on one MariaDB, one SecantusDB and one Redis."""
    prefix = f"t{secrets.token_hex(4)}:"
    first = node(tmp_path, "a", shared_db, shared_mongo, shared_redis.url)
    second = node(tmp_path, "b", shared_db, shared_mongo, shared_redis.url)
    for server in (first, second):
        server.env["INKWEAVE_REDIS_PREFIX"] = prefix
    first.env["INKWEAVE_AUTO_MIGRATE"] = "true"  # one node migrates, before the other starts
    first.start()
    second.start()
    try:
        yield first, second
    finally:
        for server in (first, second):
            server.stop()


async def test_peers_on_two_nodes_converge_and_see_each_other(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a_node, b_node = two_nodes
    room = "跨节点/第一章"
    alice = await YClient(a_node.sync_url, room).connect()
    bob = await YClient(b_node.sync_url, room).connect()
    await alice.set_awareness({"user": {"name": "阿丽"}})
    await bob.set_awareness({"user": {"name": "小波"}})
    for index in range(20):
        alice.append(f"甲{index}")
        bob.append(f"乙{index}")
    await eventually(
        lambda: str(alice.text) == str(bob.text) and len(str(alice.text)) >= 80,
        what="both nodes' clients converge",
    )
    assert clocks(alice.doc) == clocks(bob.doc)
    await eventually(lambda: bob.doc.client_id in alice.awareness, what="Alice sees Bob")
    await eventually(lambda: alice.doc.client_id in bob.awareness, what="Bob sees Alice")
    await bob.close()
    await eventually(lambda: bob.doc.client_id not in alice.awareness, what="Bob's goodbye")
    late = await YClient(b_node.sync_url, room).connect()
    assert str(late.text) == str(alice.text)
    await alice.close()
    await late.close()


async def test_killing_one_node_loses_nothing_its_clients_had_received(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a_node, b_node = two_nodes
    room = "跨节点/宕机"
    on_a = [await YClient(a_node.sync_url, room).connect() for _ in range(2)]
    on_b = await YClient(b_node.sync_url, room).connect()
    stop = asyncio.Event()

    async def type_on(client: YClient, tag: str) -> None:
        index = 0
        while not stop.is_set():
            client.append(f"{tag}{index}；")
            index += 1
            await asyncio.sleep(0.01)  # part of the test: typists still typing at the kill

    tasks = [asyncio.create_task(type_on(c, t)) for c, t in zip(on_a, "甲乙", strict=True)]
    await eventually(
        lambda: sum(len(c.received_updates) for c in (*on_a, on_b)) > 50,
        what="plenty relayed on both nodes before the kill",
    )
    a_node.kill()
    stop.set()
    await asyncio.gather(*tasks)

    # Everything any client received (from either node) is already on the surviving node.
    received = [u for c in (*on_a, on_b) for u in c.received_updates]
    reference = await YClient(b_node.sync_url, room).connect()
    with_received = YClient(b_node.sync_url, room)
    with_received.doc.apply_update(reference.doc.get_update())
    for update in received:
        with_received.doc.apply_update(update)
    assert clocks(with_received.doc) == clocks(reference.doc)

    # The orphaned clients reconnect to the surviving node and everyone converges.
    moved = []
    for client in on_a:
        again = YClient(b_node.sync_url, room)
        again.doc.apply_update(client.doc.get_update())
        moved.append(await again.connect())
    await eventually(lambda: len({str(c.text) for c in (*moved, on_b)}) == 1, what="convergence")
    for client in (*on_a, on_b, *moved, reference):
        with contextlib.suppress(Exception):
            await client.close()


async def test_nodes_reconnect_after_redis_restarts_and_clients_converge(
    two_nodes: tuple[ServerProcess, ServerProcess], shared_redis: ThrowawayRedis
) -> None:
    a_node, b_node = two_nodes
    room = "跨节点/断网"
    alice = await YClient(a_node.sync_url, room).connect()
    bob = await YClient(b_node.sync_url, room).connect()
    alice.append("断开之前。")
    await eventually(lambda: str(bob.text) == "断开之前。", what="relayed before the outage")
    stored_before = [await updates_received(node) for node in (a_node, b_node)]

    shared_redis.shutdown()
    alice.append("断开期间甲。")
    bob.append("断开期间乙。")

    async def both_stored_during_the_outage() -> bool:
        counts = [await updates_received(node) for node in (a_node, b_node)]
        return all(now > then for now, then in zip(counts, stored_before, strict=True))

    await eventually(both_stored_during_the_outage, what="each node stored its client's edit")
    shared_redis.start()

    await eventually(
        lambda: (
            str(alice.text) == str(bob.text)
            and "断开期间甲" in str(bob.text)
            and "断开期间乙" in str(alice.text)
        ),
        what="the nodes re-sync from the store once Redis is back",
    )
    alice.append("恢复之后。")
    await eventually(lambda: "恢复之后。" in str(bob.text), what="relayed after the outage")
    await alice.close()
    await bob.close()


async def updates_received(server: ServerProcess) -> float:
    return metric(await asyncio.to_thread(server.metrics), "inkweave_updates_received_total")


@pytest.mark.timeout(STALE_AFTER_S + 2 * DEADLINE_S + 120)
async def test_a_dead_nodes_clients_leave_presence_on_the_surviving_node(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    """README: "a node that dies takes its clients' presence with it within 35 s". Nobody says
    goodbye for the clients of a node killed with -9: the surviving node retires their
    entries once nobody renewed them for 35 s. Waited for, not timed."""
    a_node, b_node = two_nodes
    room = "跨节点/在场"
    on_a = [await YClient(a_node.sync_url, room).connect() for _ in range(2)]
    watcher = await YClient(b_node.sync_url, room).connect()
    for index, client in enumerate(on_a):
        await client.set_awareness({"user": {"name": f"甲{index}"}})
    a_ids = {client.doc.client_id for client in on_a}
    await eventually(lambda: a_ids <= set(watcher.awareness), what="B's client sees A's two")

    a_node.kill()
    await eventually(
        lambda: not a_ids & set(watcher.awareness),
        timeout=STALE_AFTER_S + DEADLINE_S,
        what="the dead node's clients leave the surviving node's presence",
    )
    assert not watcher.closed.is_set()
    for client in (*on_a, watcher):
        with contextlib.suppress(Exception):
            await client.close()
