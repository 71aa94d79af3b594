"""How many sockets one principal and one client address may hold open on this node.

Counted in memory, per node: a socket is open on one node only, and a count that dies with its
node never outlives the sockets it counted. The `/sync` endpoint counts its sockets here, and
so may any other socket endpoint of the same app (the notification socket does), so that one
budget covers them all. A socket over a limit is closed with `CLOSE_TOO_MANY` and a reason;
y-websocket clients retry with their backoff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

CLOSE_TOO_MANY = 4429


class TooManySockets(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Uncount = Callable[[], None]


def _nothing() -> None:
    pass


UNCOUNTED: Uncount = _nothing  # for sockets that count against no limit


class SocketLimits:
    """At most `per_principal` open sockets per principal and `per_address` per client
    address; 0 means no limit."""

    def __init__(self, *, per_principal: int = 0, per_address: int = 0) -> None:
        self._per_principal = per_principal
        self._per_address = per_address
        self._open: Counter[tuple[str, str]] = Counter()

    def open(self, principal: str | None, address: str | None) -> Uncount:
        """Count one more socket of `principal` from `address` (None: not counted by it), or
        raise `TooManySockets`; returns the call that uncounts it when it closes."""
        keys = []
        if principal is not None and self._per_principal:
            keys.append((("principal", principal), self._per_principal, "user"))
        if address is not None and self._per_address:
            keys.append((("address", address), self._per_address, "address"))
        for key, limit, what in keys:
            if self._open[key] >= limit:
                raise TooManySockets(f"too many open connections for this {what} (limit {limit})")
        counted = [key for key, _limit, _what in keys]
        self._open.update(counted)
        done = False

        def uncount() -> None:
            nonlocal done
            if not done:
                done = True
                self._open.subtract(counted)
                for key in counted:
                    if self._open[key] <= 0:
                        del self._open[key]

        return uncount

    def count(self, *, principal: str | None = None, address: str | None = None) -> int:
        """Sockets counted now for `principal` (or, without one, for `address`)."""
        if principal is not None:
            return self._open[("principal", principal)]
        return self._open[("address", address or "")]
