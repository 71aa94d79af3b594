"""The export job: a work's chapters, read from their CRDT documents, rendered to a file.

The document store is the truth for text (DESIGN, invariant 5): each chapter's snapshot + log is
merged and read, never the SQL projection, which may lag behind by the debounce. Chapters are read
one at a time, when the renderer comes to each, and the file is written to a temporary file as it
grows, so an export holds one chapter's text, not the work's. A long work's PDF or Word file is
rendered in a child process (`child`): those renderers hold the whole document until they save,
and a process's memory goes back when it ends. The file goes to the blob store under a key made
from the task id, so running the task twice writes one file.

Every file carries an invisible mark: a fresh export id in its metadata, recorded in SQL
(`export_marks`) with the requester, the time and the file's SHA-256; the task asks for a
visible one too where the owner or their member level wants it. A password (`passwords`) is
taken from this process's memory, never from the task row.

`load_source` and `read_work` serve `inkweave export` too, which renders without a task.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from jobs.exports import (
    FORMATS,
    ExportError,
    ExportOptions,
    ExportWork,
    LazyChapters,
    Protection,
    Watermark,
    delivered_as,
    file_name,
)
from jobs.exports import write as write_export
from jobs.exports.child import write_in_child
from jobs.exports.comments import (
    Positions,
    anchored_comments,
    comments_appendix,
    with_appendix,
)
from jobs.exports.passwords import HeldPasswords
from jobs.progress import ProgressPump
from jobs.tasks import TaskStore
from storage.blobs.base import BlobStore
from storage.docs.base import DocStore
from storage.docs.merge import load_content
from storage.sql.database import Database
from storage.sql.models import Chapter, ExportMark, User, Work, utcnow

RENDER_END = 95  # progress 0..95 reading and rendering chapter by chapter, then storing
# From this many characters (about 100 chapters of 3,000) a PDF or Word export renders in a child
# process: starting one costs about a second, and below this the memory it takes is small.
IN_CHILD_FROM_CHARS = 300_000


@dataclass(frozen=True, slots=True)
class SourceChapter:
    title: str
    content_id: str


@dataclass(frozen=True, slots=True)
class Source:
    work: Work
    author: str
    chapters: list[SourceChapter]
    characters: int  # by the chapters' word counts in SQL, which may lag a little


def blob_key(task_id: str, fmt: str, *, protected: bool = False) -> str:
    return f"exports/{task_id}.{delivered_as(fmt, protected=protected)[0]}"


async def load_source(database: Database, work_id: int, chapter_ids: list[int] | None) -> Source:
    """The work and its chapters' titles and documents, in reading order; not their SQL text."""
    async with database.session() as session:
        work = await session.get(Work, work_id)
        if work is None or work.is_deleted:
            raise ExportError(f"no work {work_id} (it does not exist or is in the trash)")
        owner = await session.get(User, work.user_id)
        query = select(Chapter.title, Chapter.chapter_number, Chapter.content_id).where(
            Chapter.work_id == work_id
        )
        if chapter_ids:
            query = query.where(Chapter.id.in_(chapter_ids))
        rows = await session.execute(query.order_by(Chapter.sort_order, Chapter.id))
        chapters = [
            SourceChapter(row.title or f"第{row.chapter_number}章", row.content_id) for row in rows
        ]
        counted = select(func.coalesce(func.sum(Chapter.word_count), 0)).where(
            Chapter.work_id == work_id
        )
        if chapter_ids:
            counted = counted.where(Chapter.id.in_(chapter_ids))
        characters = int(await session.scalar(counted) or 0)
    return Source(work, owner.username if owner else "", chapters, characters)


async def read_work(
    store: DocStore, source: Source, pump: Callable[[int], None] | None = None
) -> ExportWork:
    """The work, whose chapters a renderer on a worker thread reads from `store` one at a time
    as it comes to each (through this event loop); `pump` hears the share read so far."""
    loop = asyncio.get_running_loop()
    chapters = source.chapters

    def text_of(index: int) -> str:
        if _running_loop() is loop:
            raise RuntimeError("chapters are read from a worker thread, not the event loop")
        load = load_content(store, chapters[index].content_id)
        text, _meta = asyncio.run_coroutine_threadsafe(load, loop).result()
        if pump is not None:
            pump(100 * (index + 1) // len(chapters))
        return text

    work = source.work
    return ExportWork(
        title=work.title,
        author=source.author,
        kind=work.type,
        genre=work.genre,
        description=None,
        chapters=LazyChapters([chapter.title for chapter in chapters], text_of),
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(frozen=True, slots=True)
class ExportJob:
    """The `export` task handler: reads from `database` and `store`, writes the file to `blobs`."""

    database: Database
    store: DocStore
    tasks: TaskStore
    blobs: BlobStore
    in_child_from_chars: int = IN_CHILD_FROM_CHARS
    passwords: HeldPasswords | None = None
    clock: Callable[[], datetime] = utcnow
    # Reads comments' Yjs anchors, for formats that anchor comments (`jobs.exports.comments`).
    positions: Positions | None = None

    async def __call__(self, task_id: str) -> bool:
        """Run export task `task_id`; True when this call completed it."""
        tasks = self.tasks
        if not await tasks.start(task_id):
            return False
        task = await tasks.get(task_id)
        assert task is not None and task.work_id is not None
        params: dict[str, Any] = task.params
        fmt = params["format"]
        protection = self._protection(task_id, params.get("protection"))
        account = await self._account(task.user_id)
        made_at = self.clock()
        mark = Watermark(
            uuid.uuid4().hex, account, made_at.date().isoformat(), bool(params.get("watermark"))
        )
        options = replace(
            ExportOptions(**params.get("options", {})), watermark=mark, protection=protection
        )
        source = await load_source(self.database, task.work_id, params.get("chapter_ids"))
        chosen = FORMATS[fmt]
        in_child = chosen.holds_document and source.characters >= self.in_child_from_chars
        with tempfile.TemporaryDirectory(prefix="inkweave-export-") as folder:
            path = Path(folder) / "file"
            async with ProgressPump(tasks, task_id, end=RENDER_END) as pump:
                work = await read_work(self.store, source)  # the renderer's progress covers it
                if options.include_comments and chosen.anchors_comments and self.positions:
                    names = [c.content_id for c in source.chapters]
                    found = await anchored_comments(self.store, names, self.positions)
                    work = replace(work, comments=found)
                elif options.include_comments:
                    chapters = [(c.title, c.content_id) for c in source.chapters]
                    work = with_appendix(work, await comments_appendix(self.store, chapters))
                render = write_in_child if in_child else _write_here
                await asyncio.to_thread(render, fmt, work, path, options, pump)
            # The blob store takes bytes: the finished file is held once, here, to hand it over.
            data = await asyncio.to_thread(path.read_bytes)
        protected = protection is not None
        key = blob_key(task_id, fmt, protected=protected)
        media_type = delivered_as(fmt, protected=protected)[1]
        await self.blobs.put(key, data, media_type)
        await self._record(task_id, task.user_id, task.work_id, fmt, mark, data, protected, made_at)
        result = {
            "format": fmt,
            "title": work.title,
            "blob_key": key,
            "filename": file_name(work.title, fmt, protected=protected),
            "media_type": media_type,
            "size": len(data),
            "chapters": len(work.chapters),
            "mark_id": mark.mark_id,
            "watermark": mark.visible,
            "protected": protected,
        }
        completed = await tasks.complete(task_id, result)
        if self.passwords is not None:
            self.passwords.drop(task_id)
        return completed

    def _protection(self, task_id: str, asked: dict[str, Any] | None) -> Protection | None:
        """The password the request left in this process's memory, with the permissions the
        task row keeps; an error when the task asks for one and it is not here."""
        if asked is None:
            return None
        held = self.passwords.peek(task_id) if self.passwords is not None else None
        if held is None:
            raise ExportError(
                "the export's password was held only in the memory of the server that took the "
                "request, and is gone (it restarted, or another process ran the job): export again"
            )
        return held

    async def _account(self, user_id: int) -> str:
        async with self.database.session() as session:
            username = await session.scalar(select(User.username).where(User.id == user_id))
        return f"{username or 'user'} #{user_id}"

    async def _record(
        self,
        task_id: str,
        user_id: int,
        work_id: int,
        fmt: str,
        mark: Watermark,
        data: bytes,
        protected: bool,
        made_at: datetime,
    ) -> None:
        async with self.database.session() as session:
            session.add(
                ExportMark(
                    id=mark.mark_id,
                    task_id=task_id,
                    user_id=user_id,
                    account=mark.account[:100],
                    work_id=work_id,
                    format=fmt,
                    visible=mark.visible,
                    protected=protected,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    created_at=made_at,
                )
            )


def _write_here(
    fmt: str, work: ExportWork, path: Path, options: ExportOptions, pump: Callable[[int], None]
) -> None:
    with path.open("wb") as out:
        write_export(fmt, work, out, options, pump)
