"""Materials (brief §3.1.4): the system starter library and users' own.

Who sees what: system materials (`user_id` NULL) and public materials (`is_public` = 1) are
readable by every signed-in user; a private material only by its owner. Only the owner may change
or delete a material; the system library is read-only. A material the caller may not read does not
exist for them (404), so ids cannot be probed; one they may read but not change answers 403.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.database import Database
from storage.sql.models import Material, SearchTerm
from storage.text.terms import terms

from ..errors import AppError, Err
from .search_index import index_new, reindex, remove

log = logging.getLogger(__name__)

MATERIAL_TYPES = ("character", "scene", "dialogue", "plot")
SEED_PACKAGE = "api.seed"
SEED_FILE = "materials.json"
_SEED_LOCK = "inkweave_seed_materials"


def indexed_text(material: Material) -> str:
    """What `search_terms` holds for a material, and what search confirms hits against."""
    return f"{material.title}\n{material.content or ''}"


def visible_to(user_id: int) -> ColumnElement[bool]:
    """Materials `user_id` may read: the system library, their own, everyone's public ones."""
    return or_(
        Material.user_id.is_(None),
        Material.user_id == user_id,
        Material.is_public == 1,
    )


def query_terms(query: str) -> tuple[set[str], set[str]]:
    """The query's terms as (looked up in `search_terms`, scanned for in the text).

    A text's CJK runs are indexed as bigrams, so a single CJK character of the query is usually
    inside some bigram rather than a term of its own (and may be either half of it). Such
    characters are found by scanning the candidate texts (`LIKE`) instead; everything else
    (bigrams, Latin words) comes from the index.
    """
    found = terms(query)
    scanned = {term for term in found if len(term) == 1 and not term.isascii()}
    return found - scanned, scanned


def holding_all_terms(owner_type: str, found: set[str]) -> Any:
    """Owner ids whose indexed text holds every one of `found` (a subquery).

    Each owner's terms are stored once (`reindex` stores a set), so `COUNT(*)` counts the
    distinct query terms it holds. `>=` rather than `=` keeps this right under case- or
    accent-folding collations, where one stored term may match two query terms: the extra
    candidates are dropped by the confirmation against the text.
    """
    return (
        select(SearchTerm.owner_id)
        .where(SearchTerm.owner_type == owner_type, SearchTerm.term.in_(sorted(found)))
        .group_by(SearchTerm.owner_id)
        .having(func.count() >= len(found))
    )


@dataclass(frozen=True, slots=True)
class MaterialFilter:
    type: str | None = None
    genre: str | None = None
    mine: bool = False
    q: str | None = None


async def list_materials(
    session: AsyncSession, user_id: int, where: MaterialFilter, offset: int, limit: int
) -> tuple[int, list[Material]]:
    query = select(Material).where(visible_to(user_id))
    if where.mine:
        query = query.where(Material.user_id == user_id)
    if where.type:
        query = query.where(Material.type == where.type)
    if where.genre:
        query = query.where(Material.genre == where.genre)
    if where.q:
        indexed, _ = query_terms(where.q)
        if indexed:
            query = query.where(Material.id.in_(holding_all_terms("material", indexed)))
        # The index narrows; this confirms (and drops bigram false hits, finds single characters).
        for word in where.q.split():
            needle = word.lower()
            query = query.where(
                or_(
                    func.lower(Material.title).contains(needle, autoescape=True),
                    func.lower(func.coalesce(Material.content, "")).contains(
                        needle, autoescape=True
                    ),
                )
            )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Material.updated_at.desc(), Material.id.desc()).offset(offset).limit(limit)
    )
    return int(total or 0), list(rows)


async def readable(session: AsyncSession, user_id: int, material_id: int) -> Material:
    material = await session.scalar(
        select(Material).where(Material.id == material_id, visible_to(user_id))
    )
    if material is None:
        raise AppError(Err.NOT_FOUND, f"material {material_id} not found")
    return material


async def writable(session: AsyncSession, user_id: int, material_id: int) -> Material:
    material = await readable(session, user_id, material_id)
    if material.user_id is None:
        raise AppError(Err.FORBIDDEN, "system materials are read-only")
    if material.user_id != user_id:
        raise AppError(Err.FORBIDDEN, "only the owner may change this material")
    return material


async def create_material(session: AsyncSession, user_id: int, fields: dict[str, Any]) -> Material:
    material = Material(user_id=user_id, use_count=0, **fields)
    session.add(material)
    await session.flush()
    await session.refresh(material)  # as stored: MySQL DATETIME drops the microseconds
    await reindex(session, "material", material.id, indexed_text(material))
    return material


async def update_material(
    session: AsyncSession, user_id: int, material_id: int, changes: dict[str, Any]
) -> Material:
    material = await writable(session, user_id, material_id)
    reindexed = any(
        key in changes and changes[key] != getattr(material, key) for key in ("title", "content")
    )
    for key, value in changes.items():
        setattr(material, key, value)
    await session.flush()
    await session.refresh(material)  # as stored: MySQL DATETIME drops the microseconds
    if reindexed:
        await reindex(session, "material", material.id, indexed_text(material))
    return material


async def delete_material(session: AsyncSession, user_id: int, material_id: int) -> None:
    material = await writable(session, user_id, material_id)
    await remove(session, "material", material.id)
    await session.delete(material)


async def record_use(session: AsyncSession, user_id: int, material_id: int) -> Material:
    """One insertion of the material into a chapter: `use_count + 1`, in SQL, so none are lost."""
    # The UPDATE comes first: on SQLite it makes the transaction a writer from its start, so
    # concurrent uses queue on the lock instead of failing to upgrade a read snapshot.
    result = await session.execute(
        update(Material)
        .where(Material.id == material_id, visible_to(user_id))
        # Using a material is not editing it: `updated_at` stays as it was.
        .values(use_count=Material.use_count + 1, updated_at=Material.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise AppError(Err.NOT_FOUND, f"material {material_id} not found")
    material = await session.scalar(
        select(Material).where(Material.id == material_id).execution_options(populate_existing=True)
    )
    assert material is not None
    return material


# --- the starter library ---------------------------------------------------------------------


def load_seed() -> list[dict[str, str]]:
    """The starter library in `api/seed/materials.json`; `content` may be a list of lines."""
    raw = json.loads(resources.files(SEED_PACKAGE).joinpath(SEED_FILE).read_text("utf-8"))
    entries = []
    for item in raw:
        content = item["content"]
        if isinstance(content, list):
            content = "\n".join(content)
        if item["type"] not in MATERIAL_TYPES:
            raise ValueError(f"seed material {item['title']!r} has unknown type {item['type']!r}")
        entries.append(
            {
                "title": item["title"],
                "type": item["type"],
                "genre": item["genre"],
                "content": content,
            }
        )
    return entries


async def _seed(session: AsyncSession, entries: list[dict[str, str]]) -> tuple[int, int, int]:
    """Materials added, revised and recounted."""
    existing = {
        (m.title, m.type): m
        for m in await session.scalars(select(Material).where(Material.user_id.is_(None)))
    }
    # Before any revised text is reindexed below: that would give the check a count above 1.
    recounted = await _recount_if_every_hit_is_1(session, list(existing.values()))
    added: list[Material] = []
    revised = 0
    for entry in entries:
        current = existing.get((entry["title"], entry["type"]))
        if current is None:
            added.append(Material(user_id=None, is_public=1, use_count=0, **entry))
        elif (current.genre, current.content) != (entry["genre"], entry["content"]):
            # The shipped text was revised: follow it, keeping the material's id and use_count.
            current.genre, current.content = entry["genre"], entry["content"]
            await session.flush()
            await reindex(session, "material", current.id, indexed_text(current))
            revised += 1
    if added:
        session.add_all(added)
        await session.flush()
        await index_new(session, "material", ((m.id, indexed_text(m)) for m in added))
    return len(added), revised, recounted


async def _recount_if_every_hit_is_1(session: AsyncSession, materials: list[Material]) -> int:
    """Reindex starter materials seeded by an earlier release, which stored every term's count
    as 1 (search ranked them below any other material holding the same words). Their texts
    repeat some term, so a seeded library with no count above 1 is one of those. (One indexed
    query a start; it can go once no database seeded before 2026-12-07 is left to upgrade.)"""
    ids = [material.id for material in materials]
    if not ids:
        return 0
    counted = await session.scalar(
        select(SearchTerm.id)
        .where(
            SearchTerm.owner_type == "material", SearchTerm.owner_id.in_(ids), SearchTerm.hits > 1
        )
        .limit(1)
    )
    if counted is not None:
        return 0
    for material in materials:
        await reindex(session, "material", material.id, indexed_text(material))
    return len(materials)


async def seed_system_materials(database: Database) -> None:
    """Insert the starter library once: keyed on (title, type) among system materials.

    A second start inserts nothing. On MySQL/MariaDB a named lock keeps several processes starting
    at once from inserting the same entries twice; SQLite serialises writers by itself.
    """
    entries = load_seed()
    engine = database.engine
    locked = engine.dialect.name in ("mysql", "mariadb")
    async with engine.connect() as connection:
        if locked:
            await connection.execute(text("SELECT GET_LOCK(:name, 60)"), {"name": _SEED_LOCK})
            await connection.commit()
        try:
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                added, revised, recounted = await _seed(session, entries)
                await session.commit()
        finally:
            if locked:
                await connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _SEED_LOCK})
                await connection.commit()
    if added or revised or recounted:
        log.info(
            "starter materials seeded",
            extra={"added": added, "updated": revised, "recounted": recounted},
        )
