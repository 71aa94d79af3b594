"""Notifications: stored per user (list, unread, mark read), pushed live over a per-user socket
(in this process and from other processes through the Redis bus), and emailed over real SMTP."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from email import message_from_bytes
from email.policy import default

import pytest
import websockets
from sqlalchemy import select

from api.services.notifications import PROCESS_ID, channel, drain_emails
from api.settings import Settings
from storage.bus.redis import RedisBus
from storage.sql.models import Notification
from tests.api.test_works import make_work, ok, refused, share
from tests.jobs.helpers import notification_socket
from tests.support.api import Api
from tests.support.inprocess import RunningApp, running_app
from tests.support.smtp import SmtpInbox
from tests.support.waiting import DEADLINE_S

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_list_unread_and_mark_read(api: Api) -> None:
    reader, other = await api.sign_up(), await api.sign_up()
    notify = api.app.services.notifier.notify
    made = [await notify(reader.id, "system", f"通知 {n}", "正文", {"n": n}) for n in range(5)]
    theirs = await notify(other.id, "system", "别人的", "")

    page = ok(await api.call("GET", "/api/v1/notifications?page=1&page_size=2", reader))
    assert page["total"] == 5 and page["page_size"] == 2
    assert [item["title"] for item in page["items"]] == ["通知 4", "通知 3"]
    second = ok(await api.call("GET", "/api/v1/notifications?page=3&page_size=2", reader))
    assert [item["data"] for item in second["items"]] == [{"n": 0}]
    assert ok(await api.call("GET", "/api/v1/notifications/unread-count", reader)) == {"unread": 5}

    one = ok(await api.call("POST", f"/api/v1/notifications/{made[1]['id']}/read", reader))
    assert one["read"] is True and one["read_at"] is not None
    marked = ok(
        await api.call(
            "POST",
            "/api/v1/notifications/read",
            reader,
            json={"ids": [made[1]["id"], theirs["id"]]},
        )
    )
    assert marked == {"updated": 0, "unread": 4}  # already read; not theirs to mark
    refused(await api.call("POST", f"/api/v1/notifications/{theirs['id']}/read", reader), 404)
    unread = ok(await api.call("GET", "/api/v1/notifications?unread=true", reader))
    assert {item["id"] for item in unread["items"]} == {m["id"] for m in made} - {made[1]["id"]}

    assert ok(await api.call("POST", "/api/v1/notifications/read-all", reader)) == {
        "updated": 4,
        "unread": 0,
    }
    assert ok(await api.call("GET", "/api/v1/notifications?unread=true", reader))["total"] == 0
    assert ok(await api.call("GET", "/api/v1/notifications/unread-count", other)) == {"unread": 1}
    refused(await api.call("GET", "/api/v1/notifications", None), 401)
    refused(await api.call("POST", "/api/v1/notifications/read", reader, json={"ids": []}), 422)


async def test_invitations_and_role_changes_arrive_live(api: Api) -> None:
    owner, member = await api.sign_up("宝玉"), await api.sign_up("黛玉")
    work_id = (await make_work(api, owner, title="红楼"))["work_id"]
    async with notification_socket(api, member) as inbox:
        await share(api, owner, work_id, member, "editor")
        invited = await inbox.notification(work_id=work_id, change="invited")
        assert invited["notification"]["kind"] == "invitation"
        assert invited["notification"]["title"] == "你被邀请参与《红楼》"
        assert invited["unread"] == 1
        path = f"/api/v1/works/{work_id}/members/{member.id}"
        ok(await api.call("PATCH", path, owner, json={"role": "viewer"}))
        changed = await inbox.notification(change="role")
        assert changed["notification"]["data"]["role"] == "viewer"
        ok(await api.call("DELETE", path, owner))
        removed = await inbox.notification(change="removed")
        assert removed["notification"]["title"] == "你已被移出《红楼》"
        assert removed["unread"] == 3
        await inbox.socket.send(json.dumps({"type": "ping"}))
        assert await inbox.next() == {"type": "pong"}
    assert ok(await api.call("GET", "/api/v1/notifications/unread-count", owner)) == {"unread": 0}


async def test_the_socket_refuses_bad_tokens(api: Api) -> None:
    account = await api.sign_up()
    base = f"ws://127.0.0.1:{api.app.port}/api/v1/notifications/ws"
    ok(await api.call("POST", "/api/v1/auth/logout", account))
    for url in (base, f"{base}?token=forged.token.here", f"{base}?token={account.token}"):
        async with websockets.connect(url) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), DEADLINE_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_notifications_from_other_processes_arrive_over_the_bus(
    settings: Settings,
) -> None:
    prefix = f"inkweave-test-{uuid.uuid4().hex[:8]}:"
    with_redis = settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    async with running_app(with_redis) as app:
        api = Api(app)
        reader = await api.sign_up()
        elsewhere = RedisBus(REDIS_URL, prefix=prefix)  # what a worker process would publish on
        await elsewhere.start()
        try:
            async with notification_socket(api, reader) as inbox:

                async def publish(origin: str, id_: int) -> None:
                    view = {"id": id_, "kind": "export", "title": f"来自 {origin}", "data": {}}
                    payload = {"origin": origin, "notification": view}
                    await elsewhere.publish(channel(reader.id), json.dumps(payload).encode())

                await publish(PROCESS_ID, 10**9)  # this process already delivered its own
                await publish("another-process", 10**9 + 1)
                await publish("a-third-process", 10**9 + 1)  # the same one by another way
                await publish("another-process", 10**9 + 2)
                first, second = await inbox.next(), await inbox.next()
                assert [first["notification"]["id"], second["notification"]["id"]] == [
                    10**9 + 1,
                    10**9 + 2,
                ]
        finally:
            await elsewhere.close()
            await api.close()


class SmtpApi(Api):
    """Reads sign-up codes from the local SMTP server's inbox instead of the outbox file."""

    def __init__(self, app: RunningApp, mailbox: SmtpInbox) -> None:
        super().__init__(app)
        self.mailbox = mailbox

    def last_code(self, email: str) -> str:
        for _sender, recipients, raw in reversed(self.mailbox.messages):
            if email in recipients:
                body = message_from_bytes(raw, policy=default).get_content()
                match = re.search(r"\b(\d{6})\b", body)
                assert match, body
                return match.group(1)
        raise AssertionError(f"no mail to {email}")


async def test_important_notifications_are_emailed(
    settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    mailbox, port = smtp
    settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    async with running_app(settings) as app:
        api = SmtpApi(app, mailbox)
        owner, member = await api.sign_up(), await api.sign_up()  # codes read from the mailbox
        mailbox.messages.clear()
        await app.services.notifier.notify(member.id, "export", "《红楼》导出完成", "不发邮件")
        work_id = (await make_work(api, owner, title="红楼"))["work_id"]
        await share(api, owner, work_id, member, "viewer")
        await drain_emails()  # both notifications were stored; every email they started is done
        assert len(mailbox.messages) == 1
        _sender, recipients, raw = mailbox.messages[0]
        assert recipients == [member.email]
        message = message_from_bytes(raw, policy=default)
        assert message["Subject"] == "Inkweave：你被邀请参与《红楼》"
        assert "只读成员" in message.get_content()
        async with app.adapters.database.session() as session:
            rows = list(
                await session.scalars(
                    select(Notification)
                    .where(Notification.user_id == member.id)
                    .order_by(Notification.id)
                )
            )
        assert [(row.kind, row.emailed_at is not None) for row in rows] == [
            ("export", False),
            ("invitation", True),
        ]
        await api.close()


async def test_the_socket_closes_when_its_token_is_revoked(api: Api) -> None:
    account = await api.sign_up()
    async with notification_socket(api, account) as inbox:
        ok(await api.call("POST", "/api/v1/auth/logout", account))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(inbox.socket.recv(), DEADLINE_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
