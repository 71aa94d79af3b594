"""Invariant 8: a malformed frame closes that one connection with a reason, nothing else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.support.server import ServerProcess
from tests.support.yclient import YClient, sync_url, wait_until

LIMIT = 64 * 1024
ROOM = "章节-malformed"


@pytest.fixture
def small_limit_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", env={"INKWEAVE_MAX_MESSAGE_BYTES": str(LIMIT)}).start()
    try:
        yield proc
    finally:
        proc.stop()


BAD_FRAMES = {
    "truncated varint": (b"\x00\x02\xff", 1002, "truncated varint"),
    "length past the end": (b"\x00\x02\x7fabc", 1002, "exceeds"),
    "unknown message type": (b"\x09\x00", 1002, "unknown message type 9"),
    "unknown sync type": (b"\x00\x07\x00", 1002, "unknown sync message type 7"),
    "random bytes": (bytes.fromhex("00021af3c29b7e01d4") + os.urandom(24), 1002, "malformed"),
    "garbage update": (b"\x00\x02\x05\x01\x02\x03\x04\x05", 1002, "not a valid Yjs update"),
    "bad awareness": (b"\x01\x04\x01\x01\x01\x7b", 1002, "malformed"),
    "bad state vector": (b"\x00\x00\x03\xff\xff\xff", 1002, "state vector"),
    "over the size limit": (b"\x00\x02" + b"\x00" * (LIMIT + 10), 1009, "exceeds"),
    "text frame": ("hello", 1003, "text frames"),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
async def test_a_malformed_frame_closes_only_its_connection(
    small_limit_server: ServerProcess, case: str
) -> None:
    frame, code, reason = BAD_FRAMES[case]
    url = small_limit_server.sync_url
    writer = await YClient(url, ROOM).connect()
    watcher = await YClient(url, ROOM).connect()
    writer.append("他山之石，")
    await wait_until(lambda: str(watcher.text) == "他山之石，")

    async with websockets.connect(sync_url(url, ROOM), max_size=None) as bad:
        await bad.send(frame)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            for _ in range(20):
                await bad.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code
    assert reason in closed.value.rcvd.reason

    writer.append("可以攻玉。")
    await wait_until(lambda: str(watcher.text) == "他山之石，可以攻玉。")
    assert not writer.closed.is_set() and not watcher.closed.is_set()
    fresh = await YClient(url, ROOM).connect()
    assert str(fresh.text) == "他山之石，可以攻玉。"
    assert "inkweave_connections_closed_malformed_total 1.0" in small_limit_server.metrics()
    for client in (writer, watcher, fresh):
        await client.close()
