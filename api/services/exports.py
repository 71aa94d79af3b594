"""Exports on the request side: who may export what, the quota, the task row, its view, and the
notice when the file is ready. Rendering is `jobs.exports`; links are `download_links`.

The visible watermark is asked for in the task row (by the owner, or because their member level
requires it); a password never is: it waits in this process's memory (`HeldPasswords`) for the
job, so protected exports are taken only where this process runs its own jobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from jobs.exports import FORMATS, Protection
from jobs.exports.passwords import HeldPasswords
from jobs.runner import TaskRunner
from jobs.tasks import COMPLETED, TaskStore
from storage.sql.database import Database
from storage.sql.models import Chapter, Task, User, Work

from ..errors import AppError, Err
from ..quotas import Quotas
from ..security.roles import role_on_work
from .download_links import DownloadLinks
from .notification_texts import Message
from .notifications import Notifier
from .transfers import level_now, own_task, result_of, task_view
from .works import role_or_404

EXPORT = "export"


@dataclass(frozen=True, slots=True)
class Exports:
    database: Database
    quotas: Quotas
    tasks: TaskStore
    runner: TaskRunner
    # None where another process runs the jobs: a password cannot reach it without being stored.
    passwords: HeldPasswords | None = None
    watermark_levels: frozenset[str] = frozenset()

    async def request(
        self,
        user: User,
        work_id: int,
        fmt: str,
        options: dict[str, Any],
        chapter_ids: list[int] | None,
        *,
        watermark: bool = False,
        protection: Protection | None = None,
    ) -> Task:
        await role_or_404(self.database, user.id, work_id)  # any member may export what they read
        work = await self._work_with(work_id, chapter_ids)
        if FORMATS[fmt].scripts_only and work.type != "script":
            raise AppError(Err.FORMAT_NOT_FOR_WORK, f"{fmt} is for scripts; this is a {work.type}")
        if protection is not None and self.passwords is None:
            raise AppError(
                Err.EXPORT_PASSWORD_UNAVAILABLE,
                "jobs run on a separate worker here, which a password would have to be stored "
                "to reach: export without one",
            )
        level = level_now(user)
        await self.quotas.use_export(user.id, level)
        params: dict[str, Any] = {
            "format": fmt,
            "options": options,
            "chapter_ids": chapter_ids or None,
            "watermark": watermark or level in self.watermark_levels,
        }
        if protection is not None:  # the permissions only: the password stays in memory
            params["protection"] = {
                "can_print": protection.can_print,
                "can_copy": protection.can_copy,
                "can_modify": protection.can_modify,
            }
        task = await self.tasks.create(user.id, EXPORT, fmt, work_id=work_id, params=params)
        if protection is not None and self.passwords is not None:
            self.passwords.hold(task.id, protection)
        await self.runner.submit(EXPORT, task.id)
        return task

    async def task(self, user: User, task_id: str) -> Task:
        """`user`'s export task, while they are still a member of its work: a link to the file
        is a copy of the work, so it is not handed to someone who may no longer read it."""
        task = await own_task(self.tasks, user, task_id, EXPORT)
        if task.work_id is None or await role_on_work(self.database, user.id, task.work_id) is None:
            raise AppError(Err.NOT_FOUND, f"no {EXPORT} task {task_id}")
        return task

    async def _work_with(self, work_id: int, chapter_ids: list[int] | None) -> Work:
        """The work; 404 when it lacks one of `chapter_ids`."""
        async with self.database.session() as session:
            work = await session.get(Work, work_id)
            assert work is not None
            if chapter_ids:
                found = set(
                    await session.scalars(
                        select(Chapter.id).where(
                            Chapter.work_id == work_id, Chapter.id.in_(chapter_ids)
                        )
                    )
                )
                missing = sorted(set(chapter_ids) - found)
                if missing:
                    raise AppError(Err.NOT_FOUND, f"work {work_id} has no chapters {missing}")
        return work


def export_view(links: DownloadLinks, task: Task, base_url: str) -> dict[str, Any]:
    result = result_of(task)
    view = task_view(task)
    view.update(format=task.type, filename=result.get("filename"), size=result.get("size"))
    params = task.params or {}
    view.update(watermark=bool(params.get("watermark")), protected="protection" in params)
    view["download_url"] = view["expire_at"] = None
    if task.status == COMPLETED and result.get("removed"):
        view["error"] = "the file was deleted after INKWEAVE_EXPORT_RETENTION_S: export again"
    elif task.status == COMPLETED and result.get("blob_key"):
        assert task.work_id is not None
        view["download_url"], view["expire_at"] = links.link(
            result, base_url, user_id=task.user_id, work_id=task.work_id
        )
    return view


async def notify_exported(notifier: Notifier, task: Task) -> None:
    """Tell the owner that an export's file is ready."""
    result, fmt = result_of(task), task.type
    await notifier.notify_quietly(
        task.user_id,
        EXPORT,
        Message("export.done", {"title": result.get("title", ""), "format": fmt}),
        "",
        {"task_id": task.id, "work_id": task.work_id, "format": fmt, "status": "completed"},
    )
