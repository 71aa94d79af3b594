"""Alternatives over REST: queue two or three sibling tasks for one AI action, and pick one.

How the siblings stream and how the picked one reaches the chapter is in
`ai_agents.agents.alternatives`; here are the task rows: each sibling's params name the whole
group (`{"alternative": {"group": [ids], "index": i}}`), so a pick finds the ones to discard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ai_agents.agents.alternatives import ALTERNATIVE, PICKED, STAGE, alternative_of, discarded
from jobs.runner import TaskRunner
from jobs.tasks import FINISHED, PROCESSING, TaskStore
from storage.sql.database import Database
from storage.sql.models import Task

from ..errors import AppError, Err


async def queue_alternatives(
    database: Database,
    tasks: TaskStore,
    runner: TaskRunner,
    *,
    user_id: int,
    kind: str,
    type_: str,
    work_id: int,
    chapter_id: int | None,
    params: dict[str, Any],
    count: int,
) -> list[Task]:
    """`count` sibling tasks of `type_`, each told the whole group before any of them runs."""
    created = [
        await tasks.create(user_id, kind, type_, work_id=work_id, chapter_id=chapter_id)
        for _ in range(count)
    ]
    group = [task.id for task in created]
    async with database.session() as session:
        for index, task in enumerate(created):
            task.params = {**params, ALTERNATIVE: {"group": group, "index": index}}
            await session.execute(update(Task).where(Task.id == task.id).values(params=task.params))
    for task in created:
        await runner.submit(kind, task.id)
    return created


async def pick_alternative(database: Database, tasks: TaskStore, task: Task) -> None:
    """Make `task` the alternative written into the chapter; cancel (discard) its siblings.

    The caller has checked that the user may write to the task's work. Of two picks at once in
    one group, at most one wins: each discards the others first, then marks its own only if it
    is still running."""
    alternative = alternative_of(task)
    if alternative is None:
        raise AppError(Err.CONFLICT, "this task is not one of several alternatives")
    if task.status in FINISHED:
        raise AppError(Err.TASK_FINISHED, f"this alternative is already {task.status}")
    result = task.result if isinstance(task.result, dict) else {}
    if result.get(PICKED):
        raise AppError(Err.CONFLICT, "this alternative was already picked")
    if task.status != PROCESSING or result.get(STAGE) != "ready":
        raise AppError(Err.TASK_RUNNING, "this alternative is still being written")
    for sibling_id in alternative["group"]:
        sibling = await tasks.get(sibling_id) if sibling_id != task.id else None
        if sibling is not None:
            await tasks.cancel(sibling_id, result=discarded(sibling.result))
    # The agent writes nothing into its result while it waits to be picked.
    async with database.session() as session:
        marked = await session.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == PROCESSING)
            .values(result={**result, PICKED: True})
        )
    if not marked.rowcount:  # type: ignore[attr-defined]
        raise AppError(Err.TASK_FINISHED, "this alternative was discarded meanwhile")
