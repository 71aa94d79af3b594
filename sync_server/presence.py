"""Awareness (presence) of one room: who is here, with which cursor, name and colour.

The server keeps the newest entry of every client, so that it can
- relay an entry only when it is new (y-websocket clients echo every entry they apply; relaying
  the echoes would make traffic grow with the square of the room size),
- tell the difference between a real change and a keep-alive renewal (same state, newer clock),
  which can be batched,
- give a newcomer a snapshot of everyone present,
- announce the departure of a client whose connection ended without a goodbye, and
- retire entries nobody renewed in time (the clients of a node that died never say goodbye).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .protocol import AwarenessEntry


@dataclass(slots=True)
class Applied:
    changed: list[AwarenessEntry] = field(default_factory=list)
    renewed: list[AwarenessEntry] = field(default_factory=list)
    present: list[int] = field(default_factory=list)  # client ids now present, from this sender


# y-protocols clients drop a peer not renewed for 30 s; a newcomer is not shown one either.
# This also retires the peers of a node that died without announcing their departure.
STALE_AFTER_S = 35.0


class Presence:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._clocks: dict[int, int] = {}
        self._states: dict[int, str] = {}
        self._seen: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, client_id: int) -> bool:
        return client_id in self._states

    def is_fresh(self, entry: AwarenessEntry) -> bool:
        """Whether `apply` would take `entry`: not an echo, not older than what is known."""
        known_clock = self._clocks.get(entry.client_id, -1)
        if entry.clock > known_clock:
            return True
        return entry.clock == known_clock and entry.removed and entry.client_id in self._states

    def departure(self, client_id: int) -> AwarenessEntry | None:
        """The removal on record for a client that is known but gone (None otherwise).

        Sent back to a client that comes back announcing itself with an older clock than that
        (a y-websocket client reconnecting keeps its clock): y-protocols answers the removal of
        its own entry by announcing itself again with a newer clock."""
        clock = self._clocks.get(client_id)
        if clock is None or client_id in self._states:
            return None
        return AwarenessEntry(client_id, clock, "null")

    def apply(self, entries: list[AwarenessEntry]) -> Applied:
        applied = Applied()
        for entry in entries:
            known_clock = self._clocks.get(entry.client_id, -1)
            present = entry.client_id in self._states
            newer = entry.clock > known_clock
            if not (newer or (entry.clock == known_clock and entry.removed and present)):
                continue  # an echo or a stale entry
            self._clocks[entry.client_id] = entry.clock
            if entry.removed:
                if present:
                    del self._states[entry.client_id]
                    self._seen.pop(entry.client_id, None)
                    applied.changed.append(entry)
                continue
            previous = self._states.get(entry.client_id)
            self._states[entry.client_id] = entry.state_json
            self._seen[entry.client_id] = self._clock()
            applied.present.append(entry.client_id)
            if previous == entry.state_json:
                applied.renewed.append(entry)
            else:
                applied.changed.append(entry)
        return applied

    def remove(self, client_ids: set[int]) -> list[AwarenessEntry]:
        """Entries announcing that these clients left (for clients that left silently)."""
        removals = []
        for client_id in client_ids:
            if client_id in self._states:
                del self._states[client_id]
                self._seen.pop(client_id, None)
                clock = self._clocks[client_id] + 1
                self._clocks[client_id] = clock
                removals.append(AwarenessEntry(client_id, clock, "null"))
        return removals

    def expire(self) -> list[AwarenessEntry]:
        """Entries announcing the departure of every client nobody renewed in time."""
        cutoff = self._clock() - self._stale_after_s
        return self.remove({client_id for client_id, seen in self._seen.items() if seen < cutoff})

    def next_expiry(self) -> float | None:
        """When (on this presence's clock) the oldest entry goes stale; None when empty."""
        if not self._seen:
            return None
        return min(self._seen.values()) + self._stale_after_s

    def snapshot(self) -> list[AwarenessEntry]:
        """Everyone present; an entry nobody renewed in time is never shown to a newcomer."""
        cutoff = self._clock() - self._stale_after_s
        return [
            AwarenessEntry(client_id, self._clocks[client_id], state)
            for client_id, state in self._states.items()
            if self._seen[client_id] >= cutoff
        ]
