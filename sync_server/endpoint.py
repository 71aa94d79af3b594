"""The `/sync/{doc}` WebSocket endpoint: y-websocket clients connect here unchanged.

`new WebsocketProvider(base + '/sync', doc, ydoc, {params: {token}})` opens
`/sync/<doc>?token=...`. The document name is the percent-decoded rest of the path, without the
mount prefix.

`SyncRoute` hands those sockets to the endpoint ahead of an app's HTTP middleware and routing,
which a socket never needs; whatever a socket does need (the client's address) goes outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from storage.docs.base import StoreUnavailable

from . import protocol
from .auth import Access, Authorizer, Grant
from .connection import CLOSE_TRY_AGAIN, Connection
from .direct_send import direct_writer
from .limits import CLOSE_TOO_MANY, UNCOUNTED, SocketLimits, TooManySockets, Uncount
from .metrics import SyncMetrics
from .room import Room
from .rooms import RoomManager

log = logging.getLogger(__name__)

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED = 1003
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011


@dataclass(frozen=True, slots=True)
class EndpointLimits:
    max_message_bytes: int
    send_queue_limit: int
    reauthorize_every_s: float | None = None


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _close_reason(reason: str) -> str:
    """A WebSocket close reason is at most 123 bytes of UTF-8."""
    encoded = reason.encode("utf-8")[:123]
    return encoded.decode("utf-8", errors="ignore")


class SyncEndpoint:
    def __init__(
        self,
        rooms: RoomManager,
        authorizer: Authorizer,
        metrics: SyncMetrics,
        limits: EndpointLimits,
        sockets: SocketLimits | None = None,
    ) -> None:
        """`sockets` counts open sockets per principal and address (shared with the app's
        other sockets); the address is the connection's client, as the app resolved it."""
        self._rooms = rooms
        self._authorizer = authorizer
        self._metrics = metrics
        self._limits = limits
        self._sockets = sockets or SocketLimits()
        # Per principal, the wake-ups of its sockets' re-authorization loops.
        self._rechecks: dict[str, set[asyncio.Event]] = {}

    def recheck(self, principal: str) -> None:
        """`principal`'s access may just have changed (a role lowered, a removal): its open
        sockets on this node ask the authorizer again now, not at their next periodic check."""
        for wake in self._rechecks.get(principal, ()):
            wake.set()

    async def serve(self, websocket: WebSocket, *, receive: Receive, send: Send) -> None:
        """Serve one socket (`SyncRoute` hands it over). Once it is accepted, its frames come
        and go through the ASGI server's own `receive` and `send`, with no state checks per
        frame."""
        doc = websocket.path_params["doc"]
        await websocket.accept()
        if not doc:
            await websocket.close(CLOSE_PROTOCOL_ERROR, "no document named in the URL")
            return
        token = websocket.query_params.get("token")
        grant = await self._authorizer.authorize(token, doc)
        if grant.access is Access.DENY:
            await websocket.close(grant.close_code, _close_reason(grant.reason or "denied"))
            return
        try:
            uncount = self._count_socket(websocket, grant)
        except TooManySockets as refusal:
            await websocket.close(CLOSE_TOO_MANY, _close_reason(refusal.reason))
            return

        async def close(code: int, reason: str) -> None:
            await websocket.close(code, _close_reason(reason))

        async def send_frame(frame: bytes) -> None:
            await send({"type": "websocket.send", "bytes": frame})

        conn = Connection(
            send_bytes=send_frame,
            write_now=direct_writer(send),
            close=close,
            access=grant.access,
            principal=grant.principal,
            queue_limit=self._limits.send_queue_limit,
            on_too_slow=self._metrics.closed_slow.inc,
            on_malformed=self._metrics.closed_malformed.inc,
            on_presence_refused=self._metrics.awareness_refused.inc,
        )
        self._metrics.connections.inc()
        room = self._rooms.acquire(doc)
        sender: asyncio.Task[None] | None = None
        watcher: asyncio.Task[None] | None = None
        failed = False
        try:
            try:
                await room.ready()
            except StoreUnavailable as exc:
                # Not this document's fault: y-websocket reconnects, and loads it once it is back.
                failed = True
                log.warning("could not load document: %s", exc, extra={"doc": doc})
                raise _Refused(CLOSE_TRY_AGAIN, "document store unavailable: reconnect") from None
            except Exception:
                failed = True
                log.exception("could not load document", extra={"doc": doc})
                raise _Refused(CLOSE_INTERNAL, "could not load the document") from None
            room.join(conn)
            sender = asyncio.create_task(conn.run_sender(), name=f"send:{doc}")
            watcher = asyncio.create_task(self._reauthorize(conn, token, doc))
            await self._receive_loop(receive, conn, room)
        except _Refused as refusal:
            conn.close(refusal.code, refusal.reason)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("sync connection failed", extra={"doc": doc})
            conn.close(CLOSE_INTERNAL, "internal error")
        finally:
            uncount()
            await conn.drain()
            room.leave(conn)
            self._rooms.release(room, failed=failed)
            self._metrics.connections.dec()
            await conn.wait_closed()
            for task in (sender, watcher):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _count_socket(self, websocket: WebSocket, grant: Grant) -> Uncount:
        if not grant.limited:
            return UNCOUNTED
        address = websocket.client.host if websocket.client else None
        return self._sockets.open(grant.principal, address)

    async def _reauthorize(self, conn: Connection, token: str | None, doc: str) -> None:
        """Roles change and tokens get revoked while sockets stay open: ask again when told
        (`recheck`), and regularly (`reauthorize_every_s`) for what nobody announces (expiry)."""
        wake = asyncio.Event()
        key = conn.principal or ""
        self._rechecks.setdefault(key, set()).add(wake)
        me = asyncio.current_task()
        try:
            # A cancellation (the socket is gone) can be swallowed on its way: by a timeout
            # expiring at the same moment, or by a database driver that was awaiting. The
            # request still shows in `cancelling()`, so the loop asks for it every round.
            while not conn.closed and not (me is not None and me.cancelling()):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._limits.reauthorize_every_s):
                        await wake.wait()
                wake.clear()
                if me is not None and me.cancelling():
                    return
                if not await self._apply_grant(conn, token, doc):
                    return
        finally:
            watching = self._rechecks.get(key)
            if watching is not None:
                watching.discard(wake)
                if not watching:
                    del self._rechecks[key]

    async def _apply_grant(self, conn: Connection, token: str | None, doc: str) -> bool:
        """Ask the authorizer again and act on it; False once the socket is closed for it."""
        try:
            grant = await self._authorizer.authorize(token, doc)
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                return False  # cancelled mid-query: a driver's error of its own, not a refusal
            log.exception("re-authorization failed; keeping the last decision")
            return True
        if grant.access is Access.DENY:
            conn.close(grant.close_code, grant.reason or "access withdrawn")
            return False
        if grant.access is not conn.access:
            conn.access = grant.access
            conn.denied_notified = not conn.can_write
            if not conn.can_write:
                # Told at once, so an editor turns read-only before it types what would be lost.
                conn.send(protocol.permission_denied("read-only access to this document"))
        return True

    async def _receive_loop(self, receive: Receive, conn: Connection, room: Room) -> None:
        # Until the peer disconnects or the server closes it: a peer that stopped reading may
        # still have sent updates, and those are stored.
        while not conn.closing:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            frame = event.get("bytes")
            if frame is None:
                self._metrics.closed_malformed.inc()
                raise _Refused(
                    CLOSE_UNSUPPORTED, "text frames are not part of the y-websocket protocol"
                )
            limit = self._limits.max_message_bytes
            if len(frame) > limit:
                self._metrics.closed_malformed.inc()
                raise _Refused(CLOSE_TOO_BIG, f"frame of {len(frame)} bytes exceeds {limit}")
            try:
                await room.handle(conn, protocol.parse_message(frame))
            except protocol.ProtocolError as exc:
                self._metrics.closed_malformed.inc()
                log.info(
                    "closing a connection for a malformed frame",
                    extra={"doc": room.name, "error": str(exc)},
                )
                raise _Refused(CLOSE_PROTOCOL_ERROR, f"malformed message: {exc}") from None


class SyncRoute:
    """ASGI middleware: a WebSocket under `prefix` goes straight to `endpoint`, with the rest
    of its path as the `doc` path parameter; everything else goes on to `app`."""

    def __init__(self, app: ASGIApp, *, endpoint: SyncEndpoint, prefix: str = "/sync/") -> None:
        self.app = app
        self.endpoint = endpoint
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = _route_path(scope)
            if path.startswith(self.prefix):
                scope["path_params"] = {"doc": path[len(self.prefix) :]}
                websocket = WebSocket(scope, receive, send)
                await self.endpoint.serve(websocket, receive=receive, send=send)
                return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path without the app's mount point (`root_path`), as a router matches it."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path
