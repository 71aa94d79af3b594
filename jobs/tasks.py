"""Task state in SQL, so that any node answers `GET .../tasks/{id}` and any worker can run one.

A task moves queued → processing → completed | failed | cancelled. Every transition is one
conditional UPDATE, so two workers given the same message cannot both start it, and a cancelled
task is never revived by a late worker (actors stay idempotent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import select, update

from storage.redaction import redact
from storage.sql.database import Database
from storage.sql.models import Task

QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "queued",
    "processing",
    "completed",
    "failed",
    "cancelled",
)
FINISHED = (COMPLETED, FAILED, CANCELLED)


def _now() -> datetime:
    return datetime.now(UTC)


class TaskStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self,
        user_id: int,
        kind: str,
        type_: str,
        *,
        work_id: int | None = None,
        chapter_id: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> Task:
        task = Task(
            id=str(uuid4()),
            user_id=user_id,
            kind=kind,
            type=type_,
            work_id=work_id,
            chapter_id=chapter_id,
            status=QUEUED,
            progress=0,
            params=params or {},
            attempts=0,
        )
        async with self.database.session() as session:
            session.add(task)
        return task

    async def get(self, task_id: str) -> Task | None:
        async with self.database.session() as session:
            return await session.get(Task, task_id)

    async def _transition(self, task_id: str, allowed: tuple[str, ...], **values: Any) -> bool:
        if isinstance(values.get("error"), str):  # read back by REST: no token in it
            values["error"] = redact(values["error"])
        async with self.database.session() as session:
            result = await session.execute(
                update(Task)
                .where(Task.id == task_id, Task.status.in_(allowed))
                .values(updated_at=_now(), **values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def start(self, task_id: str) -> bool:
        """Claim a queued task; False when it is already running, finished or cancelled.

        A task left `processing` by a worker that died is claimed again only through `retry`.
        """
        return await self._transition(
            task_id,
            (QUEUED,),
            status=PROCESSING,
            started_at=_now(),
            attempts=Task.attempts + 1,
        )

    async def requeue(self, task_id: str, error: str) -> bool:
        """A transient failure: back to queued so that the broker's retry can claim it again."""
        return await self._transition(task_id, (PROCESSING,), status=QUEUED, error=error)

    async def progress(self, task_id: str, percent: int, **fields: Any) -> None:
        await self._transition(
            task_id, (PROCESSING,), progress=max(0, min(100, int(percent))), **fields
        )

    async def complete(self, task_id: str, result: Any, **fields: Any) -> bool:
        return await self._transition(
            task_id,
            (PROCESSING,),
            status=COMPLETED,
            progress=100,
            result=result,
            error=None,
            finished_at=_now(),
            **fields,
        )

    async def fail(self, task_id: str, error: str, **fields: Any) -> bool:
        return await self._transition(
            task_id,
            (QUEUED, PROCESSING),
            status=FAILED,
            error=error,
            finished_at=_now(),
            **fields,
        )

    async def cancel(self, task_id: str, **fields: Any) -> bool:
        return await self._transition(
            task_id,
            (QUEUED, PROCESSING),
            status=CANCELLED,
            finished_at=_now(),
            **fields,
        )

    async def update_result(self, task_id: str, result: Any) -> None:
        """Change the result of a finished task (e.g. an AI task accepted or rejected)."""
        async with self.database.session() as session:
            await session.execute(
                update(Task).where(Task.id == task_id).values(result=result, updated_at=_now())
            )

    async def status(self, task_id: str) -> str | None:
        async with self.database.session() as session:
            return await session.scalar(select(Task.status).where(Task.id == task_id))

    async def list(
        self, user_id: int, kind: str, *, limit: int = 20, offset: int = 0
    ) -> list[Task]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(Task)
                .where(Task.user_id == user_id, Task.kind == kind)
                .order_by(Task.created_at.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows)
