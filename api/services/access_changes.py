"""A user's access to a work changed (role lowered, removed, work trashed) or sessions of the
user ended (logout, password changed or reset, account disabled): every node's open sync
sockets of that user re-authorize at once instead of at their next periodic check.

This node's sockets are told directly; other nodes hear it on the bus (a node never receives its
own messages), where `listen` subscribes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from storage.bus.base import Bus

CHANNEL = "access-changed"

Recheck = Callable[[str], None]
"""`recheck(principal)`: re-authorize the sockets of `principal` (a user id, as text) now."""


class AccessChanges:
    def __init__(self, bus: Bus, recheck_here: Recheck) -> None:
        self.bus = bus
        self.recheck_here = recheck_here

    async def changed(self, user_ids: Iterable[int]) -> None:
        for user_id in user_ids:
            principal = str(user_id)
            self.recheck_here(principal)
            await self.bus.publish(CHANNEL, principal.encode())


async def listen(bus: Bus, recheck: Recheck) -> None:
    """Re-authorize this node's sockets when another node announces a change."""
    await bus.subscribe(CHANNEL, lambda payload: recheck(payload.decode()))


def no_sockets(_principal: str) -> None:
    """The `recheck_here` of a process that serves no sync sockets (a job worker)."""
