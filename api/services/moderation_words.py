"""The sensitive-word list that administrators change at runtime, on every node.

The shipped list (or `sensitive_words_file`) stays the base; `moderation_words` holds the
changes: words added (`blocked` 1) and shipped words taken out (`blocked` 0). A change is
committed, applied to this process's `LiveWords` at once, and announced on the bus channel
`moderation-words`, where every other process (nodes, `--workers`, job workers) reloads the list
from SQL: a reload reads what is committed, so nodes converge whatever order the news arrives in.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from ai_agents.moderation import LiveWords
from ai_agents.safety import fold
from storage.bus.base import Bus
from storage.sql.database import Database
from storage.sql.models import ModerationWord

from ..errors import AppError, Err

log = logging.getLogger(__name__)

CHANNEL = "moderation-words"
MAX_WORD_CHARS = 50


@dataclass(frozen=True, slots=True)
class WordEntry:
    word: str
    source: str  # shipped | added
    active: bool


@dataclass(slots=True)
class WordList:
    database: Database
    bus: Bus
    live: LiveWords
    _reloads: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        """Load the list and follow other processes' changes."""
        await self.reload()
        await self.bus.subscribe(CHANNEL, self._on_news)

    async def reload(self) -> None:
        async with self.database.session() as session:
            rows = list(await session.scalars(select(ModerationWord)))
        self.live.replace(
            added=[row.word for row in rows if row.blocked],
            removed=[row.word for row in rows if not row.blocked],
        )

    def _on_news(self, _payload: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._reload_logged())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("could not reload the moderation word list")

    def entries(self) -> list[WordEntry]:
        """Every word in force, and the shipped words taken out."""
        shipped = {fold(word): word for word in self.live.base.words}
        active = {fold(word): word for word in self.live.words}
        found = [
            WordEntry(word, "shipped" if key in shipped else "added", True)
            for key, word in active.items()
        ]
        found += [WordEntry(w, "shipped", False) for k, w in shipped.items() if k not in active]
        return sorted(found, key=lambda entry: (not entry.active, fold(entry.word)))

    async def add(self, admin_id: int, word: str) -> None:
        word = clean(word)
        key = fold(word)
        async with self.database.session() as session:
            row = await session.scalar(select(ModerationWord).where(ModerationWord.word_key == key))
            if key in self._shipped_keys():
                if row is not None:  # a shipped word taken out comes back
                    await session.delete(row)
            elif row is None:
                session.add(ModerationWord(word=word, word_key=key, blocked=1, created_by=admin_id))
        await self._changed()

    async def remove(self, admin_id: int, word: str) -> None:
        word = clean(word)
        key = fold(word)
        async with self.database.session() as session:
            if key in self._shipped_keys():
                row = await session.scalar(
                    select(ModerationWord).where(ModerationWord.word_key == key)
                )
                if row is None:
                    session.add(
                        ModerationWord(word=word, word_key=key, blocked=0, created_by=admin_id)
                    )
            else:
                result = await session.execute(
                    delete(ModerationWord).where(ModerationWord.word_key == key)
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    raise AppError(Err.NOT_FOUND, f"{word!r} is not on the list")
        await self._changed()

    def _shipped_keys(self) -> set[str]:
        return {fold(word) for word in self.live.base.words}

    async def _changed(self) -> None:
        await self.reload()
        await self.bus.publish(CHANNEL, b"changed")


def clean(word: str) -> str:
    word = word.strip()
    if not word or len(word) > MAX_WORD_CHARS or any(char in word for char in "\r\n\t"):
        raise AppError(Err.VALIDATION, f"a word is 1 to {MAX_WORD_CHARS} characters on one line")
    return word
