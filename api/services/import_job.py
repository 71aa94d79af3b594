"""The import job: an uploaded txt, docx or Fountain file becomes a new work with chapters.

It lives in `api` because it creates works and chapters through their services; the composition
root registers it with the job runner for tasks of kind `import`.

The upload waits in the blob store (any worker can read it). Each chapter's text is written into
its CRDT document through the room's write-ahead path, exactly as a REST save is, and its SQL
projection (text, 字数, search index) is derived from the stored document at once.

Running it twice is safe: the work created by an attempt that died is recorded in the task's
result first thing, and a later attempt removes that half-filled work before starting over.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from jobs.imports import ImportedWork, parse
from jobs.progress import ProgressPump
from jobs.tasks import TaskStore
from storage.blobs.base import BlobStore
from storage.docs.restore import set_content
from storage.sql.database import Database
from storage.sql.models import User
from sync_server.rooms import RoomManager

from ..errors import AppError
from ..projection import Projector
from .chapters import Chapters
from .works import Works

PARSE_SHARE = 40  # progress 0..40 while parsing, 40..100 while writing chapters


def upload_key(task_id: str) -> str:
    return f"imports/{task_id}.upload"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """The `import` task handler: parses the upload in `blobs`, creates the work through `works`
    and `chapters`, writes each chapter's text through its room and projects it."""

    database: Database
    tasks: TaskStore
    blobs: BlobStore
    rooms: RoomManager
    projection: Projector
    works: Works
    chapters: Chapters

    async def __call__(self, task_id: str) -> bool:
        """Run import task `task_id`; True when this call completed it."""
        tasks = self.tasks
        if not await tasks.start(task_id):
            return False
        task = await tasks.get(task_id)
        assert task is not None
        await self._discard_partial_work(task.user_id, task.result)
        params: dict[str, Any] = task.params
        filename = params["filename"]
        data, _type = await self.blobs.get(upload_key(task_id))
        async with ProgressPump(tasks, task_id, end=PARSE_SHARE) as pump:
            imported = await asyncio.to_thread(parse, filename, data, pump)
        async with self.database.session() as session:
            owner = await session.get(User, task.user_id)
        if owner is None:
            raise LookupError(f"user {task.user_id} no longer exists")
        title = (params.get("title") or imported.title or filename)[:200]
        work = await self.works.create(owner, {"title": title, "type": imported.kind})
        await tasks.progress(task_id, PARSE_SHARE, result={"work_id": work.id}, work_id=work.id)
        async with ProgressPump(tasks, task_id, start=PARSE_SHARE) as pump:
            count = await self._write_chapters(owner.id, work.id, imported, pump)
        result = {"work_id": work.id, "title": title, "kind": imported.kind, "chapters": count}
        if not await tasks.complete(task_id, result, work_id=work.id):
            return False
        await self.blobs.delete(upload_key(task_id))
        return True

    async def _discard_partial_work(self, user_id: int, result: Any) -> None:
        work_id = result.get("work_id") if isinstance(result, dict) else None
        if work_id is None:
            return
        with contextlib.suppress(AppError):  # already gone
            await self.works.purge(user_id, int(work_id))

    async def _write_chapters(
        self, user_id: int, work_id: int, imported: ImportedWork, pump: ProgressPump
    ) -> int:
        total = len(imported.chapters)
        for done, source in enumerate(imported.chapters, start=1):
            chapter = await self.chapters.create(user_id, work_id, source.title)
            async with self.rooms.hold(chapter.content_id) as room:
                await room.change(set_content(source.text), on_behalf_of=str(user_id))
            await self.projection.rebuild(chapter.id)
            pump(100 * done // total)
        return total
