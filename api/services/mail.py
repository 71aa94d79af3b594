"""Outgoing email. The embedded default writes each message to the log and to an outbox file."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxMailer:
    """Appends one JSON line per message to `outbox.jsonl` (read it to get codes locally)."""

    path: Path

    async def send(self, mail: Mail) -> None:
        line = json.dumps({**asdict(mail), "at": datetime.now(UTC).isoformat()}, ensure_ascii=False)

        def write() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")

        await asyncio.to_thread(write)
        log.info("mail written to the outbox", extra={"to": mail.to, "subject": mail.subject})

    def read(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]


class SMTPMailer:
    """Sends through an SMTP server: `smtp://user:password@host:587?starttls=true` or `smtps://`."""

    def __init__(self, url: str, sender: str, *, timeout_s: float = 30) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("INKWEAVE_SMTP_URL must look like smtp://user:pw@host:port")
        self._tls = parsed.scheme == "smtps"
        self._starttls = parse_qs(parsed.query).get("starttls", ["false"])[0] == "true"
        self._host = parsed.hostname
        self._port = parsed.port or (465 if self._tls else 25)
        self._user = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else None
        self._sender = sender
        self._timeout_s = timeout_s

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp_class = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        kwargs = {"context": context} if self._tls else {}
        with smtp_class(self._host, self._port, timeout=self._timeout_s, **kwargs) as smtp:
            if self._starttls:
                smtp.starttls(context=context)
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body, charset="utf-8")
        await asyncio.to_thread(self._send, message)
        log.info("mail sent", extra={"to": mail.to, "subject": mail.subject})
