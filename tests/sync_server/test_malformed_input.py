"""Invariant 8: a malformed frame closes that one connection with a reason, nothing else."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import websockets

from tests.support.metrics import metric
from tests.support.server import ServerProcess
from tests.support.yclient import YClient, sync_url, wait_until

LIMIT = 64 * 1024
ROOM = "章节-malformed"


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for every case (each in a document of its own): that it goes on serving
    after each bad frame is part of what is checked."""
    data = tmp_path_factory.mktemp("malformed") / "data"
    proc = ServerProcess(
        data, env={"INKWEAVE_MAX_MESSAGE_BYTES": str(LIMIT)}, migrated=True
    ).start()
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


def _malformed_closes(server: ServerProcess) -> float:
    return metric(server.metrics(), "inkweave_connections_closed_malformed_total", default=0.0)


@pytest.mark.parametrize("case", list(BAD_FRAMES))
async def test_a_malformed_frame_closes_only_its_connection(
    small_limit_server: ServerProcess, case: str
) -> None:
    frame, code, reason = BAD_FRAMES[case]
    url, room = small_limit_server.sync_url, f"{ROOM}-{case}"
    closed_before = _malformed_closes(small_limit_server)
    writer = await YClient(url, room).connect()
    watcher = await YClient(url, room).connect()
    writer.append("他山之石，")
    await wait_until(lambda: str(watcher.text) == "他山之石，")

    async with websockets.connect(sync_url(url, room), max_size=None) as bad:
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
    fresh = await YClient(url, room).connect()
    assert str(fresh.text) == "他山之石，可以攻玉。"
    assert _malformed_closes(small_limit_server) == closed_before + 1
    for client in (writer, watcher, fresh):
        await client.close()
