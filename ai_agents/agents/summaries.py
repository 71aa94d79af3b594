"""Rolling chapter summaries: what a long work's earlier chapters are represented by in a prompt.

Cached per chapter with a hash of the text they summarise; stale once the text changes.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.sql.database import Database
from storage.sql.models import Chapter, ChapterSummary, Task

from .. import prompts
from ..context import LONG_WORK_CHARS, text_hash
from ..offline import summary as offline_summary
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, Router

SUMMARY_CHARS = 300
SUMMARY_MODEL_CALLS_PER_TASK = 8
OFFLINE_MODEL = "offline"


async def summaries_before(
    database: Database,
    ai: Router,
    chapters: list[Chapter],
    current: Chapter,
    *,
    level: str,
    task: Task,
) -> list[tuple[str, str]]:
    """Cached rolling summaries of the chapters before `current`, refreshed where stale.

    At most `SUMMARY_MODEL_CALLS_PER_TASK` are asked of a model per task (the nearest ones);
    older stale ones get the offline extractive summary at once and a model's on a later task.
    """
    earlier = [c for c in chapters if c.sort_order < current.sort_order and c.text]
    async with database.session() as session:
        cached = {
            row.chapter_id: row
            for row in await session.scalars(
                select(ChapterSummary).where(ChapterSummary.chapter_id.in_([c.id for c in earlier]))
            )
        }
    out: list[tuple[str, str]] = []
    budget = SUMMARY_MODEL_CALLS_PER_TASK
    for chapter in reversed(earlier):
        digest = text_hash(chapter.text)
        row = cached.get(chapter.id)
        fresh = row is not None and row.source_hash == digest
        if row is not None and fresh and (row.model != OFFLINE_MODEL or budget <= 0):
            out.append((chapter.title or "", row.summary))
            continue
        if budget > 0:
            budget -= 1
            text, model = await _model_summary(ai, chapter, level, task)
        else:
            text, model = offline_summary.summarize(chapter.text, SUMMARY_CHARS), OFFLINE_MODEL
        await _save_summary(database, chapter.id, digest, text, model)
        out.append((chapter.title or "", text))
    out.reverse()
    return out


async def refresh_summaries(database: Database, *, limit: int = 200) -> int:
    """Give stale or missing summaries of long works an offline summary now (the periodic job).

    Costs no model calls; a continuation later upgrades the nearest ones with a model's summary.
    """
    async with database.session() as session:
        long_works = list(
            await session.scalars(
                select(Chapter.work_id)
                .group_by(Chapter.work_id)
                .having(func.sum(Chapter.word_count) >= LONG_WORK_CHARS)
            )
        )
        if not long_works:
            return 0
        rows = (
            await session.execute(
                select(Chapter, ChapterSummary)
                .outerjoin(ChapterSummary, ChapterSummary.chapter_id == Chapter.id)
                .where(Chapter.work_id.in_(long_works), Chapter.text != "")
            )
        ).all()
    done = 0
    for chapter, cached in rows:
        digest = text_hash(chapter.text)
        if cached is not None and cached.source_hash == digest:
            continue
        text = await asyncio.to_thread(offline_summary.summarize, chapter.text, SUMMARY_CHARS)
        await _save_summary(database, chapter.id, digest, text, OFFLINE_MODEL)
        done += 1
        if done >= limit:
            break
    return done


async def _model_summary(ai: Router, chapter: Chapter, level: str, task: Task) -> tuple[str, str]:
    request = CompletionRequest(
        task="summary",
        messages=prompts.render(
            "summary",
            max_chars=SUMMARY_CHARS,
            title=chapter.title or "",
            text=chapter.text[:20000],
        ),
        inputs={"text": chapter.text, "max_chars": SUMMARY_CHARS},
        max_tokens=600,
        temperature=0.2,
    )
    ctx = CallContext(task.user_id, task.work_id, task.id, "summary")
    completion = await ai.complete(request, level=level, ctx=ctx)
    return completion.text.strip(), completion.model


async def _save_summary(
    database: Database, chapter_id: int, digest: str, text: str, model: str
) -> None:
    async with database.session() as session:
        row = await session.get(ChapterSummary, chapter_id)
        if row is None:
            session.add(
                ChapterSummary(chapter_id=chapter_id, source_hash=digest, summary=text, model=model)
            )
        else:
            row.source_hash, row.summary, row.model = digest, text, model
