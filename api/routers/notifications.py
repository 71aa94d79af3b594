"""`/api/v1/notifications`: the caller's notifications, and a WebSocket that pushes new ones.

WebSocket `/api/v1/notifications/ws?token=ACCESS_TOKEN&lang=en` (browsers cannot set headers on a
WebSocket; without `lang`, the handshake's `Accept-Language` chooses, Chinese by default: titles
and bodies come in that language, as the REST list's do by `Accept-Language`). JSON text frames
from the server:

- `{"type": "hello", "unread": N}` once connected;
- `{"type": "notification", "notification": {...}, "unread": N}` for each new one;
- `{"type": "pong"}` in answer to a client's `{"type": "ping"}`.

The socket closes with 4401 for a missing, invalid, revoked or expired token (also when the token
expires while connected), with 4403 for a disabled account, and with 4429 when its user or address
already holds `INKWEAVE_WS_CONNECTIONS_PER_USER` / `_PER_ADDRESS` open sockets (these and `/sync`'s
together).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from sync_server.auth import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from sync_server.limits import CLOSE_TOO_MANY, TooManySockets

from ..client_address import client_address
from ..deps import Auth, BusDep, CurrentUser, NotificationsDep, SettingsDep, SocketsDep
from ..envelope import success, wants_english
from ..errors import AppError, Err
from ..schemas import Envelope, IdField, IdPath, Page, PageQuery
from ..security.authenticator import Authenticator, NotAuthenticated, Refusal
from ..services.notification_texts import Lang
from ..services.notifications import (
    HUB,
    Listener,
    Notifications,
    bus_handler,
    channel,
    localized,
    notification_view,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description="export, import, ai_task, invitation, work_member, membership…")
    title: str
    body: str
    data: dict[str, Any] = Field(description="What the notification is about: task_id, work_id…")
    read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationQuery(PageQuery):
    unread: bool = Field(False, description="Only the unread ones")


class UnreadOut(BaseModel):
    unread: int


class MarkIn(BaseModel):
    ids: list[IdField] = Field(min_length=1, max_length=500)


class MarkedOut(BaseModel):
    updated: int
    unread: int


def reader_lang(request: Request) -> Lang:
    """The language titles and bodies are shown in: as the API's messages (`Accept-Language`)."""
    return "en" if wants_english(request) else "zh"


@router.get(
    "",
    response_model=Envelope[Page[NotificationOut]],
    summary="Newest first; titles and bodies in the Accept-Language (zh by default, or en)",
)
async def list_notifications(
    request: Request,
    query: Annotated[NotificationQuery, Query()],
    user: CurrentUser,
    notifications: NotificationsDep,
) -> dict[str, object]:
    total, rows = await notifications.list(
        user.id, offset=query.offset, limit=query.page_size, unread_only=query.unread
    )
    lang = reader_lang(request)
    items = [notification_view(row, lang) for row in rows]
    return success(
        {"total": total, "page": query.page, "page_size": query.page_size, "items": items}
    )


@router.get("/unread-count", response_model=Envelope[UnreadOut])
async def unread_count(user: CurrentUser, notifications: NotificationsDep) -> dict[str, object]:
    return success({"unread": await notifications.unread_count(user.id)})


@router.post("/read", response_model=Envelope[MarkedOut], summary="Mark some read")
async def mark_read(
    body: MarkIn, user: CurrentUser, notifications: NotificationsDep
) -> dict[str, object]:
    service = notifications
    updated = await service.mark_read(user.id, body.ids)
    return success({"updated": updated, "unread": await service.unread_count(user.id)})


@router.post("/read-all", response_model=Envelope[MarkedOut], summary="Mark all read")
async def mark_all_read(user: CurrentUser, notifications: NotificationsDep) -> dict[str, object]:
    service = notifications
    updated = await service.mark_all_read(user.id)
    return success({"updated": updated, "unread": await service.unread_count(user.id)})


@router.post("/{notification_id}/read", response_model=Envelope[NotificationOut])
async def mark_one_read(
    request: Request, notification_id: IdPath, user: CurrentUser, notifications: NotificationsDep
) -> dict[str, object]:
    service = notifications
    if await service.get(user.id, notification_id) is None:
        raise AppError(Err.NOT_FOUND, f"no notification {notification_id}")
    await service.mark_read(user.id, [notification_id])
    row = await service.get(user.id, notification_id)
    assert row is not None
    return success(notification_view(row, reader_lang(request)))


# Live -----------------------------------------------------------------------------------------


def _close_for(refusal: NotAuthenticated) -> tuple[int, str]:
    """A refused token as the socket's close: 4401, or 4403 for a disabled account."""
    match refusal.refusal:
        case Refusal.NO_TOKEN:
            return CLOSE_UNAUTHENTICATED, "token query parameter is required"
        case Refusal.REVOKED:
            return CLOSE_UNAUTHENTICATED, "token revoked"
        case Refusal.DISABLED:
            return CLOSE_FORBIDDEN, "this account is disabled"
        case _:
            return CLOSE_UNAUTHENTICATED, str(refusal)


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message, ensure_ascii=False))


def _socket_lang(websocket: WebSocket, lang: str | None) -> Lang:
    chosen = lang or websocket.headers.get("accept-language", "")
    return "en" if chosen.strip().lower().startswith("en") else "zh"


async def _forward(
    websocket: WebSocket, notifications: Notifications, listener: Listener, lang: Lang
) -> None:
    while True:
        view = localized(await listener.queue.get(), lang)
        unread = await notifications.unread_count(listener.user_id)
        await _send(websocket, {"type": "notification", "notification": view, "unread": unread})


async def _answer(websocket: WebSocket) -> None:
    while True:
        text = await websocket.receive_text()
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(text).get("type") == "ping":
                await _send(websocket, {"type": "pong"})


async def _recheck(
    websocket: WebSocket, auth: Authenticator, token: str | None, every_s: float
) -> None:
    """Close the socket once its token is revoked or its account disabled (as /sync does)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await auth.user(token)
        except NotAuthenticated as refusal:
            await websocket.close(*_close_for(refusal))
            return


@router.websocket("/ws")
async def notifications_socket(
    websocket: WebSocket,
    auth: Auth,
    notifications: NotificationsDep,
    bus: BusDep,
    settings: SettingsDep,
    sockets: SocketsDep,
    token: str | None = None,
    lang: str | None = None,
) -> None:
    await websocket.accept()
    try:
        principal = await auth.user(token)
    except NotAuthenticated as refusal:
        await websocket.close(*_close_for(refusal))
        return
    user, expires_at = principal.user, principal.claims.expires_at
    try:
        uncount = sockets.open(str(user.id), client_address(websocket))
    except TooManySockets as refusal:
        await websocket.close(CLOSE_TOO_MANY, refusal.reason)
        return
    listener = Listener(user.id)
    HUB.add(listener)  # before counting unread: nothing falls between the count and the feed
    handler = bus_handler(listener)
    await bus.subscribe(channel(user.id), handler)
    jobs = []
    try:
        unread = await notifications.unread_count(user.id)
        await _send(websocket, {"type": "hello", "unread": unread})
        jobs = [
            asyncio.create_task(
                _forward(websocket, notifications, listener, _socket_lang(websocket, lang))
            ),
            asyncio.create_task(_answer(websocket)),
            asyncio.create_task(_recheck(websocket, auth, token, settings.membership_recheck_s)),
        ]
        done, _pending = await asyncio.wait(
            jobs, timeout=max(0.0, expires_at - time.time()), return_when="FIRST_COMPLETED"
        )
        if not done:
            await websocket.close(CLOSE_UNAUTHENTICATED, "token expired")
    except WebSocketDisconnect:
        pass
    finally:
        uncount()
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await job
        HUB.remove(listener)
        await bus.unsubscribe(channel(user.id), handler)
