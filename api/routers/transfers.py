"""What the export and import routers share: the answer to a queued request and the fields
every export or import task view has."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from storage.sql.models import Task

from ..envelope import success


class TaskQueuedOut(BaseModel):
    task_id: str
    status: str


class TransferTaskOut(BaseModel):
    task_id: str
    type: str
    status: str = Field(description="queued, processing, completed, failed or cancelled")
    progress: int = Field(description="0–100")
    error: str | None
    work_id: int | None
    attempts: int
    created_at: datetime
    finished_at: datetime | None


def queued(task: Task) -> dict[str, object]:
    return success({"task_id": task.id, "status": task.status})
