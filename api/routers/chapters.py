"""Chapters, their live content and their named versions.

`/api/v1/works/{work_id}/chapters...` lists, adds and reorders; `/api/v1/chapters/{id}...` renames,
deletes, reads content and manages versions; `PUT /api/v1/works/{work_id}/content` saves
(brief §4.3.2). Content goes to and comes from the chapter's live CRDT document, never a copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from storage.docs.base import VersionInfo
from storage.sql.models import Chapter
from storage.text.wordcount import count_words

from ..deps import ChaptersDep, CurrentUser, VersionChangesDep
from ..envelope import success
from ..schemas import (
    LOCALIZED_REASONS,
    MAX_PAGE,
    CursorPage,
    Envelope,
    Id,
    IdField,
    IdPath,
    Page,
    PageQuery,
)
from ..services.chapter_pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ChapterPage
from ..services.chapters import MAX_CONTENT_CHARS

router = APIRouter(tags=["chapters"])


class ChapterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(
        None, min_length=1, max_length=200, description="Default: 第N章 for chapter N"
    )


class ChapterPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)


class ReorderIn(BaseModel):
    chapter_ids: list[IdField] = Field(
        min_length=1, max_length=10_000, description="Every chapter of the work, in the new order"
    )


class ContentIn(BaseModel):
    chapter_id: IdField
    content: str = Field(max_length=MAX_CONTENT_CHARS, description="The whole chapter text")
    auto_save: bool = Field(
        True, description="false: a manual save, which also names a version of the chapter"
    )


class VersionIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _chapter_page_size(size: int) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise PydanticCustomError("chapter_page_size", LOCALIZED_REASONS["chapter_page_size"][1])
    return size


ChapterPageSize = Annotated[
    int,
    AfterValidator(_chapter_page_size),
    Field(json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE}),
]


class ChapterListQuery(BaseModel):
    after: Id | None = Field(
        None,
        description="Continue after this chapter (the previous page's `next`): a keyset page, "
        "what clients should walk with; chapters added or deleted meanwhile are neither "
        "repeated nor skipped",
    )
    page: int | None = Field(
        None, ge=1, le=MAX_PAGE, description="Or a page number, as other lists (not with after)"
    )
    page_size: ChapterPageSize = Field(
        DEFAULT_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} by default"
    )
    fields: Literal["full", "summary"] = Field(
        "full", description="summary: id, chapter_number, title, word_count, updated_at only"
    )

    @model_validator(mode="after")
    def _one_way(self) -> ChapterListQuery:
        if self.page is not None and self.after is not None:
            raise PydanticCustomError("page_or_after", LOCALIZED_REASONS["page_or_after"][1])
        return self

    @property
    def offset(self) -> int:
        return ((self.page or 1) - 1) * self.page_size


class ChapterSummaryOut(BaseModel):
    """A line of a table of contents."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    chapter_number: int
    title: str | None
    word_count: int
    updated_at: datetime


class ChapterOut(ChapterSummaryOut):
    work_id: int
    content_id: str = Field(description="The document to open over /sync/{content_id}")
    sort_order: int
    text_updated_at: datetime | None
    created_at: datetime


class ContentOut(BaseModel):
    chapter_id: int
    work_id: int
    content_id: str
    title: str | None
    content: str
    meta: dict[str, Any]
    word_count: int
    role: str


class SavedOut(BaseModel):
    saved: bool
    changed: bool = Field(description="false when the content was already this text")
    chapter_id: int
    word_count: int
    saved_at: datetime
    version_id: int | None = Field(description="The version a manual save named")


class VersionOut(BaseModel):
    id: int
    chapter_id: int
    name: str
    author: str | None
    created_at: datetime
    size: int


class VersionTextOut(VersionOut):
    content: str
    meta: dict[str, Any]
    word_count: int


class RestoredOut(BaseModel):
    version: VersionOut
    changed: bool
    content: str
    word_count: int
    pre_restore_version: VersionOut | None = Field(
        description="The version (named 恢复前 and the time) kept of the text just before the "
        "restore: restoring it undoes this restore. null when nothing changed."
    )


class TrashedChapterOut(BaseModel):
    id: int
    work_id: int
    work_title: str
    title: str | None
    position: int = Field(description="Where it was; a restore puts it back there (or at the end)")
    word_count: int
    deleted_at: datetime


def chapter_out(chapter: Chapter) -> dict[str, Any]:
    return ChapterOut.model_validate(chapter).model_dump(mode="json")


def chapter_summary_out(chapter: Chapter) -> dict[str, Any]:
    return ChapterSummaryOut.model_validate(chapter).model_dump(mode="json")


def chapter_page_out(total: int, page: ChapterPage, query: ChapterListQuery) -> dict[str, Any]:
    shape = chapter_summary_out if query.fields == "summary" else chapter_out
    return {
        "total": total,
        "page": None if query.after is not None else query.page or 1,
        "page_size": query.page_size,
        "items": [shape(chapter) for chapter in page.items],
        "has_more": page.has_more,
        "next": page.next,
    }


def version_out(info: VersionInfo, chapter_id: int) -> dict[str, Any]:
    return VersionOut(
        id=info.id,
        chapter_id=chapter_id,
        name=info.name,
        author=info.author,
        created_at=info.created_at,
        size=info.size,
    ).model_dump(mode="json")


# Under a work -------------------------------------------------------------------------------


@router.get(
    "/works/{work_id}/chapters",
    response_model=Envelope[CursorPage[ChapterOut | ChapterSummaryOut]],
    summary="A page of the work's chapters, in order: walk it with after=next",
)
async def list_chapters(
    work_id: IdPath,
    query: Annotated[ChapterListQuery, Query()],
    user: CurrentUser,
    chapters: ChaptersDep,
) -> dict[str, object]:
    total, page = await chapters.page(
        user.id, work_id, limit=query.page_size, after=query.after, offset=query.offset
    )
    return success(chapter_page_out(total, page, query))


@router.post(
    "/works/{work_id}/chapters",
    response_model=Envelope[ChapterOut],
    status_code=201,
    summary="Add a chapter at the end (owner or editor)",
)
async def create_chapter(
    work_id: IdPath, body: ChapterIn, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    return success(chapter_out(await chapters.create(user.id, work_id, body.title)))


@router.post(
    "/works/{work_id}/chapters/reorder",
    response_model=Envelope[list[ChapterOut]],
    summary="Put the chapters in a new order; they are renumbered 1..n",
)
async def reorder_chapters(
    work_id: IdPath, body: ReorderIn, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    ordered = await chapters.reorder(user.id, work_id, body.chapter_ids)
    return success([chapter_out(c) for c in ordered])


@router.put(
    "/works/{work_id}/content",
    response_model=Envelope[SavedOut],
    summary="Save a chapter's text: the difference goes live to every connected editor",
)
async def save_content(
    work_id: IdPath, body: ContentIn, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    saved = await chapters.save(
        user, work_id, body.chapter_id, body.content, auto_save=body.auto_save
    )
    return success(
        SavedOut(
            saved=True,
            changed=saved.changed,
            chapter_id=saved.chapter.id,
            word_count=saved.word_count,
            saved_at=saved.saved_at,
            version_id=saved.version.id if saved.version else None,
        ).model_dump(mode="json")
    )


# The trash (before /chapters/{chapter_id}) --------------------------------------------------


@router.get(
    "/chapters/trash",
    response_model=Envelope[Page[TrashedChapterOut]],
    summary="Deleted chapters of the works I own or edit, newest first",
)
async def list_chapter_trash(
    query: Annotated[PageQuery, Query()], user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    total, items = await chapters.trash(user.id, offset=query.offset, limit=query.page_size)
    rows = [
        TrashedChapterOut(
            id=item.chapter.id,
            work_id=item.chapter.work_id,
            work_title=item.work_title,
            title=item.chapter.title,
            position=item.chapter.position,
            word_count=item.chapter.word_count,
            deleted_at=item.chapter.deleted_at,
        ).model_dump(mode="json")
        for item in items
    ]
    return success(
        {"total": total, "page": query.page, "page_size": query.page_size, "items": rows}
    )


@router.post(
    "/chapters/{chapter_id}/restore",
    response_model=Envelope[ChapterOut],
    summary="Out of the trash, back at its position (or at the end), text and versions intact",
)
async def restore_chapter(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    return success(chapter_out(await chapters.restore(user.id, chapter_id)))


@router.delete(
    "/chapters/{chapter_id}/purge",
    response_model=Envelope[None],
    summary="Delete a chapter in the trash for good (owner or editor)",
)
async def purge_chapter(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    await chapters.purge(user.id, chapter_id)
    return success(None)


# One chapter --------------------------------------------------------------------------------


@router.get("/chapters/{chapter_id}", response_model=Envelope[ChapterOut])
async def get_chapter(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    return success(chapter_out(await chapters.get(user.id, chapter_id)))


@router.patch("/chapters/{chapter_id}", response_model=Envelope[ChapterOut])
async def rename_chapter(
    chapter_id: IdPath, body: ChapterPatch, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    return success(chapter_out(await chapters.rename(user.id, chapter_id, body.title)))


@router.delete("/chapters/{chapter_id}", response_model=Envelope[None], summary="Move to the trash")
async def delete_chapter(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    await chapters.delete(user.id, chapter_id)
    return success(None)


@router.get(
    "/chapters/{chapter_id}/content",
    response_model=Envelope[ContentOut],
    summary="The text live editors see right now",
)
async def chapter_content(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    content = await chapters.content(user.id, chapter_id)
    chapter = content.chapter
    return success(
        ContentOut(
            chapter_id=chapter.id,
            work_id=chapter.work_id,
            content_id=chapter.content_id,
            title=chapter.title,
            content=content.text,
            meta=content.meta,
            word_count=content.word_count,
            role=content.role,
        ).model_dump(mode="json")
    )


# Versions -----------------------------------------------------------------------------------


@router.post(
    "/chapters/{chapter_id}/versions",
    response_model=Envelope[VersionOut],
    status_code=201,
    summary="Name the chapter's current state (owner or editor)",
)
async def create_version(
    chapter_id: IdPath, body: VersionIn, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    info = await chapters.create_version(user, chapter_id, body.name)
    return success(version_out(info, chapter_id))


@router.get("/chapters/{chapter_id}/versions", response_model=Envelope[list[VersionOut]])
async def list_versions(
    chapter_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    versions = await chapters.versions(user.id, chapter_id)
    return success([version_out(info, chapter_id) for info in versions])


@router.get("/chapters/{chapter_id}/versions/{version_id}", response_model=Envelope[VersionTextOut])
async def read_version(
    chapter_id: IdPath, version_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    found = await chapters.version(user.id, chapter_id, version_id)
    return success(
        {
            **version_out(found.info, chapter_id),
            "content": found.text,
            "meta": found.meta,
            "word_count": count_words(found.text),
        }
    )


@router.get(
    "/chapters/{chapter_id}/versions/{version_id}/changes",
    response_model=Envelope[dict[str, Any]],
    summary="Who changed what: runs of same, inserted (with their author) and deleted text from "
    "the previous version (or `against`: a version id, or `current` for the changes since this "
    "version) to this one, and characters inserted and deleted per author",
)
async def version_changes(
    chapter_id: IdPath,
    version_id: IdPath,
    user: CurrentUser,
    changes: VersionChangesDep,
    against: Annotated[str | None, Query(pattern=r"^(current|[0-9]{1,18})$")] = None,
) -> dict[str, object]:
    return success(await changes.changes(user.id, chapter_id, version_id, against))


@router.post(
    "/chapters/{chapter_id}/versions/{version_id}/restore",
    response_model=Envelope[RestoredOut],
    summary="Make the live chapter equal a version, as new operations; the text it replaces "
    "is kept as a version first (pre_restore_version), so the restore is undone by restoring that",
)
async def restore_version(
    chapter_id: IdPath, version_id: IdPath, user: CurrentUser, chapters: ChaptersDep
) -> dict[str, object]:
    restored = await chapters.restore_version(user, chapter_id, version_id)
    pre_restore = restored.pre_restore
    return success(
        {
            "version": version_out(restored.version, chapter_id),
            "changed": restored.changed,
            "content": restored.content.text,
            "word_count": restored.content.word_count,
            "pre_restore_version": version_out(pre_restore, chapter_id) if pre_restore else None,
        }
    )
