"""`/api/v1/export` (brief §4.3.5): export a work as txt, Word, PDF or Fountain, in the
background; poll the task; download the file through a signed, expiring link."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from jobs.exports import content_disposition

from ..deps import CurrentUser, Parts
from ..errors import AppError, Err, success
from ..schemas import Envelope
from ..services.exports import EXPORT, Transfers, open_download, task_view
from .chapters import IdField

router = APIRouter(tags=["exports"])

Format = Literal["txt", "word", "pdf", "fountain"]


class ExportOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_cover: bool = True
    font_size: float = Field(12, ge=8, le=32, description="Body text size in points")
    include_toc: bool = Field(True, description="A table of contents (Word, PDF)")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    format: Format
    options: ExportOptionsIn = Field(default_factory=ExportOptionsIn)
    chapter_ids: list[IdField] | None = Field(
        None, max_length=10_000, description="Only these chapters (in the work's order)"
    )


class ExportQueuedOut(BaseModel):
    task_id: str
    status: str


class ExportTaskOut(BaseModel):
    task_id: str
    type: str
    status: str = Field(description="queued, processing, completed, failed or cancelled")
    progress: int = Field(description="0–100")
    format: str
    filename: str | None
    size: int | None = Field(description="Bytes, once completed")
    download_url: str | None = Field(
        description="Once completed: a link that works until expire_at"
    )
    expire_at: datetime | None
    error: str | None
    work_id: int | None
    attempts: int
    created_at: datetime
    finished_at: datetime | None


@router.post("/export", response_model=Envelope[ExportQueuedOut], status_code=202)
async def export_work(body: ExportIn, user: CurrentUser, parts: Parts) -> dict[str, object]:
    task = await Transfers(parts).request_export(
        user, body.work_id, body.format, body.options.model_dump(), body.chapter_ids
    )
    return success({"task_id": task.id, "status": task.status})


@router.get("/export/tasks/{task_id}", response_model=Envelope[ExportTaskOut])
async def export_task(
    task_id: str, request: Request, user: CurrentUser, parts: Parts
) -> dict[str, object]:
    task = await Transfers(parts).visible(user, task_id, EXPORT)
    return success(task_view(parts, task, str(request.base_url)))


@router.get(
    "/export/download/{token}",
    summary="The exported file (no Authorization: the signed link is the permission)",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(token: str, parts: Parts) -> Response:
    grant = open_download(parts.settings.resolved_secret_key(), token)
    try:
        data, _stored_type = await parts.blobs.get(grant.key)
    except KeyError:
        raise AppError(Err.NOT_FOUND, "this export's file is gone") from None
    return Response(
        data,
        media_type=grant.media_type,
        headers={
            "Content-Disposition": content_disposition(grant.filename),
            "Cache-Control": "private, no-store",
        },
    )
