"""Reports (举报): `POST /reports` for every signed-in user; the queue, its decisions and the
runtime word list under `/admin`, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ..deps import CurrentUser, ReportsDep, WordListDep
from ..envelope import success
from ..schemas import Envelope, Page, PageQuery
from ..services.report_targets import TargetKind
from ..services.reports import Action, QueueFilter, Reason, Sort, Status
from .admin import AdminUser, page

router = APIRouter(tags=["reports"])

TargetId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind
    target_id: TargetId
    reason: Reason
    note: str = Field("", max_length=500)


class ReportOut(BaseModel):
    report_id: int
    target_kind: str
    target_id: str
    reason: str
    status: str
    repeated: bool = Field(description="You had reported this before: it still counts once")


class NoteOut(BaseModel):
    reporter_id: int
    reason: str
    note: str
    at: datetime


class QueueItemOut(BaseModel):
    target_kind: str
    target_id: str
    title: str | None = Field(description="None: the target is gone")
    owner_id: int | None
    count: int = Field(description="Users who reported it (each counts once)")
    latest_at: datetime
    reasons: dict[str, int]
    notes: list[NoteOut]


class QueueQuery(PageQuery):
    status: Status = "open"
    kind: TargetKind | None = None
    reason: Reason | None = None
    sort: Sort = Field("count", description="count: most reported first; recent: newest first")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    message: str = Field(
        "", max_length=500, description="The reason, sent to the owner when the content is hidden"
    )


class ResolvedOut(BaseModel):
    resolved: int = Field(description="Open reports this decision closed")


class WordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: str = Field(min_length=1, max_length=50)


class WordOut(BaseModel):
    word: str
    source: str = Field(description="shipped (the base list) or added (by an administrator)")
    active: bool


@router.post("/reports", response_model=Envelope[ReportOut], status_code=201)
async def file_report(
    body: ReportIn, user: CurrentUser, reports: ReportsDep, response: Response
) -> dict[str, Any]:
    """Report a work, a public material or a comment. Reporting again updates your report."""
    report, created = await reports.file(
        user.id, body.target_kind, body.target_id, body.reason, body.note.strip()
    )
    if not created:
        response.status_code = 200
    return success(
        {
            "report_id": report.id,
            "target_kind": report.target_kind,
            "target_id": report.target_id,
            "reason": report.reason,
            "status": report.status,
            "repeated": not created,
        }
    )


@router.get(
    "/admin/reports",
    response_model=Envelope[Page[QueueItemOut]],
    summary="The report queue, one entry per target",
)
async def report_queue(
    query: Annotated[QueueQuery, Query()], _admin: AdminUser, reports: ReportsDep
) -> dict[str, Any]:
    where = QueueFilter(status=query.status, kind=query.kind, reason=query.reason, sort=query.sort)
    total, items = await reports.queue(where, query.offset, query.page_size)
    out = [QueueItemOut.model_validate(item, from_attributes=True) for item in items]
    return success(page(total, query, [item.model_dump(mode="json") for item in out]))


@router.post(
    "/admin/reports/{target_kind}/{target_id}/resolve",
    response_model=Envelope[ResolvedOut],
    summary="Dismiss the reports, hide the content (owner notified) or disable the owner",
)
async def resolve_reports(
    target_kind: TargetKind,
    target_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    body: ResolveIn,
    admin: AdminUser,
    reports: ReportsDep,
) -> dict[str, Any]:
    resolved = await reports.resolve(
        admin.id, target_kind, target_id, body.action, body.message.strip()
    )
    return success({"resolved": resolved})


@router.get("/admin/moderation/words", response_model=Envelope[list[WordOut]])
async def list_words(_admin: AdminUser, words: WordListDep) -> dict[str, Any]:
    """The sensitive words in force (and shipped ones taken out), on every node."""
    items = [WordOut.model_validate(e, from_attributes=True) for e in words.entries()]
    return success([item.model_dump() for item in items])


@router.post("/admin/moderation/words", response_model=Envelope[None], status_code=201)
async def add_word(body: WordIn, admin: AdminUser, words: WordListDep) -> dict[str, Any]:
    """Add a word; every node checks with it from now on, without a restart."""
    await words.add(admin.id, body.word)
    return success(None)


@router.delete("/admin/moderation/words/{word}", response_model=Envelope[None])
async def remove_word(
    word: Annotated[str, Path(min_length=1, max_length=50)], admin: AdminUser, words: WordListDep
) -> dict[str, Any]:
    """Take a word off (an added one, or a shipped one)."""
    await words.remove(admin.id, word)
    return success(None)
