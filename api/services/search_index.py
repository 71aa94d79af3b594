"""Maintain `search_terms`, the bigram index behind `/api/v1/search`.

Each row is one term of one owner's text and `hits`, how often it occurs there (search ranks by
it without reading text). A reindex writes only the difference from what is stored: an edit of a
few characters touches a few rows, not the chapter's thousands. Rows are matched by their exact
text in Python and written by id, so a case- or accent-folding collation (MySQL's `_ai_ci`) can
never make one term's change touch another's row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import SearchTerm
from storage.text.terms import _RUN, MAX_TERM_LENGTH

_CHUNK = 500  # ids per `IN (...)`: far below every engine's limit on bound parameters


def term_counts(text: str) -> Counter[str]:
    """Each term of `text` (as `storage.text.terms.terms` cuts it) and its occurrences."""
    found: Counter[str] = Counter()
    for match in _RUN.finditer(text):
        run = match.group()
        if run[0].isascii():
            found[run.lower()[:MAX_TERM_LENGTH]] += 1
        elif len(run) == 1:
            found[run] += 1
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def reindex(session: AsyncSession, owner_type: str, owner_id: int, text: str) -> None:
    """Make the indexed terms of one chapter (`chapter`) or material (`material`) those of
    `text`, with their counts."""
    wanted = term_counts(text)
    stored = await session.execute(
        select(SearchTerm.id, SearchTerm.term, SearchTerm.hits).where(
            SearchTerm.owner_type == owner_type, SearchTerm.owner_id == owner_id
        )
    )
    doomed: list[int] = []
    recounted: list[dict[str, int]] = []  # ORM bulk UPDATE by primary key
    kept: set[str] = set()
    for row_id, term, hits in stored:
        if term not in wanted or term in kept:  # gone (or a duplicate left by older code)
            doomed.append(row_id)
            continue
        kept.add(term)
        if hits != wanted[term]:
            recounted.append({"id": row_id, "hits": wanted[term]})
    for ids in _chunks(doomed):
        await session.execute(delete(SearchTerm).where(SearchTerm.id.in_(ids)))
    if recounted:
        await session.execute(update(SearchTerm), recounted)
    added = [
        {"owner_type": owner_type, "owner_id": owner_id, "term": term, "hits": hits}
        for term, hits in sorted(wanted.items())
        if term not in kept
    ]
    if added:
        await session.execute(insert(SearchTerm), added)


async def remove(session: AsyncSession, owner_type: str, owner_id: int) -> None:
    await session.execute(
        delete(SearchTerm).where(
            SearchTerm.owner_type == owner_type, SearchTerm.owner_id == owner_id
        )
    )
