"""`/api/v1/works`: works, the trash, statistics, members and ownership transfer.

A work the caller may not see answers 404 (its existence is not revealed); one the caller may
see but not change answers 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from storage.sql.models import Work

from ..deps import CurrentUser, WorksDep
from ..envelope import success, wants_english
from ..schemas import Envelope, IdField, IdPath, Page, PageQuery, WebUrl
from ..services.chapter_pages import DEFAULT_PAGE_SIZE
from ..services.invitations import PENDING_NOTICE, PendingInvitation
from ..services.works import Member, WorkDetail
from .chapters import ChapterOut, chapter_out

router = APIRouter(prefix="/works", tags=["works"])

WorkType = Literal["novel", "script"]
WorkStatus = Literal["draft", "completed", "published"]
MemberRole = Literal["editor", "viewer"]
Text50 = Annotated[str, Field(min_length=1, max_length=50)]


class WorkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    type: WorkType
    genre: Text50 | None = None
    style: Text50 | None = None
    target_words: int | None = Field(None, ge=0, le=100_000_000)
    cover_url: WebUrl | None = None


class WorkPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    genre: Text50 | None = None
    style: Text50 | None = None
    status: WorkStatus | None = None
    target_words: int | None = Field(None, ge=0, le=100_000_000)
    cover_url: WebUrl | None = None


class WorkOut(BaseModel):
    id: int
    user_id: int = Field(description="The owner")
    title: str
    type: str
    genre: str | None
    style: str | None
    status: str
    word_count: int
    chapter_count: int
    target_words: int | None
    cover_url: str | None
    version: int
    role: str | None = Field(description="The caller's role: owner, editor or viewer")
    is_deleted: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WorkCreatedOut(WorkOut):
    work_id: int


class MemberOut(BaseModel):
    user_id: int
    username: str
    avatar_url: str | None
    role: str
    joined_at: datetime


class PendingInvitationOut(BaseModel):
    """An invitation of an email that has no account yet: whoever registers with that email
    joins with `role`."""

    pending: Literal[True] = True
    id: int
    work_id: int
    email: str
    role: str
    invited_by: int = Field(description="The user who invited")
    created_at: datetime


class WorkDetailOut(WorkOut):
    chapters: list[ChapterOut] = Field(
        description=f"The first {DEFAULT_PAGE_SIZE} chapters, in order; chapter_count counts all"
    )
    chapters_next: int | None = Field(
        description="When the work has more chapters: pass as `after` to "
        "GET /works/{id}/chapters for the rest; null when `chapters` is all of them"
    )
    members: list[MemberOut]


class ChapterWords(BaseModel):
    id: int
    chapter_number: int
    title: str | None
    word_count: int


class StatsOut(BaseModel):
    work_id: int
    word_count: int
    chapter_count: int
    target_words: int | None
    progress: float | None = Field(description="word_count / target_words, when there is a target")
    chapters: list[ChapterWords]


class WorkListQuery(PageQuery):
    type: WorkType | None = None
    status: WorkStatus | None = None
    genre: str | None = Field(None, max_length=50)
    sort: Literal["updated_at", "created_at", "title", "word_count"] = "updated_at"
    order: Literal["asc", "desc"] = "desc"


class MemberIn(BaseModel):
    username_or_email: str = Field(min_length=1, max_length=100)
    role: MemberRole


class RoleIn(BaseModel):
    role: MemberRole


class TransferIn(BaseModel):
    user_id: IdField


def work_out(work: Work, role: str | None) -> dict[str, Any]:
    fields = {name: getattr(work, name) for name in WorkOut.model_fields if hasattr(work, name)}
    return WorkOut.model_validate(
        {**fields, "role": role, "is_deleted": bool(work.is_deleted)}
    ).model_dump(mode="json")


def member_out(member: Member) -> dict[str, Any]:
    return MemberOut.model_validate(member, from_attributes=True).model_dump(mode="json")


def detail_out(detail: WorkDetail) -> dict[str, Any]:
    return {
        **work_out(detail.work, detail.role),
        "chapters": [chapter_out(chapter) for chapter in detail.chapters.items],
        "chapters_next": detail.chapters.next,
        "members": [member_out(member) for member in detail.members],
    }


@router.post("", response_model=Envelope[WorkCreatedOut], status_code=201)
async def create_work(body: WorkIn, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    work = await works.create(user, body.model_dump())
    return success({"work_id": work.id, **work_out(work, "owner")})


@router.get("", response_model=Envelope[Page[WorkOut]], summary="Works I own or am a member of")
async def list_works(
    query: Annotated[WorkListQuery, Query()], user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    page = await works.list(
        user.id,
        filters={"type": query.type, "status": query.status, "genre": query.genre},
        sort=query.sort,
        order=query.order,
        offset=query.offset,
        limit=query.page_size,
    )
    items = [work_out(work, role) for work, role in page.items]
    return success(
        {"total": page.total, "page": query.page, "page_size": query.page_size, "items": items}
    )


@router.get("/trash", response_model=Envelope[Page[WorkOut]], summary="My works in the trash")
async def list_trash(
    query: Annotated[PageQuery, Query()], user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    total, trashed = await works.list_trash(user.id, offset=query.offset, limit=query.page_size)
    items = [work_out(work, "owner") for work in trashed]
    return success(
        {"total": total, "page": query.page, "page_size": query.page_size, "items": items}
    )


@router.get("/{work_id}", response_model=Envelope[WorkDetailOut])
async def get_work(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    return success(detail_out(await works.get(user.id, work_id)))


@router.patch("/{work_id}", response_model=Envelope[WorkDetailOut], summary="Owner or editor")
async def update_work(
    work_id: IdPath, body: WorkPatch, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "status"):
        if changes.get(required, "") is None:
            changes.pop(required)
    return success(detail_out(await works.update(user.id, work_id, changes)))


@router.delete("/{work_id}", response_model=Envelope[WorkOut], summary="Move to the trash (owner)")
async def trash_work(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    return success(work_out(await works.trash(user.id, work_id), "owner"))


@router.post("/{work_id}/restore", response_model=Envelope[WorkOut], summary="Out of the trash")
async def restore_work(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    return success(work_out(await works.restore(user.id, work_id), "owner"))


@router.delete("/{work_id}/purge", response_model=Envelope[None], summary="Delete for good (owner)")
async def purge_work(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    await works.purge(user.id, work_id)
    return success(None)


@router.get("/{work_id}/stats", response_model=Envelope[StatsOut])
async def work_stats(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    work, chapters = await works.stats(user.id, work_id)
    progress = None
    if work.target_words:
        progress = round(work.word_count / work.target_words, 4)
    return success(
        {
            "work_id": work.id,
            "word_count": work.word_count,
            "chapter_count": work.chapter_count,
            "target_words": work.target_words,
            "progress": progress,
            "chapters": [
                ChapterWords.model_validate(c, from_attributes=True).model_dump() for c in chapters
            ],
        }
    )


# Members ------------------------------------------------------------------------------------


@router.get("/{work_id}/members", response_model=Envelope[list[MemberOut]])
async def list_members(work_id: IdPath, user: CurrentUser, works: WorksDep) -> dict[str, object]:
    return success([member_out(m) for m in await works.members(user.id, work_id)])


def pending_out(invitation: PendingInvitation) -> dict[str, Any]:
    return PendingInvitationOut.model_validate(invitation, from_attributes=True).model_dump(
        mode="json"
    )


@router.post(
    "/{work_id}/members",
    response_model=Envelope[MemberOut | PendingInvitationOut],
    status_code=201,
    summary="Owner invites a user (201) or an email with no account yet (202, kept as pending)",
    responses={202: {"description": "No account has this email: the invitation is kept"}},
)
async def add_member(
    work_id: IdPath,
    body: MemberIn,
    user: CurrentUser,
    works: WorksDep,
    request: Request,
    response: Response,
) -> dict[str, object]:
    added = await works.add_member(user.id, work_id, body.username_or_email, body.role)
    if isinstance(added, Member):
        return success(member_out(added))
    response.status_code = 202
    notice = PENDING_NOTICE["en" if wants_english(request) else "zh"]
    return {**success(pending_out(added)), "message": notice}


@router.get(
    "/{work_id}/invitations",
    response_model=Envelope[list[PendingInvitationOut]],
    summary="Owner: invitations waiting for someone to register with their email",
)
async def list_invitations(
    work_id: IdPath, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    return success([pending_out(i) for i in await works.pending_invitations(user.id, work_id)])


@router.delete(
    "/{work_id}/invitations/{invitation_id}",
    response_model=Envelope[None],
    summary="Owner cancels a pending invitation",
)
async def cancel_invitation(
    work_id: IdPath, invitation_id: IdPath, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    await works.cancel_invitation(user.id, work_id, invitation_id)
    return success(None)


@router.patch("/{work_id}/members/{member_id}", response_model=Envelope[MemberOut])
async def change_member(
    work_id: IdPath, member_id: IdPath, body: RoleIn, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    member = await works.change_member(user.id, work_id, member_id, body.role)
    return success(member_out(member))


@router.delete(
    "/{work_id}/members/{member_id}",
    response_model=Envelope[None],
    summary="Owner removes anyone; a member may remove themselves",
)
async def remove_member(
    work_id: IdPath, member_id: IdPath, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    await works.remove_member(user.id, work_id, member_id)
    return success(None)


@router.post(
    "/{work_id}/transfer",
    response_model=Envelope[WorkDetailOut],
    summary="Give the work to a member (owner); the old owner stays on as editor",
)
async def transfer_work(
    work_id: IdPath, body: TransferIn, user: CurrentUser, works: WorksDep
) -> dict[str, object]:
    return success(detail_out(await works.transfer(user.id, work_id, body.user_id)))
