"""Review (长文本审校) of a whole work: names, timeline slips and repeated passages."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from storage.sql.database import Database
from storage.sql.models import Task

from ..offline.review import review
from ..ports import Documents, TaskProgress
from .outcome import Outcome
from .work_context import work_chapters

READING_SHARE = 80  # percent of the progress bar for reading the chapters


async def review_work(
    task: Task, *, database: Database, documents: Documents, tasks: TaskProgress
) -> Outcome:
    chapters = await work_chapters(database, task.work_id)
    texts = []
    for index, chapter in enumerate(chapters):
        text, _meta = await documents.read(chapter.content_id)
        texts.append((chapter.id, chapter.title or "", text))
        await tasks.progress(task.id, int(READING_SHARE * (index + 1) / max(1, len(chapters))))
    findings = await asyncio.to_thread(review, texts)
    result = {
        "findings": [asdict(f) for f in findings],
        "chapters": len(chapters),
        "characters": sum(len(t) for _i, _t, t in texts),
    }
    return Outcome(result, "offline", "offline-review")
