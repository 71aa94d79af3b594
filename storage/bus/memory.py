"""In-process bus: the embedded default (one node), and several nodes inside one test process."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

from .base import Handler


class MemoryHub:
    """What several `MemoryBus` nodes share."""

    def __init__(self) -> None:
        self.nodes: list[MemoryBus] = []


class MemoryBus:
    def __init__(self, hub: MemoryHub | None = None) -> None:
        self.node_id = uuid.uuid4().hex
        self._hub = hub or MemoryHub()
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def start(self) -> None:
        self._hub.nodes.append(self)

    async def close(self) -> None:
        if self in self._hub.nodes:
            self._hub.nodes.remove(self)
        self._handlers.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        for node in list(self._hub.nodes):
            if node is not self:
                for handler in list(node._handlers.get(channel, ())):
                    handler(payload)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """A memory bus never disconnects."""
