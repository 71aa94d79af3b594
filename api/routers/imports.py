"""`/api/v1/import`: a txt, docx or Fountain file becomes a new work, in the background."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import Field

from ..deps import CurrentUser, ImportsDep, SettingsDep, TasksDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope, TaskId
from ..services.imports import IMPORT, import_view
from ..services.transfers import own_task
from .transfers import TaskQueuedOut, TransferTaskOut, queued

router = APIRouter(tags=["imports"])
_CHUNK = 1 << 20


class ImportTaskOut(TransferTaskOut):
    filename: str | None
    title: str | None = Field(description="The new work's title, once completed")
    chapters: int | None = Field(description="How many chapters it got, once completed")
    work_id: int | None = Field(description="The new work, once created")


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise AppError(Err.FILE_TOO_LARGE, f"at most {limit} bytes")
    return bytes(data)


@router.post("/import", response_model=Envelope[TaskQueuedOut], status_code=202)
async def import_file(
    file: Annotated[UploadFile, File(description=".txt, .docx, .fountain or .spmd")],
    user: CurrentUser,
    imports: ImportsDep,
    settings: SettingsDep,
    title: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, object]:
    data = await _read_limited(file, settings.import_max_bytes)
    return queued(await imports.request(user, file.filename or "", data, title or None))


@router.get("/import/tasks/{task_id}", response_model=Envelope[ImportTaskOut])
async def import_task(task_id: TaskId, user: CurrentUser, tasks: TasksDep) -> dict[str, object]:
    return success(import_view(await own_task(tasks, user, task_id, IMPORT)))
