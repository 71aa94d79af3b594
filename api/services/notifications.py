"""Notifications (brief §1.2.7): stored per user, pushed live, the important ones emailed.

`Notifier.notify(user_id, kind, title, body, data)` is the one way in, from any process: it stores
the notification, pushes it to the user's open `/api/v1/notifications/ws` sockets, and emails it
when its kind is one of `notification_email_kinds`.

Live delivery has two legs. In this process a `LiveHub` hands it to every socket of the user
(thread-safe: job threads and the app may run on different loops). Other processes and nodes get
it over the bus (Redis in production) on the channel `notify:{user_id}`; a node
drops what its own process published, and every socket drops a notification it already has, so
each one arrives once however many ways it travelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from storage.bus.base import Bus
from storage.sql.database import Database
from storage.sql.models import Notification, Task, User

from ..settings import Settings
from .mail import Mail, Mailer
from .notification_texts import Lang, Message, ai_task_message, render

log = logging.getLogger(__name__)

PROCESS_ID = uuid.uuid4().hex
KINDS = (
    "export",
    "import",
    "ai_task",
    "invitation",
    "work_member",
    "membership",
    "comment",
    "system",
)
_SEEN_PER_SOCKET = 256
_background: set[asyncio.Task[None]] = set()


def _in_background(email: Coroutine[Any, Any, None]) -> None:
    """Send without making the caller wait for the SMTP server; `drain_emails` waits for it."""
    job = asyncio.create_task(email)
    _background.add(job)
    job.add_done_callback(_background.discard)


def channel(user_id: int) -> str:
    return f"notify:{user_id}"


def notification_view(row: Notification, lang: Lang = "zh") -> dict[str, Any]:
    """The notification as a reader in `lang` sees it."""
    return localized(raw_view(row), lang)


def raw_view(row: Notification) -> dict[str, Any]:
    """The notification with its message (`_message`) for each socket to render in its reader's
    language: what is pushed, live and over the bus."""
    message = None
    if row.message_key:
        message = {"key": row.message_key, "params": row.message_params or {}}
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data or {},
        "read": row.read_at is not None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "created_at": row.created_at.isoformat(),
        "_message": message,
    }


def localized(view: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """`view` (a `raw_view`) with its title and body in `lang`; the stored (Chinese) ones where
    it has no message this server knows."""
    shown = {name: value for name, value in view.items() if name != "_message"}
    message = view.get("_message")
    if isinstance(message, dict):
        text = render(Message(str(message.get("key")), dict(message.get("params") or {})), lang)
        if text is not None:
            shown["title"], shown["body"] = text
    return shown


# Live delivery in this process ----------------------------------------------------------------


class Listener:
    """One socket's inbox: a queue on the socket's loop, fed from any thread, without repeats."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._seen: deque[int] = deque(maxlen=_SEEN_PER_SOCKET)

    def push(self, view: dict[str, Any]) -> None:
        """Thread-safe."""
        with contextlib.suppress(RuntimeError):  # the socket's loop is closed: it is gone
            self.loop.call_soon_threadsafe(self._put, view)

    def _put(self, view: dict[str, Any]) -> None:
        if view["id"] in self._seen:
            return
        self._seen.append(view["id"])
        self.queue.put_nowait(view)


class LiveHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, set[Listener]] = {}

    def add(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.setdefault(listener.user_id, set()).add(listener)

    def remove(self, listener: Listener) -> None:
        with self._lock:
            listeners = self._listeners.get(listener.user_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[listener.user_id]

    def deliver(self, user_id: int, view: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners.get(user_id, ()))
        for listener in listeners:
            listener.push(view)


HUB = LiveHub()


def bus_handler(listener: Listener) -> Callable[[bytes], None]:
    """What a socket subscribes on the bus: notifications published by other processes."""

    def handle(payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("unreadable notification on the bus")
            return
        if message.get("origin") != PROCESS_ID:
            listener.push(message["notification"])

    return handle


class Notifier:
    """The one way in, from any process: `notify` stores a notification, pushes it live, emails it
    if its kind is important."""

    def __init__(self, database: Database, bus: Bus, mailer: Mailer, settings: Settings) -> None:
        self.database = database
        self.bus = bus
        self.mailer = mailer
        self.email_kinds = (
            frozenset(settings.notification_email_kinds)
            if settings.notification_email
            else frozenset()
        )

    async def publish(self, user_id: int, view: dict[str, Any]) -> None:
        HUB.deliver(user_id, view)
        payload = json.dumps({"origin": PROCESS_ID, "notification": view}, ensure_ascii=False)
        await self.bus.publish(channel(user_id), payload.encode())

    def should_email(self, kind: str) -> bool:
        return kind in self.email_kinds

    async def _email(self, notification_id: int, user_id: int, title: str, body: str) -> None:
        try:
            async with self.database.session() as session:
                address = await session.scalar(select(User.email).where(User.id == user_id))
            if not address:
                return
            text = f"{title}\n\n{body}\n\n—— Inkweave" if body else f"{title}\n\n—— Inkweave"
            await self.mailer.send(Mail(to=address, subject=f"Inkweave：{title}", body=text))
            async with self.database.session() as session:
                await session.execute(
                    update(Notification)
                    .where(Notification.id == notification_id)
                    .values(emailed_at=datetime.now(UTC))
                )
        except Exception:
            log.exception("could not email a notification", extra={"notification": notification_id})

    async def notify(
        self,
        user_id: int,
        kind: str,
        title: str | Message,
        body: str = "",
        data: dict[str, Any] | None = None,
        *,
        email: bool | None = None,
    ) -> dict[str, Any]:
        """Store a notification for `user_id`, push it live, email it if its kind is important.

        `title` is a `Message` (its Chinese text is stored as the title and body too, for the
        email and older readers) or a plain title with `body`. `email` overrides the configured
        choice for this one. The email goes out in the background: the caller (a request, a job)
        does not wait for the SMTP server.
        """
        message = title if isinstance(title, Message) else None
        if message is None and kind == "ai_task":
            message = ai_task_message(data or {})
        if isinstance(title, Message):
            title, body = render(title, "zh") or (title.key, body)
        row = Notification(
            user_id=user_id,
            kind=kind[:30],
            title=title[:200],
            body=body,
            data=data or {},
            message_key=message.key if message else None,
            message_params=message.params if message else None,
            created_at=datetime.now(UTC),
        )
        async with self.database.session() as session:
            session.add(row)
            await session.flush()
            view = raw_view(row)
        try:
            await self.publish(user_id, view)
        except Exception:
            log.exception("could not push a notification", extra={"notification": view["id"]})
        if email if email is not None else self.should_email(kind):
            _in_background(self._email(view["id"], user_id, title, body))
        return localized(view, "zh")

    def email_in_background(self, address: str, subject: str, body: str) -> None:
        """Email someone who may have no account (an invitation) without waiting for the SMTP
        server; a failure is logged. `drain_emails` waits for it too."""
        _in_background(self._send_quietly(Mail(to=address, subject=subject, body=body)))

    async def _send_quietly(self, mail: Mail) -> None:
        try:
            await self.mailer.send(mail)
        except Exception:
            log.exception("could not send an email", extra={"subject": mail.subject})

    async def notify_quietly(
        self,
        user_id: int,
        kind: str,
        title: str | Message,
        body: str = "",
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """`notify` for callers whose own work must not fail because of it (logged instead)."""
        try:
            return await self.notify(user_id, kind, title, body, data)
        except Exception:
            log.exception("could not notify", extra={"user_id": user_id, "kind": kind})
            return None

    async def task_failed(self, task: Task, error: str) -> None:
        """The owner of a task that failed for good is told why."""
        key = f"{task.kind}.failed" if task.kind in _TASK_KINDS else "task.failed"
        await self.notify_quietly(
            task.user_id,
            _TASK_KINDS.get(task.kind, "system"),
            Message(key, {"error": error}),
            "",
            {"task_id": task.id, "work_id": task.work_id, "status": "failed", "type": task.type},
        )


async def drain_emails() -> None:
    """Wait until every notification email this loop has started is sent or given up on
    (shutdown, tests): afterwards, whatever was not sent was never going to be."""
    loop = asyncio.get_running_loop()
    while pending := [job for job in _background if job.get_loop() is loop and not job.done()]:
        await asyncio.gather(*pending, return_exceptions=True)


_TASK_KINDS = {"export": "export", "import": "import", "ai": "ai_task"}


# Reading and marking --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notifications:
    """A user's stored notifications: listed, counted, marked read."""

    database: Database

    async def list(
        self, user_id: int, *, offset: int, limit: int, unread_only: bool = False
    ) -> tuple[int, list[Notification]]:
        where = [Notification.user_id == user_id]
        if unread_only:
            where.append(Notification.read_at.is_(None))
        async with self.database.session() as session:
            total = await session.scalar(select(func.count(Notification.id)).where(*where))
            rows = list(
                await session.scalars(
                    select(Notification)
                    .where(*where)
                    .order_by(Notification.created_at.desc(), Notification.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            )
        return int(total or 0), rows

    async def unread_count(self, user_id: int) -> int:
        async with self.database.session() as session:
            count = await session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None)
                )
            )
        return int(count or 0)

    async def mark_read(self, user_id: int, ids: list[int]) -> int:
        """Mark the caller's notifications `ids` read; others' ids are ignored. Returns how many
        changed."""
        if not ids:
            return 0
        async with self.database.session() as session:
            result = await session.execute(
                update(Notification)
                .where(
                    Notification.user_id == user_id,
                    Notification.id.in_(ids),
                    Notification.read_at.is_(None),
                )
                .values(read_at=datetime.now(UTC))
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def mark_all_read(self, user_id: int) -> int:
        async with self.database.session() as session:
            result = await session.execute(
                update(Notification)
                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                .values(read_at=datetime.now(UTC))
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def get(self, user_id: int, notification_id: int) -> Notification | None:
        async with self.database.session() as session:
            row = await session.get(Notification, notification_id)
        return row if row is not None and row.user_id == user_id else None
