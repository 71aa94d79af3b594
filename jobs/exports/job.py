"""The export job: a work's chapters, read from their CRDT documents, rendered to a file.

The document store is the truth for text (DESIGN, invariant 5): each chapter's snapshot + log is
merged and read, never the SQL projection, which may lag behind by the debounce. The file goes to
the blob store under a key made from the task id, so running the task twice writes one file.

`load_source` and `read_work` serve `inkweave export` too, which renders without a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from jobs.exports import (
    FORMATS,
    ExportChapter,
    ExportError,
    ExportOptions,
    ExportWork,
    file_name,
)
from jobs.exports import render as render_export
from jobs.progress import ProgressPump
from jobs.tasks import TaskStore
from storage.blobs.base import BlobStore
from storage.docs.base import DocStore
from storage.docs.merge import load_content
from storage.sql.database import Database
from storage.sql.models import Chapter, User, Work

READ_SHARE = 20  # progress 0..20 while reading documents, 20..95 rendering, then storing
RENDER_END = 95


@dataclass(frozen=True, slots=True)
class Source:
    work: Work
    author: str
    chapters: list[Chapter]


def blob_key(task_id: str, fmt: str) -> str:
    return f"exports/{task_id}.{FORMATS[fmt].extension}"


async def load_source(database: Database, work_id: int, chapter_ids: list[int] | None) -> Source:
    async with database.session() as session:
        work = await session.get(Work, work_id)
        if work is None or work.is_deleted:
            raise ExportError(f"no work {work_id} (it does not exist or is in the trash)")
        owner = await session.get(User, work.user_id)
        query = select(Chapter).where(Chapter.work_id == work_id)
        if chapter_ids:
            query = query.where(Chapter.id.in_(chapter_ids))
        chapters = list(await session.scalars(query.order_by(Chapter.sort_order, Chapter.id)))
    return Source(work, owner.username if owner else "", chapters)


async def read_work(store: DocStore, source: Source, pump: Callable[[int], None]) -> ExportWork:
    chapters = []
    for done, chapter in enumerate(source.chapters, start=1):
        text, _meta = await load_content(store, chapter.content_id)
        chapters.append(ExportChapter(chapter.title or f"第{chapter.chapter_number}章", text))
        pump(100 * done // len(source.chapters))
    work = source.work
    return ExportWork(
        title=work.title,
        author=source.author,
        kind=work.type,
        genre=work.genre,
        description=None,
        chapters=chapters,
    )


@dataclass(frozen=True, slots=True)
class ExportJob:
    """The `export` task handler: reads from `database` and `store`, writes the file to `blobs`."""

    database: Database
    store: DocStore
    tasks: TaskStore
    blobs: BlobStore

    async def __call__(self, task_id: str) -> bool:
        """Run export task `task_id`; True when this call completed it."""
        tasks = self.tasks
        if not await tasks.start(task_id):
            return False
        task = await tasks.get(task_id)
        assert task is not None and task.work_id is not None
        params: dict[str, Any] = task.params
        fmt = params["format"]
        options = ExportOptions(**params.get("options", {}))
        source = await load_source(self.database, task.work_id, params.get("chapter_ids"))
        async with ProgressPump(tasks, task_id, end=READ_SHARE) as pump:
            work = await read_work(self.store, source, pump)
        async with ProgressPump(tasks, task_id, start=READ_SHARE, end=RENDER_END) as pump:
            data = await asyncio.to_thread(render_export, fmt, work, options, pump)
        chosen = FORMATS[fmt]
        key = blob_key(task_id, fmt)
        await self.blobs.put(key, data, chosen.media_type)
        result = {
            "format": fmt,
            "title": work.title,
            "blob_key": key,
            "filename": file_name(work.title, fmt),
            "media_type": chosen.media_type,
            "size": len(data),
            "chapters": len(work.chapters),
        }
        return await tasks.complete(task_id, result)
