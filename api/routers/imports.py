"""`/api/v1/import`: a txt, docx or Fountain file becomes a new work, in the background."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from ..deps import CurrentUser, Parts
from ..errors import AppError, Err, success
from ..schemas import Envelope
from ..services.exports import IMPORT, Transfers, task_view

router = APIRouter(tags=["imports"])
_CHUNK = 1 << 20


class ImportQueuedOut(BaseModel):
    task_id: str
    status: str


class ImportTaskOut(BaseModel):
    task_id: str
    type: str
    status: str = Field(description="queued, processing, completed, failed or cancelled")
    progress: int = Field(description="0–100")
    filename: str | None
    title: str | None = Field(description="The new work's title, once completed")
    chapters: int | None = Field(description="How many chapters it got, once completed")
    work_id: int | None = Field(description="The new work, once created")
    error: str | None
    attempts: int
    created_at: datetime
    finished_at: datetime | None


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise AppError(Err.FILE_TOO_LARGE, f"at most {limit} bytes")
    return bytes(data)


@router.post("/import", response_model=Envelope[ImportQueuedOut], status_code=202)
async def import_file(
    file: Annotated[UploadFile, File(description=".txt, .docx, .fountain or .spmd")],
    user: CurrentUser,
    parts: Parts,
    title: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, object]:
    data = await _read_limited(file, parts.settings.import_max_bytes)
    task = await Transfers(parts).request_import(user, file.filename or "", data, title or None)
    return success({"task_id": task.id, "status": task.status})


@router.get("/import/tasks/{task_id}", response_model=Envelope[ImportTaskOut])
async def import_task(
    task_id: str, request: Request, user: CurrentUser, parts: Parts
) -> dict[str, object]:
    task = await Transfers(parts).visible(user, task_id, IMPORT)
    return success(task_view(parts, task, str(request.base_url)))
