"""Emptying the chapter trash: chapters deleted longer ago than the retention go for good.

As `api.services.chapter_trash.purge` does for one: the row and who wrote into its document go;
the document's log stays in the store, unreachable (no row names it, so no token opens it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from storage.sql.database import Database
from storage.sql.models import DocAuthor, TrashedChapter

_BATCH = 500


async def purge_chapter_trash(
    database: Database, retention_s: float, *, now: datetime | None = None
) -> str:
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=retention_s)
    purged = 0
    while True:
        async with database.session() as session:
            rows = (
                await session.execute(
                    select(TrashedChapter.id, TrashedChapter.content_id)
                    .where(TrashedChapter.deleted_at < cutoff)
                    .limit(_BATCH)
                )
            ).all()
            if not rows:
                break
            await session.execute(
                delete(DocAuthor).where(DocAuthor.doc.in_([row[1] for row in rows]))
            )
            await session.execute(
                delete(TrashedChapter).where(TrashedChapter.id.in_([row[0] for row in rows]))
            )
        purged += len(rows)
    return f"purged {purged} chapters from the trash"
