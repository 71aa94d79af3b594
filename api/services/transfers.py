"""What exports and imports share: a task its owner asks for, then polls; its common view.

`api.services.exports` and `api.services.imports` add what differs (checks, params, the fields of
their results, the notice when one completes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobs.tasks import TaskStore
from storage.sql.models import Task, User

from ..errors import AppError, Err
from .membership import effective_level


def level_now(user: User) -> str:
    """The member level in force (a lapsed paid level counts as free)."""
    return effective_level(user.member_level, user.member_expire_at, datetime.now(UTC))


async def own_task(tasks: TaskStore, user: User, task_id: str, kind: str) -> Task:
    """`user`'s task of `kind`; 404 for anyone else's, as for one that does not exist."""
    task = await tasks.get(task_id)
    if task is None or task.user_id != user.id or task.kind != kind:
        raise AppError(Err.NOT_FOUND, f"no {kind} task {task_id}")
    return task


def task_view(task: Task) -> dict[str, Any]:
    """The fields every export and import task view has."""
    return {
        "task_id": task.id,
        "type": task.kind,
        "status": task.status,
        "progress": task.progress,
        "error": task.error,
        "work_id": task.work_id,
        "attempts": task.attempts,
        "created_at": task.created_at.isoformat(),
        "finished_at": task.finished_at.isoformat() if task.finished_at else None,
    }


def result_of(task: Task) -> dict[str, Any]:
    return task.result if isinstance(task.result, dict) else {}
