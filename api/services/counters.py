"""The counters derived from rows below them: `works.chapter_count`, `works.word_count` (sum over
its chapters), `users.total_works` and `users.total_words` (over the works a user owns that are
not in the trash).

A work's counters move by the difference each write makes (`add_to_work`): adding the 5,000th
chapter or saving its text costs what the first did, where a recount would read every chapter.
The recounts (`recount_work`, `recount_user`: one UPDATE from the rows, right whatever ran before)
serve what changes a user's set of works, and `inkweave reproject`, which repairs everything.
Every writer takes its locks with `lock_counters` first.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import Chapter, User, Work

_NO_SYNC = {"synchronize_session": False}


async def recount_work(session: AsyncSession, work_id: int) -> None:
    words = (
        select(func.coalesce(func.sum(Chapter.word_count), 0))
        .where(Chapter.work_id == work_id)
        .scalar_subquery()
    )
    chapters = select(func.count(Chapter.id)).where(Chapter.work_id == work_id).scalar_subquery()
    await session.execute(
        update(Work)
        .where(Work.id == work_id)
        .values(word_count=words, chapter_count=chapters)
        .execution_options(**_NO_SYNC)
    )


async def add_to_work(
    session: AsyncSession, work: Work, *, chapters: int = 0, words: int = 0
) -> None:
    """Move a work's counters (and its owner's `total_words`, unless the work is in the trash) by
    the difference a write made. The caller holds `lock_counters` on `work`."""
    await session.execute(
        update(Work)
        .where(Work.id == work.id)
        .values(chapter_count=Work.chapter_count + chapters, word_count=Work.word_count + words)
        .execution_options(**_NO_SYNC)
    )
    if words and not work.is_deleted:
        await session.execute(
            update(User)
            .where(User.id == work.user_id)
            .values(total_words=User.total_words + words)
            .execution_options(**_NO_SYNC)
        )


async def recount_user(session: AsyncSession, user_id: int) -> None:
    live = and_(Work.user_id == user_id, Work.is_deleted == 0)
    words = select(func.coalesce(func.sum(Work.word_count), 0)).where(live).scalar_subquery()
    works = select(func.count(Work.id)).where(live).scalar_subquery()
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(total_words=words, total_works=works)
        .execution_options(**_NO_SYNC)
    )


async def lock_counters(
    session: AsyncSession, *, work_id: int | None = None, user_ids: Iterable[int] = ()
) -> Work | None:
    """Lock what a change of counters will write, in the one order every writer uses: the user
    rows (the work's owner and `user_ids`, by id), then the work row. Writers that took them in
    other orders deadlocked each other on MariaDB (a recount of a user reads all their works).

    Returns the work, locked, when `work_id` names one.
    """
    users = set(user_ids)
    if work_id is not None:
        owner = await session.scalar(select(Work.user_id).where(Work.id == work_id))
        if owner is not None:
            users.add(owner)
    if users:
        # A no-op UPDATE takes the row locks in primary-key order on MariaDB, and the write lock
        # on SQLite (which ignores FOR UPDATE).
        await session.execute(
            update(User)
            .where(User.id.in_(sorted(users)))
            .values(id=User.id)
            .execution_options(**_NO_SYNC)
        )
    if work_id is None:
        return None
    return await session.get(Work, work_id, with_for_update=True, populate_existing=True)
