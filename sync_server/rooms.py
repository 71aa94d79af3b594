"""The rooms of one node: created on first use, shared, unloaded after a grace period.

`acquire` and `release` are synchronous, so no lock is held across an await: rooms start
independently of each other, and a room is never unloaded while anyone holds it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from storage.docs.base import DocStore

from .hooks import HookSet, RoomHooks
from .room import Room, RoomPolicy

log = logging.getLogger(__name__)


class RoomManager:
    def __init__(
        self,
        store: DocStore,
        *,
        policy: RoomPolicy,
        unload_grace_s: float,
        hooks: Sequence[RoomHooks] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Every room follows `hooks` (fan-out to other nodes, projection, metrics), in order.

        `clock` measures the unload grace and presence staleness (a test moves it by hand).
        """
        self._clock = clock
        self._store = store
        self._policy = policy
        self._grace_s = unload_grace_s
        self._hooks = HookSet.of(hooks)
        self._detaching: set[asyncio.Task[None]] = set()
        self._rooms: dict[str, Room] = {}
        self._holders: dict[str, int] = {}
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        self._idle_since: dict[str, float] = {}
        self._compacting: dict[str, asyncio.Task[None]] = {}

    @property
    def rooms(self) -> dict[str, Room]:
        return self._rooms

    @property
    def policy(self) -> RoomPolicy:
        return self._policy

    def acquire(self, name: str) -> Room:
        timer = self._unload_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        self._idle_since.pop(name, None)
        room = self._rooms.get(name)
        if room is None:
            room = Room(
                name,
                self._store,
                self._policy,
                request_compaction=self.request_compaction,
                hooks=self._hooks,
                clock=self._clock,
            )
            self._rooms[name] = room
        self._holders[name] = self._holders.get(name, 0) + 1
        return room

    def release(self, room: Room, *, failed: bool = False) -> None:
        name = room.name
        holders = self._holders.get(name, 0) - 1
        if holders > 0:
            self._holders[name] = holders
            if failed:
                log.warning("room failed while others hold it", extra={"doc": name})
            return
        self._holders.pop(name, None)
        if failed or self._grace_s <= 0:
            self._unload(name)
        else:
            self._idle_since[name] = self._clock()
            self._unload_later(name, self._grace_s)

    def _unload_later(self, name: str, delay: float) -> None:
        self._unload_timers[name] = asyncio.get_running_loop().call_later(
            delay, self._unload_if_due, name
        )

    def _unload_if_due(self, name: str) -> None:
        self._unload_timers.pop(name, None)
        remaining = self._grace_left(name)
        if remaining is None:
            return
        if remaining > 0:  # the clock is not the loop's (a test's): look again later
            self._unload_later(name, remaining)
        else:
            self._unload(name)

    def _grace_left(self, name: str) -> float | None:
        since = self._idle_since.get(name)
        return None if since is None else since + self._grace_s - self._clock()

    def unload_idle(self) -> list[str]:
        """Unload now every room that nobody has held for the grace period; their names.

        Timers do this by themselves; this is for a caller that moves the clock by hand.
        """
        now = self._clock()
        due = [name for name, since in self._idle_since.items() if since + self._grace_s <= now]
        for name in due:
            timer = self._unload_timers.pop(name, None)
            if timer is not None:
                timer.cancel()
            self._unload(name)
        return due

    def _unload(self, name: str) -> None:
        self._unload_timers.pop(name, None)
        self._idle_since.pop(name, None)
        if self._holders.get(name):
            return
        room = self._rooms.pop(name, None)
        if room is not None:
            room.unload()
            task = asyncio.get_running_loop().create_task(room.detach())
            self._detaching.add(task)
            task.add_done_callback(self._detaching.discard)

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[Room]:
        """A loaded room for a server-side use (REST save, version restore)."""
        room = self.acquire(name)
        failed = True
        try:
            await room.ready()
            failed = False
            yield room
        finally:
            self.release(room, failed=failed)

    def request_compaction(self, name: str) -> None:
        if name in self._compacting:
            return
        self._compacting[name] = asyncio.create_task(self._compact(name), name=f"compact:{name}")

    async def compactions_finished(self) -> None:
        """Until the compactions started so far have finished (each logs its own failure)."""
        if self._compacting:
            await asyncio.gather(*self._compacting.values(), return_exceptions=True)

    async def _compact(self, name: str) -> None:
        try:
            result = await self._store.compact(name)
            if result is not None:
                for hook in self._hooks.on_compacted:
                    hook.on_compacted(name, result)
                log.info(
                    "compacted",
                    extra={
                        "doc": name,
                        "merged_updates": result.merged_updates,
                        "bytes_before": result.bytes_before,
                        "bytes_after": result.bytes_after,
                    },
                )
        except Exception:
            log.exception("compaction failed", extra={"doc": name})
        finally:
            self._compacting.pop(name, None)

    async def close(self) -> None:
        for timer in self._unload_timers.values():
            timer.cancel()
        self._unload_timers.clear()
        self._idle_since.clear()
        await self.compactions_finished()
        for name in list(self._rooms):
            room = self._rooms.pop(name)
            room.unload()
            await room.flushed()  # what peers sent last reaches the store
            await room.detach()
        if self._detaching:
            await asyncio.gather(*self._detaching, return_exceptions=True)
