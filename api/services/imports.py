"""Imports on the request side: which files, the works limit, the task row and its upload, its
view, and the notice when the new work is ready. The job itself is `import_job`; parsing is
`jobs.imports`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from jobs.imports import PARSERS
from jobs.imports.sniff import content_refusal
from jobs.runner import TaskRunner
from jobs.tasks import TaskStore
from storage.blobs.base import BlobStore
from storage.sql.database import Database
from storage.sql.models import Task, User

from ..errors import AppError, Err
from ..quotas import Quotas
from .import_job import upload_key
from .membership import live_works
from .notification_texts import Message
from .notifications import Notifier
from .transfers import level_now, result_of, task_view

IMPORT = "import"


@dataclass(frozen=True, slots=True)
class Imports:
    database: Database
    quotas: Quotas
    tasks: TaskStore
    runner: TaskRunner
    blobs: BlobStore

    async def request(self, user: User, filename: str, data: bytes, title: str | None) -> Task:
        extension = PurePath(filename).suffix.lower()
        if extension not in PARSERS:
            known = ", ".join(PARSERS)
            raise AppError(
                Err.UNSUPPORTED_FILE, f"cannot import {extension or filename!r}: {known}"
            )
        if not data.strip():
            raise AppError(Err.IMPORT_REFUSED, "the file is empty")
        if (refusal := content_refusal(extension, data)) is not None:
            raise AppError(Err.UNSUPPORTED_FILE, f"{PurePath(filename).name[:200]}: {refusal}")
        await self._within_works_limit(user)
        params = {"filename": PurePath(filename).name[:200], "title": title, "size": len(data)}
        task = await self.tasks.create(user.id, IMPORT, extension.lstrip("."), params=params)
        await self.blobs.put(upload_key(task.id), data, "application/octet-stream")
        await self.runner.submit(IMPORT, task.id)
        return task

    async def _within_works_limit(self, user: User) -> None:
        level = level_now(user)
        limit = self.quotas.limits(level).works
        if limit is None:
            return
        async with self.database.session() as session:
            if await live_works(session, user.id) >= limit:
                raise AppError(Err.WORKS_LIMIT, f"level {level} may keep {limit} works")


def import_view(task: Task) -> dict[str, Any]:
    result = result_of(task)
    view = task_view(task)
    view.update(
        filename=task.params.get("filename"),
        chapters=result.get("chapters"),
        title=result.get("title"),
    )
    return view


async def notify_imported(notifier: Notifier, task: Task) -> None:
    """Tell the owner that an import became a work."""
    result = result_of(task)
    params = {
        "title": result.get("title", ""),
        "kind": result.get("kind", ""),
        "chapters": result.get("chapters", 0),
    }
    await notifier.notify_quietly(
        task.user_id,
        IMPORT,
        Message("import.done", params),
        "",
        {"task_id": task.id, "work_id": task.work_id, "status": "completed"},
    )
