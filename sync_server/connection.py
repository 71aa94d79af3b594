"""One peer's socket: a bounded outgoing queue drained by its own sender task.

`send` never blocks and never raises: a broadcast to many peers cannot be stalled or broken by
one of them. A peer that falls too far behind is closed (its client reconnects and re-syncs).

Its updates are stored by its room's writer (`Room`) while the socket goes on reading; the
connection counts those not yet stored, so that a peer with `max_in_flight` of them waits
(backpressure) and `drain` knows when they are all in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from functools import lru_cache

from pycrdt import merge_updates

from . import protocol
from .auth import Access
from .direct_send import WriteNow
from .protocol import ProtocolError

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INTERNAL = 1011
CLOSE_TOO_SLOW = 1013
CLOSE_TRY_AGAIN = 1013  # "try again later": the document store could not store an update

SendBytes = Callable[[bytes], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class Connection:
    def __init__(
        self,
        *,
        send_bytes: SendBytes,
        close: Close,
        access: Access,
        principal: str | None,
        queue_limit: int,
        on_too_slow: Callable[[], None] | None = None,
        on_malformed: Callable[[], None] | None = None,
        on_presence_refused: Callable[[int], None] | None = None,
        max_in_flight: int = 64,
        write_now: WriteNow | None = None,
    ) -> None:
        """`write_now` writes a frame to the socket at once where it can (`direct_send`);
        otherwise, and for a frame that would overtake queued ones, `send_bytes` sends it."""
        self.access = access
        self.principal = principal
        self.client_ids: set[int] = set()  # the awareness client ids this peer owns in its room
        self.denied_notified = False
        self._send_bytes = send_bytes
        self._write_now = write_now
        self._sending = False  # the sender task holds frames it took from the outbox
        self._close = close
        # Frames not yet handed to the socket, and the sender's wake-up while it has none.
        self._outbox: deque[bytes] = deque()
        self._queue_limit = queue_limit
        self._wakeup: asyncio.Future[None] | None = None
        self._on_too_slow = on_too_slow
        self._on_malformed = on_malformed
        self._on_presence_refused = on_presence_refused
        self._max_in_flight = max_in_flight
        self._writes = 0  # updates this peer sent that its room has not yet stored (or refused)
        self._write_waiters: list[asyncio.Future[None]] = []
        self._closed = False  # nothing more is sent
        self._closing = False  # the server decided to close: nothing more is read either
        self._close_task: asyncio.Task[None] | None = None
        self.failed = False  # closed because one of its updates could not be stored

    @property
    def can_write(self) -> bool:
        return self.access is Access.WRITE

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def closing(self) -> bool:
        return self._closing

    def presence_refused(self, entries: int) -> None:
        """This peer sent `entries` awareness entries for client ids another peer owns."""
        if self._on_presence_refused is not None:
            self._on_presence_refused(entries)

    def send(self, frame: bytes) -> None:
        if self._closed:
            return
        if (
            self._write_now is not None
            and not self._outbox
            and not self._sending
            and self._write_now(frame)
        ):
            return
        if len(self._outbox) >= self._queue_limit:
            if self._on_too_slow is not None:
                self._on_too_slow()
            self.close(CLOSE_TOO_SLOW, "client too slow: too many frames queued")
            return
        self._outbox.append(frame)
        wakeup = self._wakeup
        if wakeup is not None:
            self._wakeup = None
            if not wakeup.done():
                wakeup.set_result(None)

    def close(self, code: int, reason: str) -> None:
        """Close from any context; the receive loop then ends and cleans up."""
        if self._closing:
            return
        self._closed = self._closing = True
        self._close_task = asyncio.create_task(self._close_quietly(code, reason))

    async def _close_quietly(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._close(code, reason[:120])  # a close reason must fit in 123 bytes

    @property
    def writes_full(self) -> bool:
        """`max_in_flight` updates of this peer wait to be stored: read no more for now."""
        return self._writes >= self._max_in_flight

    def write_queued(self) -> None:
        self._writes += 1

    def write_done(self) -> None:
        self._writes -= 1
        if self._write_waiters:
            for waiter in self._write_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._write_waiters.clear()

    async def room_to_write(self) -> None:
        """Until fewer than `max_in_flight` of this peer's updates wait to be stored."""
        await self._writes_at_most(self._max_in_flight - 1)

    async def drain(self) -> None:
        """Wait for the updates still being stored."""
        await self._writes_at_most(0)

    async def _writes_at_most(self, count: int) -> None:
        while self._writes > count:
            waiter = asyncio.get_running_loop().create_future()
            self._write_waiters.append(waiter)
            await waiter

    def refuse_malformed(self, error: ProtocolError) -> None:
        """One of this peer's updates is garbage: it is not stored, and the peer is closed."""
        if self._on_malformed is not None:
            self._on_malformed()
        self.close(CLOSE_PROTOCOL_ERROR, f"malformed message: {error}")

    def fail(self, *, store_unavailable: bool = False) -> None:
        """Storing this peer's update failed (logged by the caller). The peer still has the
        update: a y-websocket client reconnects and sends it again in its sync step 2."""
        self.failed = True
        if store_unavailable:
            self.close(CLOSE_TRY_AGAIN, "document store unavailable: reconnect and send again")
        else:
            self.close(CLOSE_INTERNAL, "internal error")

    async def wait_closed(self) -> None:
        if self._close_task is not None:
            await self._close_task

    async def run_sender(self) -> None:
        outbox = self._outbox
        loop = asyncio.get_running_loop()
        while True:
            if not outbox:
                self._wakeup = loop.create_future()
                await self._wakeup
                continue
            if len(outbox) == 1:
                frames = [outbox.popleft()]
            else:  # fell behind: catch up with fewer, merged frames
                taken = [outbox.popleft() for _ in range(min(len(outbox), _COALESCE_MAX))]
                frames = coalesce_updates(taken)
            self._sending = True
            try:
                for frame in frames:
                    await self._send_bytes(frame)
            except Exception:
                self._closed = True
                return
            finally:
                self._sending = False


_COALESCE_MAX = 64
_COALESCE_BYTES = 16 * 1024  # never rebuild a large frame (a first sync's pieces stay apart)
_UPDATE_PREFIX = bytes((protocol.MSG_SYNC, protocol.SYNC_UPDATE))


@lru_cache(maxsize=256)
def _merged_frame(run: tuple[bytes, ...]) -> bytes | None:
    """One frame for a run of update frames. Cached: the peers of a room that fell behind
    together queue the very same frames, and each such run is merged once, not once per peer."""
    try:
        updates = [protocol.parse_message(frame).update for frame in run]  # type: ignore[union-attr]
        return protocol.sync_update(merge_updates(*updates))
    except ValueError:
        return None


def coalesce_updates(frames: list[bytes]) -> list[bytes]:
    """Merge runs of consecutive update frames into one: a client that fell behind catches up
    with fewer, larger frames. Order relative to other messages is kept."""
    out: list[bytes] = []
    run: list[bytes] = []

    def flush() -> None:
        merged = _merged_frame(tuple(run)) if len(run) > 1 else None
        if merged is not None:
            out.append(merged)
        else:
            out.extend(run)
        run.clear()

    for frame in frames:
        if frame.startswith(_UPDATE_PREFIX) and len(frame) < _COALESCE_BYTES:
            if sum(map(len, run)) + len(frame) > _COALESCE_BYTES:
                flush()
            run.append(frame)
        else:
            flush()
            out.append(frame)
    flush()
    return out
