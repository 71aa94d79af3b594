"""An AI task's seat in a chapter's live document, through the real sync protocol.

`DocumentPeer` is a y-websocket client (the `websockets` library and the wire format of
`sync_server.protocol`) that joins `/sync/{doc}` like any editor: it sends sync step 1, waits
for the server's sync step 2 before writing anything, answers the server's sync step 1, applies
every remote update as it arrives (a reader task runs all the time, writes never stop it), and
announces itself in awareness with a cursor that stock editors can draw.

Where the AI writes. `anchor(i)` takes a position that sticks to the text before it (Yjs
`assoc = -1`): edits anywhere else move it along, text typed exactly at it lands after the AI's
text, and after each write it sits right after the AI's last character. It is kept as a UTF-8
offset (pycrdt's unit) and moved by each remote `TextEvent` delta; pycrdt 0.14.13's
`StickyIndex` is not used because it mixes UTF-8 and UTF-16 units beyond ASCII (see
`ai_agents.marks`).

Concurrent typing at the AI's cursor. When a co-author's insert and the AI's insert have the
same left neighbour, Yjs puts the one with the smaller client id first. After the first sync
the peer takes a fresh client id below 2**20 that no item or awareness entry of the document
uses, smaller than the random 32-bit ids of Yjs clients (and pycrdt's 53-bit ones): the AI's
text stays in one piece, and a co-author typing at its cursor sees their words pushed after it.

Marking. Every insertion carries `{"ai": task_id}` and runs in a transaction whose origin is
the task id. A plain insert inside or right after a formatted run inherits the format in Yjs,
so a co-author's characters typed into or after the AI's text arrive marked as AI; the server
takes the mark off them (`api.ai_marks_hook`, by authorship, whether or not the AI is still
connected), and accept and reject in `ai_agents.marks` go by authorship too.

Awareness: `{"user": {"name", "color", "kind": "ai", "task_id", ...extra}, "cursor": {"anchor",
"head"}}`, the positions being what `Y.createRelativePositionFromTypeIndex(ytext, i, -1)`
serialises to, which `y-codemirror.next` reads with `Y.createRelativePositionFromJSON`. The
state is renewed every 15 s, as y-protocols does, and removed (state null) on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

from pycrdt import Doc, Subscription, Text, TextEvent, TransactionEvent, merge_updates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from storage.docs.edits import updates_from
from storage.docs.schema import CONTENT
from sync_server import protocol

from .marks import AI_ATTRIBUTE, decode_update, utf8_offset

log = logging.getLogger(__name__)

AI_CLIENT_ID_LIMIT = 1 << 20
CLOSE_PROTOCOL_ERROR = 1002


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """Who the AI is in awareness. `extra` adds user fields (e.g. `label`, `model`)."""

    task_id: str
    name: str
    color: str
    extra: dict[str, Any] = field(default_factory=dict)


class PeerClosed(Exception):
    """The connection ended without the peer asking: refused (4401/4403), revoked, read-only,
    malformed, or the server went away. `code` is the WebSocket close code when there was one."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"sync connection closed ({code}): {reason}" if code else reason)
        self.code = code
        self.reason = reason


def document_url(sync_base_url: str, doc: str) -> str:
    """`{sync_base_url}/{doc}` with the document name percent-encoded, as a browser sends it."""
    return f"{sync_base_url.rstrip('/')}/{quote(doc, safe='')}"


def _with_token(url: str, token: str | None) -> str:
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}token={quote(token, safe='')}"


def _state_vector_clients(state: bytes) -> set[int]:
    reader = protocol.Reader(state)
    clients = set()
    for _ in range(reader.var_uint()):
        clients.add(reader.var_uint())
        reader.var_uint()
    return clients


class DocumentPeer:
    """One AI task in one document: `async with DocumentPeer(...) as peer:`, then `anchor`,
    `write`/`replace`; leaving the block sends what is queued and the awareness removal."""

    def __init__(
        self,
        url: str,
        token: str | None,
        identity: PeerIdentity,
        *,
        connect_timeout_s: float = 10,
        frame_interval_s: float = 0.02,
        awareness_renew_s: float = 15.0,
        close_timeout_s: float = 5.0,
    ) -> None:
        self.identity = identity
        self.written = 0
        self._url = _with_token(url, token)
        self._connect_timeout_s = connect_timeout_s
        self._frame_interval_s = frame_interval_s
        self._awareness_renew_s = awareness_renew_s
        self._close_timeout_s = close_timeout_s
        self._user: dict[str, Any] = {
            "name": identity.name,
            "color": identity.color,
            **identity.extra,
            "kind": "ai",
            "task_id": identity.task_id,
        }
        self._doc: Doc = Doc()  # until the first sync; then one with a chosen client id
        self._text: Text = self._doc.get(CONTENT, type=Text)
        self._subscriptions: list[tuple[Doc | Text, Subscription]] = []
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = asyncio.Event()
        self._acknowledged = asyncio.Event()  # a sync step 2 answered our closing step 1
        self._ended = asyncio.Event()
        self._failure: PeerClosed | None = None
        self._leaving = False
        self._present: set[int] = set()  # client ids seen in awareness
        # outgoing
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._control: list[bytes] = []
        self._updates: list[bytes] = []
        self._announced = False
        self._awareness_dirty = False
        self._awareness_clock = 0
        # local edits and the sticky position
        self._local = False
        self._captured: list[bytes] = []
        self._position: int | None = None  # UTF-8 offset in the text
        self._cursor_id: tuple[int, int] | None = None  # the character left of the position

    # Connection ---------------------------------------------------------------------------

    async def __aenter__(self) -> DocumentPeer:
        try:
            self._ws = await connect(self._url, max_size=None, open_timeout=self._connect_timeout_s)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise PeerClosed(None, f"could not connect: {exc}") from exc
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"peer-read:{self.identity.task_id}"),
            asyncio.create_task(self._send_loop(), name=f"peer-send:{self.identity.task_id}"),
        ]
        self._control.append(protocol.sync_step1(self._doc.get_state()))
        self._wake.set()
        try:
            await self._wait_synced()
        except BaseException:
            await self._shutdown(goodbye=False)
            raise
        self._announced = True
        self._awareness_dirty = True
        self._wake.set()
        self._tasks.append(
            asyncio.create_task(self._renew_loop(), name=f"peer-renew:{self.identity.task_id}")
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Send what is still queued and the awareness removal, then close the socket."""
        await self._shutdown(goodbye=True)

    async def _wait_synced(self) -> None:
        synced = asyncio.create_task(self._synced.wait())
        ended = asyncio.create_task(self._ended.wait())
        try:
            done, _ = await asyncio.wait(
                {synced, ended},
                timeout=self._connect_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            synced.cancel()
            ended.cancel()
        if self._synced.is_set():
            return
        if self._failure is not None:
            raise self._failure
        if not done:
            raise TimeoutError(f"no sync step 2 within {self._connect_timeout_s} s")
        raise PeerClosed(None, "connection ended before the first sync")

    async def _shutdown(self, *, goodbye: bool) -> None:
        ws = self._ws
        if self._leaving or ws is None:
            return
        self._leaving = True
        try:
            async with asyncio.timeout(self._close_timeout_s):
                async with self._send_lock:  # a send in progress completes first
                    for task in self._tasks[1:]:  # sender and renewer, not the reader
                        task.cancel()
                    if goodbye and self._failure is None and not self._ended.is_set():
                        # The server answers a sync step 1 only after storing every update this
                        # socket sent before it: once answered, all we wrote is durable and any
                        # reader of the document sees it.
                        self._acknowledged.clear()
                        frames = self._take_frames()
                        frames.append(protocol.sync_step1(self._doc.get_state()))
                        for frame in frames:
                            await ws.send(frame)
                        await self._acknowledged.wait()
                        if self._announced:
                            await ws.send(self._awareness_frame(None))
                await ws.close()
        except (TimeoutError, ConnectionClosed, OSError):
            log.info("sync connection did not close cleanly", extra={"task": self.identity.task_id})
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await ws.close()
            for owner, subscription in self._subscriptions:
                # A Rust-held callback: an uncollectable cycle unless unsubscribed.
                with contextlib.suppress(Exception):
                    owner.unobserve(subscription)
            self._subscriptions.clear()

    # Reading ------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    self._handle(frame)
                if self._failure is not None:
                    await ws.close()
                    return
        except ConnectionClosed:
            pass
        finally:
            if self._failure is None and not self._leaving:
                reason = ws.close_reason or "the server closed the connection"
                self._failure = PeerClosed(ws.close_code, reason)
            self._ended.set()
            self._wake.set()

    def _handle(self, frame: bytes) -> None:
        try:
            if frame[:1] == bytes((protocol.MSG_AUTH,)):
                reader = protocol.Reader(frame[2:])
                self._failure = PeerClosed(None, f"permission denied: {reader.var_string()}")
                return
            message = protocol.parse_message(frame)
            match message:
                case protocol.SyncStep1(state_vector):
                    self._control.append(protocol.sync_step2(self._doc.get_update(state_vector)))
                    self._wake.set()
                case protocol.SyncStep2(update):
                    self._apply_remote(update)
                    if not self._synced.is_set():
                        self._adopt_own_client_id()
                        self._synced.set()
                    self._acknowledged.set()
                case protocol.SyncUpdate(update):
                    self._apply_remote(update)
                case protocol.AwarenessMessage(payload):
                    for entry in protocol.parse_awareness(payload):
                        if entry.removed:
                            self._present.discard(entry.client_id)
                        else:
                            self._present.add(entry.client_id)
                case protocol.QueryAwareness():
                    self._awareness_dirty = self._announced
                    self._wake.set()
        except (protocol.ProtocolError, ValueError) as exc:
            self._failure = PeerClosed(CLOSE_PROTOCOL_ERROR, f"malformed message: {exc}")

    def _apply_remote(self, update: bytes) -> None:
        self._doc.apply_update(update)

    def _adopt_own_client_id(self) -> None:
        """Move to a doc whose client id is small and unused (see the module docstring)."""
        used = _state_vector_clients(self._doc.get_state()) | self._present
        client_id = 0
        while client_id == 0 or client_id in used:
            client_id = secrets.randbelow(AI_CLIENT_ID_LIMIT)
        doc: Doc = Doc(client_id=client_id)
        doc.apply_update(self._doc.get_update())
        self._doc = doc
        self._text = doc.get(CONTENT, type=Text)
        self._subscriptions = [
            (doc, doc.observe(self._on_transaction)),
            (self._text, self._text.observe(self._on_text_change)),
        ]

    def _on_transaction(self, event: TransactionEvent) -> None:
        if self._local:
            self._captured.append(event.update)

    def _on_text_change(self, event: TextEvent) -> None:
        """Move the sticky position through a remote change (delta counts are UTF-8 bytes)."""
        if self._local:
            return
        position = self._position
        moved: int | None = None
        old_at = new_at = 0
        for op in event.delta:
            if "retain" in op:
                size = op["retain"]
                if position is not None and moved is None and old_at + size >= position:
                    moved = new_at + position - old_at
                old_at += size
                new_at += size
            elif "delete" in op:
                size = op["delete"]
                if position is not None and moved is None and old_at + size >= position:
                    moved = new_at
                old_at += size
            elif "insert" in op:
                inserted = op["insert"]
                size = len(inserted.encode("utf-8")) if isinstance(inserted, str) else 1
                if position is not None and moved is None and old_at >= position:
                    moved = new_at  # text typed at the position goes after it
                new_at += size
        if position is not None:
            self._position = moved if moved is not None else new_at + position - old_at

    # Writing ------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The document's current `Y.Text "content"`."""
        return str(self._text)

    @property
    def error(self) -> PeerClosed | None:
        """Why the connection ended without the peer asking (None while it is fine)."""
        return self._failure

    @property
    def client_id(self) -> int:
        """The Yjs client id of the peer's edits (record it to find the task's text later)."""
        return self._doc.client_id

    @property
    def position(self) -> int | None:
        """Where the next write goes, as a `str` index (None before `anchor`)."""
        if self._position is None:
            return None
        return len(str(self._text).encode("utf-8")[: self._position].decode("utf-8"))

    def anchor(self, index: int | None) -> None:
        """Stick the write position at `index` (a `str` index; None = end of the text)."""
        self._require_open()
        current = str(self._text)
        if index is None:
            index = len(current)
        if not 0 <= index <= len(current):
            raise IndexError(f"position {index} is outside 0..{len(current)}")
        self._position = utf8_offset(current, index)
        self._cursor_id = self._id_before(current, index)
        self._awareness_dirty = True
        self._wake.set()

    async def write(self, piece: str) -> None:
        """Insert `piece` at the sticky position as the task's text and move past it."""
        self._require_open()
        if not piece:
            return
        if self._position is None:
            self.anchor(None)
        assert self._position is not None
        at = self._position
        update = self._edit(
            lambda: self._text.insert(at, piece, {AI_ATTRIBUTE: self.identity.task_id})
        )
        self._position = at + len(piece.encode("utf-8"))
        self._after_write(piece, update)
        await asyncio.sleep(0)  # let the reader and the sender run between pieces

    async def replace(self, start: int, end: int, text: str) -> None:
        """Replace `[start, end)` (`str` indices) with `text`, written as the task's text."""
        self._require_open()
        current = str(self._text)
        if not 0 <= start <= end <= len(current):
            raise IndexError(f"range {start}..{end} is outside 0..{len(current)}")
        first, last = utf8_offset(current, start), utf8_offset(current, end)

        def edit() -> None:
            if last > first:
                del self._text[first:last]
            if text:
                self._text.insert(first, text, {AI_ATTRIBUTE: self.identity.task_id})

        update = self._edit(edit)
        self._position = first + len(text.encode("utf-8"))
        if text:
            self._after_write(text, update)
        else:
            self._cursor_id = self._id_before(str(self._text), start)
            self._queue(update)
        await asyncio.sleep(0)

    async def set_identity(self, **user_fields: Any) -> None:
        """Change awareness user fields (e.g. `label="offline"`, `model=...`); None removes one."""
        for key, value in user_fields.items():
            if key in ("kind", "task_id"):
                raise ValueError(f"{key!r} is fixed for an AI peer")
            if value is None:
                self._user.pop(key, None)
            else:
                self._user[key] = value
        self._awareness_dirty = self._announced
        self._wake.set()
        await asyncio.sleep(0)

    def _require_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._ended.is_set() or self._leaving:
            raise PeerClosed(None, "the peer is closed")
        if not self._synced.is_set():
            raise RuntimeError("use the peer inside `async with` (it has not synced yet)")

    def _edit(self, change: Callable[[], None]) -> bytes:
        """Run `change` in a transaction whose origin is the task; return its update."""
        self._captured.clear()
        self._local = True
        try:
            with self._doc.transaction(origin=self.identity.task_id):
                change()
        finally:
            self._local = False
        updates, self._captured = self._captured, []
        if not updates:
            return b""
        return updates[0] if len(updates) == 1 else merge_updates(*updates)

    def _after_write(self, written: str, update: bytes) -> None:
        self.written += len(written)
        client_id = self._doc.client_id
        blocks, _ = decode_update(update)
        mine = [b for b in blocks if b.client == client_id and b.is_text]
        if mine:
            last = max(mine, key=lambda block: block.clock)
            self._cursor_id = (client_id, last.clock + last.length - 1)
        self._awareness_dirty = True
        self._queue(update)

    def _queue(self, update: bytes) -> None:
        if update:
            self._updates.append(update)
            self._wake.set()

    def _id_before(self, current: str, index: int) -> tuple[int, int] | None:
        """The Yjs id of the last UTF-16 unit before `index`: deleting that character in a
        scratch copy names it in the delete set (pycrdt exposes no item ids)."""
        if index == 0:
            return None

        def delete_it(scratch: Doc) -> None:
            text = scratch.get(CONTENT, type=Text)
            del text[utf8_offset(current, index - 1) : utf8_offset(current, index)]

        for update in updates_from(self._doc.get_update(), delete_it):
            _, deletes = decode_update(update)
            for client, ranges in deletes.items():
                for clock, length in ranges:
                    return (client, clock + length - 1)
        return None

    # Sending ------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        assert self._ws is not None
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                async with self._send_lock:
                    for frame in self._take_frames():
                        await self._ws.send(frame)
                if self._frame_interval_s > 0:
                    await asyncio.sleep(self._frame_interval_s)  # later pieces are merged
        except ConnectionClosed:
            return  # the reader reports why
        except Exception as exc:  # never leave writes queued on a sender that died quietly
            log.exception("sending to the sync server failed")
            self._failure = self._failure or PeerClosed(None, f"sending failed: {exc}")
            await self._ws.close()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self._awareness_renew_s)
            self._awareness_dirty = True
            self._wake.set()

    def _take_frames(self) -> list[bytes]:
        frames, self._control = self._control, []
        if self._updates:
            updates, self._updates = self._updates, []
            merged = updates[0] if len(updates) == 1 else merge_updates(*updates)
            frames.append(protocol.sync_update(merged))
        if self._awareness_dirty and self._announced:
            self._awareness_dirty = False
            frames.append(self._awareness_frame(self._awareness_state()))
        return frames

    def _awareness_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"user": dict(self._user)}
        if self._position is not None:
            item = None
            if self._cursor_id is not None:
                item = {"client": self._cursor_id[0], "clock": self._cursor_id[1]}
            relative = {"type": None, "tname": CONTENT, "item": item, "assoc": -1}
            state["cursor"] = {"anchor": relative, "head": relative}
        return state

    def _awareness_frame(self, state: dict[str, Any] | None) -> bytes:
        self._awareness_clock += 1
        encoded = "null" if state is None else json.dumps(state, ensure_ascii=False)
        entry = protocol.AwarenessEntry(self._doc.client_id, self._awareness_clock, encoded)
        return protocol.awareness([entry])
