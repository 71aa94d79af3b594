"""Maintain `search_terms`, the bigram index behind `/api/v1/search`."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import SearchTerm
from storage.text.terms import terms


async def reindex(session: AsyncSession, owner_type: str, owner_id: int, text: str) -> None:
    """Replace the indexed terms of one chapter (`chapter`) or material (`material`)."""
    await remove(session, owner_type, owner_id)
    found = sorted(terms(text))
    if found:
        await session.execute(
            insert(SearchTerm),
            [{"owner_type": owner_type, "owner_id": owner_id, "term": term} for term in found],
        )


async def remove(session: AsyncSession, owner_type: str, owner_id: int) -> None:
    await session.execute(
        delete(SearchTerm).where(
            SearchTerm.owner_type == owner_type, SearchTerm.owner_id == owner_id
        )
    )
