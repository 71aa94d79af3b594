"""Review (长文本审校) of a whole work: names, timeline slips and repeated passages.

The result holds the findings a reader can use, ranked and capped (`Limits`), with how many of
each kind were found in all; `GET /ai/tasks/{id}/findings` pages through them. A long work is
reviewed in child processes (`review_in_processes`), handed each chapter as it is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict

from sqlalchemy import func, select

from storage.sql.database import Database
from storage.sql.models import Chapter, Task

from ..offline.review import review
from ..offline.review.findings import Chapter as ReviewedChapter
from ..offline.review.processes import review_in_processes
from ..ports import Documents, TaskProgress
from .outcome import Outcome

READING_SHARE = 80  # percent of the progress bar for reading the chapters
# From this many characters (by the chapters' word counts) a review runs in child processes:
# starting them costs about a second, and below this the memory a review takes is small.
IN_PROCESSES_FROM_CHARS = 300_000


async def review_work(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    tasks: TaskProgress,
    in_processes_from_chars: int = IN_PROCESSES_FROM_CHARS,
) -> Outcome:
    chapters, counted = await _chapters(database, task.work_id)
    characters = 0

    async def read() -> AsyncIterator[ReviewedChapter]:
        nonlocal characters
        shown = 0
        for index, (chapter_id, title, content_id) in enumerate(chapters):
            text, _meta = await documents.read(content_id)
            characters += len(text)
            yield chapter_id, title or "", text
            share = READING_SHARE * (index + 1) // max(1, len(chapters))
            if share > shown:  # a write per percent, not per chapter (5,000 in a long work)
                shown = share
                await tasks.progress(task.id, share)

    if counted >= in_processes_from_chars:
        found = await review_in_processes(read())
    else:
        found = await asyncio.to_thread(review, [chapter async for chapter in read()])
    result = {
        "findings": [asdict(f) for f in found.findings],
        "counts": found.counts,
        "found": sum(found.counts.values()),
        "truncated": found.truncated,
        "chapters": len(chapters),
        "characters": characters,
    }
    return Outcome(result, "offline", "offline-review")


async def _chapters(
    database: Database, work_id: int | None
) -> tuple[list[tuple[int, str | None, str]], int]:
    """(id, title, content_id) in reading order, and the characters by their word counts; the
    text comes from the documents, so the SQL projection of every chapter is not loaded too."""
    async with database.session() as session:
        rows = await session.execute(
            select(Chapter.id, Chapter.title, Chapter.content_id)
            .where(Chapter.work_id == work_id)
            .order_by(Chapter.sort_order, Chapter.id)
        )
        chapters = [(row.id, row.title, row.content_id) for row in rows]
        counted = await session.scalar(
            select(func.coalesce(func.sum(Chapter.word_count), 0)).where(Chapter.work_id == work_id)
        )
    return chapters, int(counted or 0)
