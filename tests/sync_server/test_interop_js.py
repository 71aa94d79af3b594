"""Interop with the real JavaScript clients: yjs + y-websocket in Node, next to the Python client.

The Node clients run `tests/js/client.mjs` (install its packages with `npm ci --prefix tests/js`;
without them these tests fail rather than skip).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import pytest

from tests.support import waiting
from tests.support.node_client import NodeClient
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.node

T = TypeVar("T")

# CJK, spaces, a non-ASCII Latin letter, and a literal `%2F` that is part of the name.
ROOM = "第1章 草稿%2F终稿 ä"

LINES = [
    "床前明月光",
    "疑是地上霜",
    "举头望明月",
    "低头思故乡",
    "春眠不觉晓",
    "处处闻啼鸟",
    "夜来风雨声",
    "花落知多少",
    "白日依山尽",
    "黄河入海流",
    "欲穷千里目",
    "更上一层楼",
]
ASTRAL = "𠮷"  # U+20BB7: two UTF-16 units in JavaScript, one character in Python, 4 UTF-8 bytes


class Clients:
    """Every client a test starts, closed at teardown whatever happened."""

    def __init__(self) -> None:
        self._nodes: list[NodeClient] = []
        self._pythons: list[YClient] = []

    async def node(self, name: str, color: str = "#c0392b") -> NodeClient:
        client = NodeClient(name=name, color=color)
        self._nodes.append(client)
        return await client.start()

    async def python(self, url: str, room: str, name: str = "py") -> YClient:
        client = YClient(url, room, name=name)
        self._pythons.append(client)
        return await client.connect()

    async def aclose(self) -> None:
        for python in self._pythons:
            with contextlib.suppress(Exception):
                await python.close()
        await asyncio.gather(*(node.exit() for node in self._nodes), return_exceptions=True)


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    pool = Clients()
    try:
        yield pool
    finally:
        await pool.aclose()


async def eventually(
    fetch: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], what: str
) -> T:
    """Poll `fetch` until its value satisfies `predicate`; fail with the last value seen."""
    seen: list[T] = []

    async def probe() -> tuple[T] | None:
        value = await fetch()
        seen[:] = [value]
        return (value,) if predicate(value) else None

    try:
        (value,) = await waiting.eventually(probe, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen: {seen[0] if seen else None!r}") from None
    return value


async def python_eventually(predicate: Callable[[], bool], what: str) -> None:
    await waiting.eventually(predicate, what=what)


def names(states: dict[int, dict[str, Any]]) -> dict[int, str | None]:
    return {client_id: (state.get("user") or {}).get("name") for client_id, state in states.items()}


def assert_no_server_errors(server: ServerProcess) -> None:
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    bad = [
        line
        for line in log.splitlines()
        if '"level": "error"' in line or '"level": "critical"' in line or "Traceback" in line
    ]
    assert not bad, f"server logged errors ({server.log_path}):\n" + "\n".join(bad)


async def test_the_room_is_the_percent_decoded_path(
    server: ServerProcess, clients: Clients
) -> None:
    """The document is named by the percent-decoded URL path (README, "Sync protocol").

    The stock y-websocket client puts its room name into the URL unencoded, so a `%2F` in it
    arrives as an escape: a stock client asking for `草稿%2F终稿` opens the document
    `草稿/终稿`, the one a client that percent-encodes `草稿/终稿` opens.
    """
    node = await (await clients.node("甲")).connect(server.sync_url, ROOM)
    py = await clients.python(server.sync_url, unquote(ROOM))
    await node.append("甲：你好。")
    py.append("丙：世界。")
    await eventually(node.text, lambda t: "丙：世界。" in t, "Node sees the Python edit")
    await python_eventually(lambda: "甲：你好。" in str(py.text), "Python sees the Node edit")
    assert await node.text() == str(py.text)
    assert_no_server_errors(server)


async def test_y_websocket_with_encoded_room_name_shares_the_python_clients_room(
    server: ServerProcess, clients: Clients
) -> None:
    node = await (await clients.node("甲")).connect(server.sync_url, ROOM, encode_room=True)
    py = await clients.python(server.sync_url, ROOM)
    await node.append("甲：你好。")
    py.append("丙：世界。")
    await eventually(node.text, lambda t: "丙：世界。" in t, "Node sees the Python edit")
    await python_eventually(lambda: "甲：你好。" in str(py.text), "Python sees the Node edit")
    assert await node.text() == str(py.text)
    assert_no_server_errors(server)


async def test_concurrent_chinese_edits_from_js_and_python_converge(
    server: ServerProcess, clients: Clients
) -> None:
    rounds = 6
    node_a = await (await clients.node("甲", "#e74c3c")).connect(
        server.sync_url, ROOM, encode_room=True
    )
    node_b = await (await clients.node("乙", "#2980b9")).connect(
        server.sync_url, ROOM, encode_room=True
    )
    py = await clients.python(server.sync_url, ROOM)
    inserted: list[str] = []

    def chunk(label: str, i: int) -> str:
        # Chunks are unique and delimited; an astral character in the second one makes every
        # later JavaScript (UTF-16) index differ from the Python (character / UTF-8) one.
        line = LINES[(i * 3 + ord(label)) % len(LINES)]
        return f"【{label}{i}·{line}{ASTRAL if i == 1 else ''}】"

    # Where each round inserts: at either end, or right after / before a chunk already there.
    # Positions are always chunk boundaries, so concurrent inserts never split a chunk.
    plan = ["end", "start", "after", "before", "after", "end"]

    async def node_writer(client: NodeClient, label: str, rng: random.Random) -> None:
        for i in range(rounds):
            value = chunk(label, i)
            seen = [c for c in inserted if c in await client.text()]
            where = plan[i] if seen else "end"
            inserted.append(value)
            if where == "end":
                await client.append(value)
            elif where == "start":
                await client.insert(0, value)
            elif where == "after":
                await client.insert_after(rng.choice(seen), value)
            else:
                await client.insert_before(rng.choice(seen), value)
            await asyncio.sleep(rng.uniform(0, 0.03))  # part of the test: typists' own pace

    async def python_writer(label: str, rng: random.Random) -> None:
        for i in range(rounds):
            value = chunk(label, i)
            current = str(py.text)
            seen = [c for c in inserted if c in current]
            where = plan[(i + 1) % rounds] if seen else "end"
            inserted.append(value)
            if where == "end":
                py.append(value)
            elif where == "start":
                py.insert(0, value)
            else:
                anchor = rng.choice(seen)
                at = current.index(anchor) + (len(anchor) if where == "after" else 0)
                py.insert(at, value)
            await asyncio.sleep(rng.uniform(0, 0.03))  # part of the test: typists' own pace

    await asyncio.gather(
        node_writer(node_a, "甲", random.Random(1)),
        node_writer(node_b, "乙", random.Random(2)),
        python_writer("丙", random.Random(3)),
    )
    assert len(inserted) == len(set(inserted)) == 3 * rounds
    expected_length = sum(len(c) for c in inserted)

    async def texts() -> tuple[str, str, str]:
        return await node_a.text(), await node_b.text(), str(py.text)

    final, _, _ = await eventually(
        texts,
        lambda t: t[0] == t[1] == t[2] and len(t[0]) == expected_length,
        "all three clients hold the same complete text",
    )
    missing = [c for c in inserted if c not in final]
    assert not missing, f"chunks lost or split: {missing} in {final!r}"
    assert final.count("【") == final.count("】") == 3 * rounds

    late = await (await clients.node("丁")).connect(server.sync_url, ROOM, encode_room=True)
    assert await late.text() == final
    assert_no_server_errors(server)


async def test_awareness_flows_between_js_and_python_clients(
    server: ServerProcess, clients: Clients
) -> None:
    room = "人物表 林黛玉 ä"  # no `%`: the Node clients use y-websocket's unencoded room name
    node_a = await (await clients.node("甲-node", "#e74c3c")).connect(server.sync_url, room)
    node_b = await (await clients.node("乙-node", "#2980b9")).connect(server.sync_url, room)
    py = await clients.python(server.sync_url, room)
    await py.set_awareness({"user": {"name": "py", "color": "#123"}})
    assert node_a.client_id is not None and node_b.client_id is not None
    py_id = py.doc.client_id

    await eventually(
        node_a.awareness,
        lambda s: names(s) == {node_b.client_id: "乙-node", py_id: "py"},
        "node A sees node B and the Python client",
    )
    states_b = await eventually(
        node_b.awareness,
        lambda s: names(s) == {node_a.client_id: "甲-node", py_id: "py"},
        "node B sees node A and the Python client",
    )
    assert states_b[py_id]["user"]["color"] == "#123"
    assert states_b[node_a.client_id]["user"]["color"] == "#e74c3c"
    await python_eventually(
        lambda: (
            names(py.awareness).get(node_a.client_id) == "甲-node"
            and names(py.awareness).get(node_b.client_id) == "乙-node"
        ),
        "the Python client sees both Node clients",
    )

    # A change of one field reaches everyone.
    await node_a.set_awareness("cursor", {"anchor": 3, "head": 5})
    await eventually(
        node_b.awareness,
        lambda s: s.get(node_a.client_id, {}).get("cursor") == {"anchor": 3, "head": 5},
        "node B sees node A's cursor",
    )
    await python_eventually(
        lambda: py.awareness.get(node_a.client_id, {}).get("cursor") == {"anchor": 3, "head": 5},
        "the Python client sees node A's cursor",
    )

    # A client that closes its provider is removed from everyone's view.
    await node_a.close()
    await eventually(
        node_b.awareness,
        lambda s: names(s) == {py_id: "py"},
        "node B sees node A leave",
    )
    await python_eventually(
        lambda: node_a.client_id not in py.awareness, "the Python client sees node A leave"
    )

    # A client whose process dies (no goodbye on the wire) is removed by the server.
    node_c = await (await clients.node("丙-node")).connect(server.sync_url, room)
    await eventually(
        node_c.awareness,
        lambda s: names(s) == {node_b.client_id: "乙-node", py_id: "py"},
        "a newcomer sees who is present",
    )
    await node_b.kill()
    await eventually(
        node_c.awareness,
        lambda s: names(s) == {py_id: "py"},
        "node C sees the killed node B leave",
    )
    await python_eventually(
        lambda: node_b.client_id not in py.awareness, "the Python client sees node B leave"
    )
    assert_no_server_errors(server)


async def test_node_client_reconnects_after_a_server_restart_and_sees_all_text(
    server: ServerProcess, clients: Clients
) -> None:
    room = "第2章 重启 ä"
    node = await (await clients.node("甲")).connect(server.sync_url, room)
    py = await clients.python(server.sync_url, room)
    await node.append("第一段：风起。")
    await python_eventually(lambda: str(py.text) == "第一段：风起。", "Python sees the Node edit")
    py.append("第二段：云涌。")
    await eventually(node.text, lambda t: t == "第一段：风起。第二段：云涌。", "Node sees it")
    await py.close()

    await asyncio.to_thread(server.stop)
    await eventually(node.status, lambda s: not s["connected"], "Node notices the server left")
    await node.append("第三段：离线所写。")  # an edit made while the server is down

    # The same address, so that the provider that stayed open reconnects by itself.
    restarted = ServerProcess(server.data_dir)
    restarted.port = server.port
    restarted.log_path = server.log_path
    await asyncio.to_thread(restarted.start)
    try:
        everything = "第一段：风起。第二段：云涌。第三段：离线所写。"
        status = await eventually(
            node.status, lambda s: s["synced"], "the provider resyncs after the restart"
        )
        assert status["closes"], "the provider should have seen its connection close"
        fresh = await (await clients.node("乙")).connect(restarted.sync_url, room)
        assert await eventually(fresh.text, lambda t: t == everything, "a new Node client") == (
            everything
        )
        assert await node.text() == everything
        late_py = await clients.python(restarted.sync_url, room)
        assert str(late_py.text) == everything
        assert_no_server_errors(restarted)
    finally:
        await asyncio.to_thread(restarted.stop)
