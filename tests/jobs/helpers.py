"""Steps the job tests share: polling a task over HTTP, reading a notification socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote
from uuid import uuid4

import websockets
from pycrdt import Doc, Text

from api.adapters import Adapters
from storage.docs.schema import CONTENT
from tests.api.test_works import ok
from tests.support.api import Account, Api
from tests.support.waiting import DEADLINE_S, eventually

FINISHED = ("completed", "failed", "cancelled")


async def poll_task(api: Api, account: Account, path: str) -> tuple[dict[str, Any], list[int]]:
    """GET `path` until the task finishes; the final view and every progress value seen."""
    seen: list[int] = []

    async def finished() -> dict[str, Any] | None:
        view = ok(await api.call("GET", path, account))
        seen.append(view["progress"])
        return view if view["status"] in FINISHED else None

    view = await eventually(finished, what=f"the task at {path} to finish")
    return view, seen


def disposition_filename(header: str) -> str:
    assert header.isascii(), header
    return unquote(header.split("filename*=UTF-8''", 1)[1])


class Inbox:
    """A notification socket's messages, as they arrive."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket

    async def next(self, timeout: float = DEADLINE_S) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def notification(self, timeout: float = DEADLINE_S, **match: Any) -> dict[str, Any]:
        """The next notification whose `data` has every key/value of `match`."""
        while True:
            message = await self.next(timeout)
            if message["type"] != "notification":
                continue
            data = message["notification"]["data"]
            if all(data.get(key) == value for key, value in match.items()):
                return message


@asynccontextmanager
async def notification_socket(api: Api, account: Account) -> AsyncIterator[Inbox]:
    url = f"ws://127.0.0.1:{api.app.port}/api/v1/notifications/ws?token={account.token}"
    async with websockets.connect(url) as socket:
        inbox = Inbox(socket)
        hello = await inbox.next()
        assert hello["type"] == "hello", hello
        yield inbox


async def long_log(adapters: Adapters) -> tuple[str, str]:
    """A document whose update log is one update over the compaction threshold: its id and
    its text."""
    doc_id = f"chapter-{uuid4().hex}"
    doc: Doc = Doc()
    text = doc.get(CONTENT, type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for n in range(adapters.settings.compact_after_updates + 1):
        text += f"第{n}句。"
    for piece in updates:
        await adapters.store.append(doc_id, piece)
    return doc_id, str(text)
