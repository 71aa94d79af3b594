"""One peer's socket: a bounded outgoing queue drained by its own sender task.

`send` never blocks and never raises: a broadcast to many peers cannot be stalled or broken by
one of them. A peer that falls too far behind is closed (its client reconnects and re-syncs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import lru_cache
from typing import Any

from pycrdt import merge_updates

from . import protocol
from .auth import Access
from .protocol import ProtocolError

log = logging.getLogger(__name__)

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INTERNAL = 1011
CLOSE_TOO_SLOW = 1013

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
    ) -> None:
        self.access = access
        self.principal = principal
        self.client_ids: set[int] = set()  # the awareness client ids this peer owns in its room
        self.denied_notified = False
        self._send_bytes = send_bytes
        self._close = close
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_limit)
        self._on_too_slow = on_too_slow
        self._on_malformed = on_malformed
        self._on_presence_refused = on_presence_refused
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False  # nothing more is sent
        self._closing = False  # the server decided to close: nothing more is read either
        self._close_task: asyncio.Task[None] | None = None

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
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            if self._on_too_slow is not None:
                self._on_too_slow()
            self.close(CLOSE_TOO_SLOW, "client too slow: too many frames queued")

    def close(self, code: int, reason: str) -> None:
        """Close from any context; the receive loop then ends and cleans up."""
        if self._closing:
            return
        self._closed = self._closing = True
        self._close_task = asyncio.create_task(self._close_quietly(code, reason))

    async def _close_quietly(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._close(code, reason[:120])  # a close reason must fit in 123 bytes

    async def pipeline(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (storing one update) concurrently with reading the next frames.

        At most `max_in_flight` run at once; beyond that the caller waits, which stops reading
        from this socket: backpressure instead of unbounded memory.
        """
        await self._in_flight.acquire()
        task = asyncio.create_task(self._run_in_flight(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_in_flight(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except ProtocolError as exc:
            if self._on_malformed is not None:
                self._on_malformed()
            self.close(CLOSE_PROTOCOL_ERROR, f"malformed message: {exc}")
        except Exception:
            log.exception("storing an update failed")
            self.close(CLOSE_INTERNAL, "internal error")
        finally:
            self._in_flight.release()

    async def drain(self) -> None:
        """Wait for the updates still being stored."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_closed(self) -> None:
        if self._close_task is not None:
            await self._close_task

    async def run_sender(self) -> None:
        while True:
            frames = [await self._queue.get()]
            while not self._queue.empty() and len(frames) < _COALESCE_MAX:
                frames.append(self._queue.get_nowait())
            try:
                for frame in coalesce_updates(frames):
                    await self._send_bytes(frame)
            except Exception:
                self._closed = True
                return


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
