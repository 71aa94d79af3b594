"""Cross-node pub/sub of document updates and awareness, one channel per document.

A node never receives its own messages. `on_reconnect` callbacks run after the connection to
the broker came back, so that rooms can re-sync what they may have missed meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Handler = Callable[[bytes], None]


class Bus(Protocol):
    node_id: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Returns once the subscription is active: nothing published after that is missed."""
        ...

    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None: ...
