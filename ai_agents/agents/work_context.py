"""What the agents read of a work from SQL: a chapter, and the work as a story bible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from storage.sql.database import Database
from storage.sql.models import Chapter, Material, Work

from ..context import Bible
from .work_notes import load_notes

MATERIAL_TYPES = ("character", "scene", "plot")
MATERIALS_READ = 30


@dataclass(frozen=True, slots=True)
class WorkContext:
    bible: Bible
    chapters: list[Chapter]  # in reading order
    corpus: list[str]  # the work's other text, for the offline provider's style


async def existing_chapter(database: Database, chapter_id: int | None) -> Chapter:
    async with database.session() as session:
        chapter = await session.get(Chapter, chapter_id) if chapter_id is not None else None
    if chapter is None:
        raise RuntimeError(f"chapter {chapter_id} is gone")
    return chapter


async def work_chapters(database: Database, work_id: int | None) -> list[Chapter]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(Chapter)
                .where(Chapter.work_id == work_id)
                .order_by(Chapter.sort_order, Chapter.id)
            )
        )


async def work_context(
    database: Database, work_id: int | None, chapter: Chapter | None, meta: dict[str, Any]
) -> WorkContext:
    """The work's bible (with `chapter`'s meta), chapters and corpus (all but `chapter`)."""
    async with database.session() as session:
        work = await session.get(Work, work_id)
        if work is None:
            raise RuntimeError(f"work {work_id} is gone")
        materials = list(
            await session.scalars(
                select(Material)
                .where(Material.user_id == work.user_id, Material.type.in_(MATERIAL_TYPES))
                .order_by(Material.updated_at.desc())
                .limit(MATERIALS_READ)
            )
        )
    chapters = await work_chapters(database, work.id)
    bible = Bible(
        title=work.title,
        kind=work.type,
        genre=work.genre,
        style=work.style,
        materials=[(m.type, m.title, m.content or "") for m in materials],
        meta=meta,
        notes=await load_notes(database, work.id),
    )
    corpus = [c.text for c in chapters if c.text and (chapter is None or c.id != chapter.id)]
    corpus += [m.content or "" for m in materials]
    return WorkContext(bible, chapters, corpus)
