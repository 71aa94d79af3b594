"""Maintain `search_terms`, the bigram index behind `/api/v1/search`.

Each row is one term of one owner's text and `hits`, how often it occurs there (search ranks by
it without reading text). A reindex writes only the difference from what is stored: an edit of a
few characters touches a few rows, not the chapter's thousands. Rows are matched by their exact
text in Python and written by id, so a case- or accent-folding collation (MySQL's `_ai_ci`) can
never make one term's change touch another's row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import SearchTerm
from storage.text.terms import term_counts

# Ids per `IN (...)`, far below every engine's limit on bound parameters; also the rows of one
# INSERT where `index_new` writes many owners' terms.
_CHUNK = 500
# Written through the table, not the mapped class: the ORM's bulk INSERT and UPDATE spend Python
# time per row on what these rows do not need (identity, events, defaults).
_TERMS = SearchTerm.__table__
_RECOUNT = (
    update(_TERMS).where(_TERMS.c.id == bindparam("row_id")).values(hits=bindparam("new_hits"))
)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def reindex(session: AsyncSession, owner_type: str, owner_id: int, text: str) -> None:
    """Make the indexed terms of one chapter (`chapter`) or material (`material`) those of
    `text`, with their counts."""
    await _write_differences(session, owner_type, {owner_id: term_counts(text)}, only=None)


async def index_new(
    session: AsyncSession, owner_type: str, texts: Iterable[tuple[int, str]]
) -> None:
    """Index owners that have no stored terms yet (just inserted), from `(owner_id, text)`
    pairs: nothing to read, and the rows go out a chunk at a time, so that a large batch (the
    starter library on a fresh database) never sits in memory whole."""
    rows: list[dict[str, Any]] = []
    for owner_id, text in texts:
        counts = term_counts(text)
        rows += (
            {"owner_type": owner_type, "owner_id": owner_id, "term": term, "hits": counts[term]}
            for term in sorted(counts)
        )
        if len(rows) >= _CHUNK:
            await session.execute(_TERMS.insert(), rows)
            rows = []
    if rows:
        await session.execute(_TERMS.insert(), rows)


async def reindex_edit(
    session: AsyncSession, owner_type: str, owner_id: int, before: str, after: str
) -> None:
    """Move the indexed terms of one owner from those of `before` to those of `after`, reading
    and writing only the terms whose count changed: a few rows for a typed sentence, where
    `reindex` reads all of a chapter's thousands. The stored terms must be those of `before`
    (the projection stores a chapter's text and its terms in one transaction); `reindex`
    re-derives them whatever they are (a rebuild, after the way terms are cut has changed)."""
    old, new = term_counts(before), term_counts(after)
    changed = {term for term in old.keys() | new.keys() if old[term] != new[term]}
    if changed:
        await _write_differences(session, owner_type, {owner_id: new}, only=changed)


async def _stored_terms(
    session: AsyncSession, owner_type: str, owners: Sequence[int], only: AbstractSet[str] | None
) -> dict[int, list[tuple[int, str, int]]]:
    """The stored rows (id, term, hits) of `owners`; of the terms `only` (and any other that a
    folding collation finds equal to one of them) when given."""
    stored: dict[int, list[tuple[int, str, int]]] = {owner: [] for owner in owners}
    rows = select(SearchTerm.owner_id, SearchTerm.id, SearchTerm.term, SearchTerm.hits).where(
        SearchTerm.owner_type == owner_type
    )
    queries = [rows.where(SearchTerm.owner_id.in_(chunk)) for chunk in _chunks(owners)]
    if only is not None:
        picked = list(_chunks(sorted(only)))
        queries = [query.where(SearchTerm.term.in_(terms)) for query in queries for terms in picked]
    for query in queries:
        for owner_id, row_id, term, hits in await session.execute(query):
            stored[owner_id].append((row_id, term, hits))
    return stored


async def _write_differences(
    session: AsyncSession,
    owner_type: str,
    wanted: Mapping[int, Counter[str]],
    *,
    only: AbstractSet[str] | None,
) -> None:
    """Write what differs between the stored terms of each owner and `wanted` (its text's
    `term_counts`): one read of their stored terms and one statement per kind of change for
    all; with `only`,
    of those terms alone. A row that a folding collation matched to one of them holds a term
    whose count did not change (`reindex_edit`): it is compared like the others and left as it
    is."""
    owners = sorted(wanted)
    stored = await _stored_terms(session, owner_type, owners, only)
    doomed: list[int] = []
    recounted: list[dict[str, int]] = []
    added: list[dict[str, Any]] = []
    for owner_id in owners:
        terms = wanted[owner_id]
        kept: set[str] = set()
        for row_id, term, hits in stored[owner_id]:
            if term not in terms or term in kept:  # gone (or a duplicate left by older code)
                doomed.append(row_id)
                continue
            kept.add(term)
            if hits != terms[term]:
                recounted.append({"row_id": row_id, "new_hits": terms[term]})
        candidates = terms.keys() if only is None else terms.keys() & only
        added.extend(
            {"owner_type": owner_type, "owner_id": owner_id, "term": term, "hits": terms[term]}
            for term in sorted(candidates)
            if term not in kept
        )
    for ids in _chunks(doomed):
        await session.execute(delete(_TERMS).where(_TERMS.c.id.in_(ids)))
    if recounted:
        await session.execute(_RECOUNT, recounted)
    if added:
        await session.execute(_TERMS.insert(), added)


async def remove(session: AsyncSession, owner_type: str, owner_id: int) -> None:
    await session.execute(
        delete(SearchTerm).where(
            SearchTerm.owner_type == owner_type, SearchTerm.owner_id == owner_id
        )
    )
