"""`/api/v1/export` (brief §4.3.5): export a work as txt, Word, PDF or Fountain, in the
background; poll the task; download the file through a signed, expiring link."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from jobs.exports import Protection, content_disposition

from ..deps import BlobsDep, CurrentUser, DownloadLinksDep, ExportsDep
from ..envelope import success
from ..errors import AppError, Err
from ..schemas import Envelope, IdField, TaskId
from ..services.exports import export_view
from .transfers import TaskQueuedOut, TransferTaskOut, queued

router = APIRouter(tags=["exports"])

Format = Literal["txt", "word", "pdf", "fountain"]


class ExportOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_cover: bool = True
    font_size: float = Field(12, ge=8, le=32, description="Body text size in points")
    include_toc: bool = Field(True, description="A table of contents (Word, PDF)")
    include_comments: bool = Field(
        False, description="The chapters' comments (批注) as an appendix after the last chapter"
    )
    watermark: bool = Field(
        False,
        description="A visible mark with your account and the date on every page (Word, PDF); "
        "some member levels always get it. Every file carries an invisible one.",
    )


class ProtectionIn(BaseModel):
    """A password on the file: PDF's own encryption with these permissions; Word, txt and
    Fountain in an AES-256 zip. The password is never stored."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(min_length=4, max_length=128)
    can_print: bool = Field(True, description="PDF: the reader may print")
    can_copy: bool = Field(False, description="PDF: the reader may copy text")
    can_modify: bool = Field(False, description="PDF: the reader may edit and annotate")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    format: Format
    options: ExportOptionsIn = Field(default_factory=ExportOptionsIn)
    chapter_ids: list[IdField] | None = Field(
        None, max_length=10_000, description="Only these chapters (in the work's order)"
    )
    protection: ProtectionIn | None = None


class ExportTaskOut(TransferTaskOut):
    format: str
    filename: str | None
    size: int | None = Field(description="Bytes, once completed")
    download_url: str | None = Field(
        description="Once completed: a link that works until expire_at"
    )
    expire_at: datetime | None
    watermark: bool = Field(description="Whether the file carries the visible watermark")
    protected: bool = Field(description="Whether the file has a password")


@router.post("/export", response_model=Envelope[TaskQueuedOut], status_code=202)
async def export_work(body: ExportIn, user: CurrentUser, exports: ExportsDep) -> dict[str, object]:
    options = body.options.model_dump(exclude={"watermark"})
    protection = None
    if body.protection is not None:
        asked = body.protection
        protection = Protection(
            asked.password.get_secret_value(), asked.can_print, asked.can_copy, asked.can_modify
        )
    task = await exports.request(
        user,
        body.work_id,
        body.format,
        options,
        body.chapter_ids,
        watermark=body.options.watermark,
        protection=protection,
    )
    return queued(task)


@router.get("/export/tasks/{task_id}", response_model=Envelope[ExportTaskOut])
async def export_task(
    task_id: TaskId,
    request: Request,
    user: CurrentUser,
    exports: ExportsDep,
    links: DownloadLinksDep,
) -> dict[str, object]:
    """Your export, while you are a member of its work; once completed, a fresh link that works
    for you only while you stay a member."""
    task = await exports.task(user, task_id)
    return success(export_view(links, task, str(request.base_url)))


@router.get(
    "/export/download/{token}",
    summary="The exported file (no Authorization: the signed link is the permission)",
    description="Works until the link expires, and only while whoever got it is still a "
    "member of the work (403 after that). With an S3 store: a redirect to the store, briefly.",
    responses={
        200: {"content": {"application/octet-stream": {}}},
        307: {"description": "To the object store's presigned URL"},
    },
)
async def download(token: str, links: DownloadLinksDep, blobs: BlobsDep) -> Response:
    grant = await links.open(token)
    store_url = links.store_url(grant)
    if store_url is not None:
        return RedirectResponse(store_url, headers={"Cache-Control": "private, no-store"})
    try:
        data, _stored_type = await blobs.get(grant.key)
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
