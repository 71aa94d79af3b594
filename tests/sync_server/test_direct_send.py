"""Relayed frames go straight to the sockets of uvicorn's WebSocket protocol, framed once, and
arrive as the same binary messages; a socket with compression, or a server this does not know,
gets them through ASGI."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from starlette.types import Message
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

import sync_server.direct_send
from storage.docs.sql import SQLDocStore
from sync_server.auth import AllowAllAuthorizer
from sync_server.direct_send import direct_writer, framed
from sync_server.endpoint import EndpointLimits, SyncEndpoint, SyncRoute
from sync_server.metrics import SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.asgi import serving
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.yclient import YClient

DOC = "直写"


def parsed(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser: Generator[None, None, Frame] = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(parser)
    assert reader.at_eof(), "nothing after the frame"
    return done.value.value  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [2, 125, 126, 65_535, 65_536, 70_000])
def test_a_payload_of_any_size_is_one_binary_frame(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    frame = parsed(framed(payload))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.BINARY, True, payload)


async def test_a_server_it_does_not_know_gets_every_frame_through_asgi() -> None:
    async def send(message: Message) -> None:
        pass

    assert direct_writer(send) is None


@pytest.mark.parametrize("deflate", [False, True])
async def test_relayed_updates_are_written_straight_to_sockets_without_compression(
    store: SQLDocStore, monkeypatch: pytest.MonkeyPatch, deflate: bool
) -> None:
    written: list[bytes] = []

    def counting(payload: bytes) -> bytes:
        written.append(payload)
        return framed(payload)

    monkeypatch.setattr(sync_server.direct_send, "framed", counting)

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("only sockets here")

    rooms = RoomManager(store, policy=RoomPolicy(), unload_grace_s=0)
    limits = EndpointLimits(max_message_bytes=1 << 20, send_queue_limit=100)
    endpoint = SyncEndpoint(rooms, AllowAllAuthorizer(), SyncMetrics(), limits)
    port = free_port()
    route = SyncRoute(app, endpoint=endpoint)
    async with serving(route, port, ws_per_message_deflate=deflate):
        base = f"ws://127.0.0.1:{port}/sync"
        writer = await YClient(base, DOC).connect()
        reader = await YClient(base, DOC).connect()
        before = len(written)
        for word in ("一", "二", "三"):
            writer.append(word)
        await eventually(lambda: str(reader.text) == "一二三", what="the reader has every word")
        if deflate:  # each socket compresses its own frames: the ASGI server does it
            assert written == []
        else:
            assert len(written) > before, "the updates reached the reader through its transport"
        for client in (writer, reader):
            await client.close()
    await rooms.close()
