"""A small y-websocket client in Python (pycrdt + websockets), for tests and benchmarks.

It behaves like the stock JavaScript provider: sends sync step 1 on connect, answers the server's
step 1 with step 2, sends local edits as updates, applies remote updates, and speaks awareness.
It also records every update frame it received, so durability tests can check them later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import quote

import websockets
from pycrdt import Doc, Map, Text

from storage.docs.schema import CONTENT, META
from sync_server import protocol

from .waiting import DEADLINE_S, eventually


def sync_url(base: str, doc: str, token: str | None = None) -> str:
    """The URL a y-websocket client opens: base + '/' + room, percent-encoded like a browser."""
    url = f"{base.rstrip('/')}/{quote(doc, safe='')}"
    return f"{url}?token={quote(token)}" if token else url


class YClient:
    def __init__(
        self,
        base: str,
        doc: str,
        *,
        token: str | None = None,
        name: str = "py",
        client_id: int | None = None,
    ) -> None:
        self.url = sync_url(base, doc, token)
        self.doc: Doc = Doc() if client_id is None else Doc(client_id=client_id)
        self.text = self.doc.get(CONTENT, type=Text)
        self.meta = self.doc.get(META, type=Map)
        self.name = name
        self.received_updates: list[bytes] = []
        self.awareness: dict[int, dict[str, Any]] = {}
        self.awareness_frames = 0
        self.permission_denied: str | None = None
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._applying_remote = False
        self._clock = 0
        self._state_json: str | None = None  # this client's own awareness state, once set
        self._sending: set[asyncio.Task[None]] = set()
        self._subscription = self.doc.observe(self._on_local_change)

    async def connect(self, *, wait_synced: bool = True, timeout: float = DEADLINE_S) -> YClient:
        self._ws = await websockets.connect(self.url, max_size=None, open_timeout=timeout)
        self._reader = asyncio.create_task(self._read())
        await self._send_quietly(protocol.sync_step1(self.doc.get_state()))
        if wait_synced:
            await asyncio.wait_for(self.synced.wait(), timeout)
        return self

    async def close(self) -> None:
        """Close after every local edit made so far has been sent."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._subscription is not None:  # a Rust-held callback: an uncollectable cycle
            self.doc.unobserve(self._subscription)
            self._subscription = None

    async def drop(self) -> None:
        """Lose the socket without a goodbye, as in a network blip (then `reconnect`)."""
        await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def reconnect(self) -> None:
        """Open a new socket after `drop`, as y-websocket does: the same document, client id
        and awareness clock; its awareness state goes out again as it was."""
        self.synced.clear()
        self.closed.clear()
        await self.connect()
        if self._state_json is not None:
            entry = protocol.AwarenessEntry(self.doc.client_id, self._clock, self._state_json)
            await self._send_quietly(protocol.awareness([entry]))

    async def send_raw(self, frame: bytes | str) -> None:
        await self._ws.send(frame)

    def _on_local_change(self, event: Any) -> None:
        if self._applying_remote or self._ws is None:
            return
        self._send_soon(protocol.sync_update(event.update))

    def _send_soon(self, frame: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._send_quietly(frame))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_quietly(self, frame: bytes) -> None:
        with contextlib.suppress(Exception):
            await self._ws.send(frame)

    def insert(self, index_chars: int, value: str) -> None:
        """Insert at a character index (pycrdt indexes by UTF-8 bytes)."""
        prefix = str(self.text)[:index_chars]
        self.text.insert(len(prefix.encode("utf-8")), value)

    def append(self, value: str) -> None:
        self.text += value

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        self._clock += 1
        self._state_json = json.dumps(state) if state is not None else None
        entry = protocol.AwarenessEntry(self.doc.client_id, self._clock, self._state_json or "null")
        await self._ws.send(protocol.awareness([entry]))

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                if isinstance(frame, str):
                    continue
                self._handle(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""
            self.closed.set()

    def _handle(self, frame: bytes) -> None:
        if frame[0] == protocol.MSG_AUTH:
            reader = protocol.Reader(frame[2:])
            self.permission_denied = reader.var_string()
            return
        message = protocol.parse_message(frame)
        match message:
            case protocol.SyncStep1(state_vector):
                self._send_soon(protocol.sync_step2(self.doc.get_update(state_vector)))
            case protocol.SyncStep2(update):
                self._apply_remote(update)
                self.synced.set()
            case protocol.SyncUpdate(update):
                self.received_updates.append(update)
                self._apply_remote(update)
            case protocol.AwarenessMessage(payload):
                self.awareness_frames += 1
                for entry in protocol.parse_awareness(payload):
                    if entry.removed:
                        self.awareness.pop(entry.client_id, None)
                        if entry.client_id == self.doc.client_id:
                            self._answer_own_removal(entry)
                    else:
                        self.awareness[entry.client_id] = json.loads(entry.state_json)

    def _answer_own_removal(self, entry: protocol.AwarenessEntry) -> None:
        """As y-protocols: nobody else removes this client's state; it answers a removal of its
        own entry by announcing itself again with a newer clock."""
        if entry.clock >= self._clock and self._state_json is not None:
            self._clock = entry.clock + 1
            again = protocol.AwarenessEntry(self.doc.client_id, self._clock, self._state_json)
            self._send_soon(protocol.awareness([again]))

    def _apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False


async def wait_until(predicate: Any, timeout: float = DEADLINE_S, interval: float = 0.02) -> None:
    """`tests.support.waiting.eventually` under its older name; raises TimeoutError."""
    try:
        await eventually(predicate, timeout=timeout, interval=interval)
    except AssertionError as exc:
        raise TimeoutError(f"condition not met in time: {exc}") from exc
