"""Comments (批注) on chapters and who wrote what.

`/api/v1/chapters/{id}/comments...`: threads anchored to text, replies, resolve/reopen, delete;
`/api/v1/works/{id}/comment-policy`: whether viewers may comment (the owner decides);
`/api/v1/chapters/{id}/authorship` and `/api/v1/works/{id}/authorship`: runs of text by author
and characters per author.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..deps import AuthorshipDep, CommentsDep, CurrentUser
from ..envelope import success
from ..schemas import MAX_POSITION, Envelope, IdPath
from ..services.comments import MAX_BODY, MAX_QUOTE, Anchor

router = APIRouter(tags=["comments"])

Body = Field(min_length=1, max_length=MAX_BODY)


class RelativeAnchor(BaseModel):
    from_: dict[str, Any] = Field(alias="from", description="Y.relativePositionToJSON")
    to: dict[str, Any] = Field(description="Y.relativePositionToJSON (assoc -1)")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Body
    anchor: RelativeAnchor | None = Field(
        None, description="Yjs relative positions from the editor's own document"
    )
    from_: int | None = Field(
        None, alias="from", ge=0, le=MAX_POSITION, description="or: character indices"
    )
    to: int | None = Field(None, ge=0, le=MAX_POSITION)
    quote: str | None = Field(None, max_length=MAX_QUOTE)

    @model_validator(mode="after")
    def _one_anchor(self) -> CommentIn:
        if (self.anchor is None) == (self.from_ is None or self.to is None):
            raise ValueError("give either anchor or from and to")
        return self


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Body


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    viewers_may_comment: bool


Thread = dict[str, Any]


@router.get("/chapters/{chapter_id}/comments", response_model=Envelope[list[Thread]])
async def list_comments(chapter_id: IdPath, user: CurrentUser, comments: CommentsDep) -> Any:
    return success(await comments.list(user.id, chapter_id))


@router.post("/chapters/{chapter_id}/comments", status_code=201, response_model=Envelope[Thread])
async def create_comment(
    chapter_id: IdPath, body: CommentIn, user: CurrentUser, comments: CommentsDep
) -> Any:
    relative = (
        {"from": body.anchor.from_, "to": body.anchor.to} if body.anchor is not None else None
    )
    anchor = Anchor(relative=relative, start=body.from_, end=body.to, quote=body.quote)
    return success(await comments.create(user, chapter_id, body.body, anchor))


@router.post(
    "/chapters/{chapter_id}/comments/{thread_id}/replies",
    status_code=201,
    response_model=Envelope[Thread],
)
async def reply(
    chapter_id: IdPath, thread_id: str, body: ReplyIn, user: CurrentUser, comments: CommentsDep
) -> Any:
    return success(await comments.reply(user, chapter_id, thread_id, body.body))


@router.post("/chapters/{chapter_id}/comments/{thread_id}/resolve", response_model=Envelope[Thread])
async def resolve(
    chapter_id: IdPath, thread_id: str, user: CurrentUser, comments: CommentsDep
) -> Any:
    return success(await comments.resolve(user, chapter_id, thread_id, True))


@router.post("/chapters/{chapter_id}/comments/{thread_id}/reopen", response_model=Envelope[Thread])
async def reopen(
    chapter_id: IdPath, thread_id: str, user: CurrentUser, comments: CommentsDep
) -> Any:
    return success(await comments.resolve(user, chapter_id, thread_id, False))


@router.delete("/chapters/{chapter_id}/comments/{comment_id}", response_model=Envelope[None])
async def delete_comment(
    chapter_id: IdPath, comment_id: str, user: CurrentUser, comments: CommentsDep
) -> Any:
    await comments.delete(user, chapter_id, comment_id)
    return success(None)


@router.get("/works/{work_id}/comment-policy", response_model=Envelope[dict[str, Any]])
async def comment_policy(work_id: IdPath, user: CurrentUser, comments: CommentsDep) -> Any:
    return success(await comments.policy(user.id, work_id))


@router.put("/works/{work_id}/comment-policy", response_model=Envelope[dict[str, Any]])
async def set_comment_policy(
    work_id: IdPath, body: PolicyIn, user: CurrentUser, comments: CommentsDep
) -> Any:
    return success(await comments.set_policy(user.id, work_id, body.viewers_may_comment))


@router.get("/chapters/{chapter_id}/authorship", response_model=Envelope[dict[str, Any]])
async def chapter_authorship(
    chapter_id: IdPath, user: CurrentUser, authorship: AuthorshipDep
) -> Any:
    return success(await authorship.chapter(user.id, chapter_id))


@router.get("/works/{work_id}/authorship", response_model=Envelope[dict[str, Any]])
async def work_authorship(work_id: IdPath, user: CurrentUser, authorship: AuthorshipDep) -> Any:
    return success(await authorship.work(user.id, work_id))
