"""Outgoing email. The embedded default writes each message to the log and to an outbox file."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class OutboxMailer:
    """Appends one JSON line per message to `outbox.jsonl` (read it to get codes locally)."""

    def __init__(self, path: Path) -> None:
        self.path = path

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
