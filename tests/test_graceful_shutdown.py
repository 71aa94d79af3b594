"""SIGTERM (a rolling update, a node drained): the node stops accepting, closes every sync socket
with 1012 ("service restart") so that clients reconnect elsewhere, stores every update it
received, and exits even while a request hangs (after `INKWEAVE_SHUTDOWN_GRACE_S`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from pathlib import Path

from pycrdt import Doc, Text

from storage.docs.schema import CONTENT
from tests.support.server import ServerProcess
from tests.support.waiting import eventually, eventually_sync
from tests.support.yclient import YClient
from tests.support.ydocs import clocks

ROOM = "长篇/第十一章"
CLOSE_SERVICE_RESTART = 1012


async def test_sigterm_closes_sockets_with_1012_and_stores_what_it_received(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # Short, so that the test does not wait long for the stalled request below; without a
    # bound at all the node would wait for it forever (and Kubernetes would SIGKILL it).
    server = ServerProcess(data, env={"INKWEAVE_SHUTDOWN_GRACE_S": "2"}).start()
    stalled = _stalled_request(server.port)
    writers = [await YClient(server.sync_url, ROOM, name=f"w{i}").connect() for i in range(3)]
    observer = await YClient(server.sync_url, ROOM).connect()
    clients = (*writers, observer)

    async def type_until_closed(client: YClient, tag: str) -> None:
        index = 0
        while not client.closed.is_set():
            client.append(f"{tag}{index}字；")
            index += 1
            await asyncio.sleep(0.005)  # part of the test: a typist still typing at the SIGTERM

    tasks = [
        asyncio.create_task(type_until_closed(c, t)) for c, t in zip(writers, "甲乙丙", strict=True)
    ]
    try:
        await eventually(
            lambda: len(observer.received_updates) > 60, what="plenty relayed before SIGTERM"
        )
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        for client in clients:
            await eventually(client.closed.is_set, what="every socket closed by the server")
        await asyncio.gather(*tasks)
        assert [c.close_code for c in clients] == [CLOSE_SERVICE_RESTART] * len(clients)
        eventually_sync(lambda: server.proc.poll() is not None, what="the node exits")
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert server.proc.returncode in (0, -signal.SIGTERM), server.log_path.read_text()
    finally:
        stalled.close()
        server.kill()  # only if it never exited: the test has failed by then
        for task in tasks:
            task.cancel()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()

    # Everything a peer saw relayed, and every writer's own text that the server had taken in,
    # is in the store: the restarted node serves it.
    received = [u for client in clients for u in client.received_updates]
    restarted = ServerProcess(data)
    restarted.port = server.port
    restarted.start()
    try:
        reader = await YClient(restarted.sync_url, ROOM).connect()
        with_everything_received: Doc = Doc()
        with_everything_received.apply_update(reader.doc.get_update())
        for update in received:
            with_everything_received.apply_update(update)
        assert clocks(with_everything_received) == clocks(reader.doc)
        assert str(with_everything_received.get(CONTENT, type=Text)) == str(reader.text)
        assert "甲" in str(reader.text) and "丙" in str(reader.text)
        await reader.close()
    finally:
        restarted.stop()
    # The one error logged is uvicorn cancelling the stalled request once the grace was over.
    log = server.log_path.read_text().splitlines()
    assert any("timeout graceful shutdown exceeded" in line for line in log), log
    for line in log:
        assert "Traceback" not in line or "timeout graceful shutdown exceeded" in line, line


def _stalled_request(port: int) -> socket.socket:
    """A request whose body never comes: an upload from a client that went quiet."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /api/v1/auth/code HTTP/1.1\r\nHost: inkweave\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    return sock
