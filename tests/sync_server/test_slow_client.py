"""A client that stops reading is closed with 1013 (README, "Close codes"); the room goes on.

`send` never blocks: each peer has a bounded queue (`INKWEAVE_SEND_QUEUE_LIMIT`) drained by its
own task. A peer whose socket stops draining fills it and is closed as too slow, counted in
`inkweave_connections_closed_slow_total`, while every other peer keeps receiving every update.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
from websockets.client import ClientProtocol
from websockets.frames import Close
from websockets.protocol import State
from websockets.uri import parse_uri

from api.app import create_app
from api.settings import Settings
from tests.support.asgi import serving
from tests.support.metrics import metric
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.yclient import YClient, sync_url
from tests.support.ydocs import clocks

DOC = "慢读者"
QUEUE_LIMIT = 16


class StalledClient:
    """A y-websocket peer that stops reading its socket once it is open (a frozen tab, a dead
    mobile link): what the server sends piles up in the kernel's buffers, then the server's."""

    def __init__(self, url: str) -> None:
        self._uri = parse_uri(url)
        self._protocol = ClientProtocol(self._uri, max_size=None)
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
        self._sock.setblocking(False)

    async def open(self) -> StalledClient:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self._sock, (self._uri.host, self._uri.port))
        self._protocol.send_request(self._protocol.connect())
        await loop.sock_sendall(self._sock, b"".join(self._protocol.data_to_send()))
        while self._protocol.state is State.CONNECTING:
            self._receive(await loop.sock_recv(self._sock, 4096))
        return self  # and from here on it reads nothing

    def _receive(self, data: bytes) -> None:
        if data:
            self._protocol.receive_data(data)
        else:
            self._protocol.receive_eof()
        self._protocol.events_received()  # the frames themselves do not matter here

    async def read_until_closed(self) -> Close | None:
        """Start reading again: everything queued for it, then the server's close frame."""
        loop = asyncio.get_running_loop()
        while self._protocol.close_rcvd is None and self._protocol.state is not State.CLOSED:
            self._receive(await loop.sock_recv(self._sock, 1 << 20))
        return self._protocol.close_rcvd

    def close(self) -> None:
        self._sock.close()


async def test_a_client_that_stops_reading_is_closed_1013_and_the_others_get_every_update(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", auth="off", send_queue_limit=QUEUE_LIMIT)
    app = create_app(settings)
    adapters = app.state.adapters
    port = free_port()
    base = f"ws://127.0.0.1:{port}/sync"
    # No keep-alive pings: the stalled client must be closed by its full queue, never by a
    # ping timeout, however long the machine takes to get there.
    async with serving(app, port, lifespan="on", ws_ping_interval=None):
        writer = await YClient(base, DOC).connect()
        observer = await YClient(base, DOC).connect()
        stalled = await StalledClient(sync_url(base, DOC)).open()
        try:
            room = adapters.rooms.rooms[DOC]
            await eventually(lambda: len(room.connections) == 3, what="all three joined")
            slow_closes = adapters.metrics.closed_slow

            async def one_more_update(index: int) -> None:
                writer.append(f"【{index:04d}】" + "字" * 33_000)  # 100 kB, never coalesced
                await eventually(
                    lambda: str(observer.text) == str(writer.text), what="the observer gets it"
                )

            sent = 0
            while slow_closes._value.get() == 0:
                # Kernel and server buffers hold a few MiB at most; this is far beyond them.
                assert sent < 2000, "the stalled client was never closed as too slow"
                await one_more_update(sent)
                sent += 1
            for index in range(sent, sent + 5):  # the room goes on without it
                await one_more_update(index)

            assert not writer.closed.is_set() and not observer.closed.is_set()
            assert clocks(observer.doc) == clocks(writer.doc)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                metrics = (await http.get("/metrics")).text
            assert metric(metrics, "inkweave_connections_closed_slow_total") == 1

            close = await stalled.read_until_closed()
            assert close is not None and close.code == 1013, close
            await eventually(lambda: len(room.connections) == 2, what="the room let it go")
        finally:
            stalled.close()
            await writer.close()
            await observer.close()
