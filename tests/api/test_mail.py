"""Verification codes by real SMTP, against a local SMTP server the test runs."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default

from api.settings import Settings
from tests.support.api import PASSWORD, Api
from tests.support.inprocess import running_app
from tests.support.smtp import SmtpInbox


async def test_codes_are_emailed_over_smtp_in_utf8(
    settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, port = smtp
    configured = settings.model_copy(
        update={
            "smtp_url": f"smtp://127.0.0.1:{port}",
            "mail_from": "墨织 <no-reply@inkweave.test>",
        }
    )
    async with running_app(configured) as app:
        client = Api(app)
        sent = await client.call("POST", "/api/v1/auth/code", json={"email": "dai@example.com"})
        assert sent.status_code == 200
        assert len(inbox.messages) == 1
        sender, recipients, raw = inbox.messages[0]
        assert recipients == ["dai@example.com"] and "no-reply@inkweave.test" in sender
        message = message_from_bytes(raw, policy=default)
        assert message["Subject"] == "Inkweave 注册验证码"
        body = message.get_content()
        code = re.search(r"\b(\d{6})\b", body)
        assert code and "验证码" in body
        registered = await client.call(
            "POST",
            "/api/v1/auth/register",
            json={
                "username": "黛玉",
                "email": "dai@example.com",
                "password": PASSWORD,
                "code": code.group(1),
            },
        )
        assert registered.status_code == 201
        assert not (settings.data_dir / "outbox.jsonl").exists()
        await client.close()
