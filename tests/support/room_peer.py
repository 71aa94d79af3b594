"""A connection to a room without a socket: its frames land in a document and an awareness map,
as a client's would. For tests that drive `Room.handle` directly."""

from __future__ import annotations

import asyncio
import json

from pycrdt import Doc, Text

from storage.docs.schema import CONTENT
from sync_server import protocol
from sync_server.auth import Access
from sync_server.connection import Connection
from sync_server.room import Room


class RoomPeer:
    def __init__(self) -> None:
        self.doc: Doc = Doc()
        self.awareness: dict[int, str] = {}
        self.awareness_frames = 0
        self.conn = Connection(
            send_bytes=self._receive,
            close=self._close,
            access=Access.WRITE,
            principal="7",
            queue_limit=1000,
        )
        self.sender = asyncio.create_task(self.conn.run_sender())

    async def _receive(self, frame: bytes) -> None:
        message = protocol.parse_message(frame)
        if isinstance(message, protocol.SyncStep2 | protocol.SyncUpdate):
            self.doc.apply_update(message.update)
        elif isinstance(message, protocol.AwarenessMessage):
            self.awareness_frames += 1
            for entry in protocol.parse_awareness(message.payload):
                if entry.removed:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = entry.state_json

    async def _close(self, code: int, reason: str) -> None:
        pass

    @property
    def text(self) -> str:
        return str(self.doc.get(CONTENT, type=Text))

    async def say(self, room: Room, client_id: int, clock: int, name: str) -> None:
        """Announce an awareness state for `client_id` in `room`."""
        state = json.dumps({"user": {"name": name}})
        entry = protocol.AwarenessEntry(client_id, clock, state)
        await room.handle(self.conn, protocol.AwarenessMessage(protocol.encode_awareness([entry])))


def recording_connection(
    frames: list[bytes],
    closes: list[int] | None = None,
    *,
    principal: str = "7",
    max_in_flight: int = 64,
) -> Connection:
    """A writer's connection whose sent frames land in `frames` and close codes in `closes`
    (start its `run_sender` for frames to flow)."""

    async def receive(frame: bytes) -> None:
        frames.append(frame)

    async def close(code: int, reason: str) -> None:
        if closes is not None:
            closes.append(code)

    return Connection(
        send_bytes=receive,
        close=close,
        access=Access.WRITE,
        principal=principal,
        queue_limit=1000,
        max_in_flight=max_in_flight,
    )
