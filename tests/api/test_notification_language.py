"""Notifications in the reader's language: a message key and parameters are stored, the REST list
renders them by `Accept-Language` and the socket by its `lang` (or its handshake's header);
rows from before (no key) keep their Chinese text. On SQLite: SQL is not the subject here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets

from api.services.notification_texts import _TEXTS, Message, render
from storage.sql.models import Notification, Task
from tests.api.test_works import make_work, ok, share
from tests.jobs.helpers import Inbox
from tests.support.api import Account, Api

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


async def shown(api: Api, who: Account, lang: str | None) -> list[tuple[str, str]]:
    headers = {"Accept-Language": lang} if lang else {}
    page = ok(await api.call("GET", "/api/v1/notifications", who, headers=headers))
    return [(item["title"], item["body"]) for item in page["items"]]


@sqlite_only
async def test_the_list_speaks_the_readers_language_and_old_rows_stay_chinese(api: Api) -> None:
    owner, member = await api.sign_up(), await api.sign_up()
    async with api.app.adapters.database.session() as session:
        session.add(
            Notification(
                user_id=member.id,
                kind="system",
                title="旧的通知",
                body="迁移之前写的",
                data={},
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
    work = await make_work(api, owner, title="雪国")
    await share(api, owner, work["id"], member, "editor")
    assert await shown(api, member, None) == [
        ("你被邀请参与《雪国》", "你的角色：编辑者（可写）。"),
        ("旧的通知", "迁移之前写的"),
    ]
    assert await shown(api, member, "en-US,en;q=0.9") == [
        ("You were invited to “雪国”", "Your role: editor (may write)."),
        ("旧的通知", "迁移之前写的"),
    ]


@sqlite_only
async def test_the_socket_speaks_its_lang_or_its_handshakes_language(api: Api) -> None:
    owner, member = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner, title="雪国")
    await share(api, owner, work["id"], member, "editor")
    base = f"ws://127.0.0.1:{api.app.port}/api/v1/notifications/ws?token={member.token}"
    path = f"/api/v1/works/{work['id']}/members/{member.id}"
    async with (
        websockets.connect(f"{base}&lang=en") as by_param,
        websockets.connect(base, additional_headers={"Accept-Language": "en"}) as by_header,
        websockets.connect(base) as chinese,
    ):
        inboxes = [Inbox(socket) for socket in (by_param, by_header, chinese)]
        for inbox in inboxes:
            assert (await inbox.next())["type"] == "hello"
        ok(await api.call("PATCH", path, owner, json={"role": "viewer"}))
        views = [(await inbox.notification(change="role"))["notification"] for inbox in inboxes]
    assert [(view["title"], view["body"]) for view in views] == [
        ("Your role on “雪国” changed", "New role: viewer (read only)."),
        ("Your role on “雪国” changed", "New role: viewer (read only)."),
        ("你在《雪国》中的角色已变更", "新角色：只读成员。"),
    ]
    assert all("_message" not in view for view in views)


@sqlite_only
async def test_ai_tasks_and_failed_tasks_have_english_texts(api: Api) -> None:
    reader = await api.sign_up()
    notifier = api.app.services.notifier
    # What `ai_agents` tells through its `Notify` port: a Chinese title, the outcome in `data`.
    data = {"task_id": "t1", "status": "completed", "work_id": None, "type": "continue"}
    await notifier.notify(reader.id, "ai_task", "AI · 续写 已完成", "", data)
    failed = Task(id="t2", user_id=reader.id, kind="export", type="pdf", work_id=None)
    await notifier.task_failed(failed, "disk full")
    assert await shown(api, reader, "en") == [
        ("Export failed", "disk full"),
        ("AI · Continue finished", ""),
    ]
    assert await shown(api, reader, None) == [("导出失败", "disk full"), ("AI · 续写 已完成", "")]


def sample(key: str) -> dict[str, Any]:
    names = re.findall(r"\{(\w+)\}", "".join(_TEXTS[key]["zh"] + _TEXTS[key]["en"]))
    return {name: "x" for name in names}


def test_every_message_has_an_english_text_free_of_chinese() -> None:
    for key in _TEXTS:
        english = render(Message(key, sample(key)), "en")
        chinese = render(Message(key, sample(key)), "zh")
        assert english is not None and chinese is not None, key
        assert not CJK.search("".join(english)), (key, english)
        assert CJK.search("".join(chinese)), (key, chinese)
