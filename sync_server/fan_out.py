"""Rooms of one document on several nodes, joined by the bus: updates and presence cross over.

Each loaded document has a channel, `doc:{name}`. A room subscribes before it reads the store,
so nothing published meanwhile is lost (DESIGN, invariant 6); it publishes an update once it is
stored and before its own peers get it (invariant 1). After a bus outage, every room re-reads
the store: what other nodes stored meanwhile was never lost, only not announced.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from storage.bus.base import Bus, Handler
from storage.docs.base import DocStore
from storage.docs.merge import merged_state

from . import protocol
from .hooks import RoomHooks
from .protocol import ProtocolError
from .room import Room

log = logging.getLogger(__name__)

_UPDATE = b"u"
_AWARENESS = b"a"


def channel(doc: str) -> str:
    return f"doc:{doc}"


class BusFanOut(RoomHooks):
    def __init__(self, bus: Bus, store: DocStore) -> None:
        self._bus = bus
        self._store = store
        self._listening: dict[Room, Handler] = {}
        self._publishing: set[asyncio.Task[None]] = set()
        bus.on_reconnect(self.resync_all)

    async def on_load(self, room: Room) -> None:
        handler = partial(_receive, room)
        self._listening[room] = handler
        await self._bus.subscribe(channel(room.name), handler)

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        await self._bus.publish(channel(room.name), _UPDATE + update)

    async def on_taken_in(self, room: Room, update: bytes) -> None:
        await self._bus.publish(channel(room.name), _UPDATE + update)

    def on_presence(self, room: Room, entries: list[protocol.AwarenessEntry]) -> None:
        message = _AWARENESS + protocol.encode_awareness(entries)
        task = asyncio.get_running_loop().create_task(
            self._bus.publish(channel(room.name), message)
        )
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def on_unload(self, room: Room) -> None:
        handler = self._listening.pop(room, None)
        if handler is not None:
            await self._bus.unsubscribe(channel(room.name), handler)

    async def resync_all(self) -> None:
        """After a bus outage: apply from the store whatever other nodes stored meanwhile."""
        for room in list(self._listening):
            try:
                stored = await self._store.load(room.name)
                room.apply_from_elsewhere(merged_state(stored, name=room.name))
            except Exception:
                log.exception("re-sync failed", extra={"doc": room.name})


def _receive(room: Room, message: bytes) -> None:
    """An update (already stored by the node that sent it) or a presence change."""
    kind, payload = message[:1], message[1:]
    if kind == _UPDATE:
        room.apply_from_elsewhere(payload)
    elif kind == _AWARENESS:
        try:
            entries = protocol.parse_awareness(payload)
        except ProtocolError:
            log.warning("malformed awareness on the bus", extra={"doc": room.name})
            return
        room.apply_presence_from_elsewhere(entries)
