"""The one interface through which anything reacts to rooms, in the spirit of Hocuspocus's
extensions.

The room core does one thing itself: it appends a peer's update to the document store before
anything else sees it (DESIGN, invariant 1). Everything else that follows a room (fan-out to
other nodes, the text projection, metrics) implements `RoomHooks` and is handed to the
`RoomManager` when it is built. An implementation subclasses `RoomHooks` and overrides only the
hooks it needs; the others do nothing, and cost nothing: rooms call each hook only on the
implementations that override it (`overriding`, decided once per node: `HookSet`). An object
that implements the protocol without subclassing it has every hook called. Hooks run in the order
they were given.

The synchronous hooks run inside a room's update path: they must be cheap and must not raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from storage.docs.base import Compaction

from .protocol import AwarenessEntry

if TYPE_CHECKING:
    from .room import Room

Relayed = Literal["updates", "awareness"]
Written = tuple[bytes, str | None]  # an update and its writer's principal (None: the server)


class RoomHooks(Protocol):
    async def on_load(self, room: Room) -> None:
        """The room is about to read its document from the store.

        Whatever listens for changes made elsewhere starts listening here: what arrives while
        the store is read is applied once the document is loaded (invariant 6).
        """

    def amend(self, room: Room, updates: Sequence[bytes]) -> list[bytes]:
        """Updates of the server's own to store and relay together with a batch of peers'
        `updates`, as part of it: a correction that no peer may see the batch without. They go
        through `before_store` (written by the server), the append and the relay with the
        batch, applied in the same transaction, so a peer receives both in one update."""
        return []

    async def before_store(self, room: Room, writes: Sequence[Written]) -> None:
        """A batch of peers' updates is about to be appended, each with who wrote it (None:
        the server). What must be durable before an update is (who wrote with which Yjs client
        id) is written here; a raise refuses the batch, as a failed append does."""

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        """`update` is durably stored (it took `append_seconds`); no peer has it yet.

        The room awaits every `on_stored` before it relays the update to its own peers.
        """

    async def on_taken_in(self, room: Room, update: bytes) -> None:
        """Before a server-side edit the room read the store and took in `update`, stored
        already but not yet in its document: another node's still on its way over the bus, or
        one of this room's own appends that failed after it was stored, which nobody else has
        either. No peer has it yet."""

    def on_change(self, room: Room, principal: str | None) -> None:
        """An update stored by this node, or taken in from the store before a server-side
        edit, changed the document; `principal` wrote it (None: the server itself, or taken
        in)."""

    def on_presence(self, room: Room, entries: list[AwarenessEntry]) -> None:
        """Peers of this node announced, renewed or withdrew their presence."""

    def on_relay(self, room: Room, kind: Relayed, frames: int) -> None:
        """The room sent `frames` frames of `kind` to its peers."""

    def on_compacted(self, name: str, result: Compaction) -> None:
        """The document `name`'s log was merged into a new snapshot."""

    async def on_unload(self, room: Room) -> None:
        """The room left memory; it calls no hook after this one."""


def overriding(hooks: Sequence[RoomHooks], name: str) -> tuple[RoomHooks, ...]:
    """Those of `hooks`, in order, whose hook `name` is not `RoomHooks`' no-op default (an
    object that does not subclass it and lacks a hook added since is not called for it)."""
    default = getattr(RoomHooks, name)
    return tuple(
        hook
        for hook in hooks
        if hasattr(hook, name) and getattr(getattr(hook, name), "__func__", None) is not default
    )


@dataclass(frozen=True, slots=True)
class HookSet:
    """Per hook, in order, the hooks that override it: decided once, shared by every room."""

    on_load: tuple[RoomHooks, ...] = ()
    amend: tuple[RoomHooks, ...] = ()
    before_store: tuple[RoomHooks, ...] = ()
    on_stored: tuple[RoomHooks, ...] = ()
    on_taken_in: tuple[RoomHooks, ...] = ()
    on_change: tuple[RoomHooks, ...] = ()
    on_presence: tuple[RoomHooks, ...] = ()
    on_relay: tuple[RoomHooks, ...] = ()
    on_compacted: tuple[RoomHooks, ...] = ()
    on_unload: tuple[RoomHooks, ...] = ()

    @classmethod
    def of(cls, hooks: Sequence[RoomHooks]) -> HookSet:
        return cls(**{name: overriding(hooks, name) for name in cls.__dataclass_fields__})
