"""The chapter trash: a deleted chapter's row moves from `chapters` to `chapter_trash`.

Moving the row (rather than flagging it) keeps one rule for every reader of `chapters` (the
chapter list, search, exports, the AI's context, `/sync`'s access check, the projection): what is
there is live. The chapter's document stays in the store, versions and all, so a restore brings
it back whole. Counters only ever count `chapters`, so they move by the chapter's words here, and
`recount_work` agrees with them.

Restoring puts the chapter back at the position it had (the chapters from there on move down
one), or at the end when the work has fewer chapters by now. It keeps its id unless a new chapter
took it meanwhile (SQLite hands out the highest id again once it is free); it then gets a new one,
its document (`content_id`) being the same. Trashed chapters are deleted for good after
`INKWEAVE_CHAPTER_TRASH_RETENTION_S` by the `purge_chapter_trash` periodic job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from storage.sql.models import Chapter, DocAuthor, TrashedChapter, Work, WorkMember
from storage.text.wordcount import count_words

from .counters import add_to_work
from .search_index import reindex
from .search_index import remove as remove_terms

_NO_SYNC = {"synchronize_session": False}


@dataclass(slots=True)
class TrashedItem:
    chapter: TrashedChapter
    work_title: str


async def move_to_trash(
    session: AsyncSession, work: Work, chapter: Chapter, user_id: int, at: datetime
) -> None:
    """Move `chapter` (locked, with its text loaded) to the trash; the ones after it move up.
    The caller holds `lock_counters` on `work`."""
    session.add(
        TrashedChapter(
            id=chapter.id,
            work_id=chapter.work_id,
            position=chapter.sort_order,
            title=chapter.title,
            content_id=chapter.content_id,
            word_count=chapter.word_count,
            text=chapter.text,
            text_updated_at=chapter.text_updated_at,
            created_at=chapter.created_at,
            deleted_at=at,
            deleted_by=user_id,
        )
    )
    position, words = chapter.sort_order, chapter.word_count
    await remove_terms(session, "chapter", chapter.id)
    await session.delete(chapter)
    await session.flush()
    await _shift(session, work.id, after=position, by=-1)
    await add_to_work(session, work, chapters=-1, words=-words)


async def put_back(
    session: AsyncSession, work: Work, trashed: TrashedChapter, text: str
) -> Chapter:
    """Move `trashed` back into the work with `text` (its document's text now). The caller holds
    `lock_counters` on `work`."""
    # Positions are 1..n: the last one is how many chapters are live (as `Chapters.create`).
    last = await session.scalar(
        select(func.max(Chapter.sort_order)).where(Chapter.work_id == work.id).with_for_update()
    )
    position = min(trashed.position, int(last or 0) + 1)
    await _shift(session, work.id, after=position - 1, by=1)
    taken = await session.get(Chapter, trashed.id, options=[defer(Chapter.text)])
    words = count_words(text)
    chapter = Chapter(
        id=None if taken is not None else trashed.id,
        work_id=work.id,
        chapter_number=position,
        sort_order=position,
        title=trashed.title,
        content_id=trashed.content_id,
        word_count=words,
        text=text,
        text_updated_at=trashed.text_updated_at,
        created_at=trashed.created_at,
    )
    await session.delete(trashed)
    await session.flush()  # the trash row (and its unique content_id) goes first
    session.add(chapter)
    await session.flush()
    await reindex(session, "chapter", chapter.id, text)
    await add_to_work(session, work, chapters=1, words=words)
    return chapter


async def purge(session: AsyncSession, trashed: TrashedChapter) -> None:
    """Delete a trashed chapter for good: its row and who wrote into its document. The
    document's log stays in the store unreachable, as a purged work's chapters' do: no row names
    it, so no token opens it."""
    await session.execute(delete(DocAuthor).where(DocAuthor.doc == trashed.content_id))
    await session.delete(trashed)


async def _shift(session: AsyncSession, work_id: int, *, after: int, by: int) -> None:
    """Move the work's chapters past position `after` by `by` places (positions stay 1..n)."""
    await session.execute(
        update(Chapter)
        .where(Chapter.work_id == work_id, Chapter.sort_order > after)
        .values(chapter_number=Chapter.chapter_number + by, sort_order=Chapter.sort_order + by)
        .execution_options(**_NO_SYNC)
    )


async def trashed_page(
    session: AsyncSession, user_id: int, *, offset: int, limit: int
) -> tuple[int, list[TrashedItem]]:
    """The trashed chapters of the live works `user_id` owns or edits, newest first."""
    mine = and_(WorkMember.work_id == Work.id, WorkMember.user_id == user_id)
    where = and_(Work.is_deleted == 0, or_(Work.user_id == user_id, WorkMember.role == "editor"))
    base = (
        select(TrashedChapter, Work.title)
        .options(defer(TrashedChapter.text))
        .join(Work, Work.id == TrashedChapter.work_id)
        .outerjoin(WorkMember, mine)
        .where(where)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(TrashedChapter.deleted_at.desc(), TrashedChapter.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), [TrashedItem(row[0], str(row[1])) for row in rows.all()]
