"""One page of a work's chapter list, in order, without their text.

Chapters are ordered by `sort_order` (their position, 1..n) and then id. A page starts either
after a chapter (`after`: keyset paging on `idx_chapters_work_order`, what clients should use:
a page costs the same at chapter 5,000 as at chapter 1, and a chapter added or deleted elsewhere
while a client pages neither repeats nor skips one) or at an offset (`page`/`page_size`, as every
other list of this API). The anchor is resolved to its current position, so deleting a chapter
before it (which moves the rest up) does not shift the next page either.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from storage.sql.models import Chapter

from ..errors import AppError, Err

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


@dataclass(slots=True)
class ChapterPage:
    items: list[Chapter]
    has_more: bool

    @property
    def next(self) -> int | None:
        """The `after` that continues this list; None on its last page."""
        return self.items[-1].id if self.has_more and self.items else None


# The page's statements, built once (a statement and its cache key cost 80–150 µs to build,
# bench/README.md); the work, the anchor and the page are bound when they run.
_IN_ORDER = (
    select(Chapter)
    .options(defer(Chapter.text))  # most of each row; a page leaves it unread
    .where(Chapter.work_id == bindparam("work_id"))
    .order_by(Chapter.sort_order, Chapter.id)
)
_FROM_OFFSET = _IN_ORDER.offset(bindparam("offset")).limit(bindparam("limit"))
_AFTER_ANCHOR = _IN_ORDER.where(
    Chapter.sort_order >= bindparam("anchor"),  # a range on the index for MariaDB, not a filter
    or_(Chapter.sort_order > bindparam("anchor"), Chapter.id > bindparam("after")),
).limit(bindparam("limit"))
_ANCHOR = select(Chapter.sort_order).where(
    Chapter.id == bindparam("after"), Chapter.work_id == bindparam("work_id")
)


async def chapter_page(
    session: AsyncSession,
    work_id: int,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    after: int | None = None,
    offset: int = 0,
) -> ChapterPage:
    if after is None:
        query = _FROM_OFFSET
        parameters = {"work_id": work_id, "offset": offset, "limit": limit + 1}
    else:
        anchor = await session.scalar(_ANCHOR, {"after": after, "work_id": work_id})
        if anchor is None:
            raise AppError(
                Err.NOT_FOUND,
                f"after={after}: this work has no such chapter (deleted?); "
                "list again from the first page",
            )
        query = _AFTER_ANCHOR
        parameters = {"work_id": work_id, "anchor": anchor, "after": after, "limit": limit + 1}
    rows = list(await session.scalars(query, parameters))
    return ChapterPage(rows[:limit], len(rows) > limit)
