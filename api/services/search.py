"""Search over the caller's chapters and the materials they can see.

Neither MariaDB's FULLTEXT nor SQLite's FTS5 finds two-character Chinese words, so search runs on
`search_terms`, the bigram index both engines share (see `storage.text.terms`):

1. the query is cut into terms the way texts were indexed (CJK bigrams, single CJK characters,
   lower-cased Latin words);
2. candidates are the chapters and materials holding *every* term, limited to what the caller may
   read, ranked in SQL by how often they hold the terms (`search_terms.hits`, read from the index
   alone: no text is read to rank), newest first among equals. At most `max_total` of them are
   kept per search. A query with no indexed term (single CJK characters, punctuation) scans the
   caller's texts with `LIKE` instead and counts occurrences in SQL;
3. hits are confirmed against their text: every word of the query (split on white space) must
   occur as written, ignoring case. Where the index alone decides (every word is one term: a
   two-character Chinese word, a Latin word) candidates are hits, and only the texts of the page
   asked for are read. Otherwise ("林黛玉" holds the terms of "林玉" and "黛玉" but only contains
   the latter) candidates are confirmed in rank order until the page and one more are found;
4. each hit gets its exact count of occurrences and a snippet of about `SNIPPET_CHARS` characters
   around the first hit with every hit in `<em></em>`.

So a search reads the texts of one page, however common the word and however long the work. Its
`total` counts at most `max_total` hits; `total_is_estimate` says when more matched, or when
unconfirmed candidates were counted; `has_more` says whether another page follows.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import Chapter, Material, SearchTerm, Work
from storage.text.terms import terms

from ..security.roles import readable_works
from .materials import holding_all_terms, indexed_text, query_terms, visible_to

Scope = Literal["all", "chapters", "materials"]
Kind = Literal["chapter", "material"]
SNIPPET_CHARS = 40
# Hits counted and ranked per search: bounds what a very common word costs beyond the index.
MAX_TOTAL = 1000
_CONFIRM_BATCH = 50  # candidates read per round when the index may offer false positives
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Hit:
    type: Kind
    id: int
    title: str
    work_id: int | None
    work_title: str | None
    material_type: str | None
    occurrences: int
    updated_at: datetime
    snippet: str

    def as_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "id": self.id,
            "title": self.title,
            "work_id": self.work_id,
            "work_title": self.work_title,
            "material_type": self.material_type,
            "occurrences": self.occurrences,
            "updated_at": self.updated_at,
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    type: Kind
    id: int
    score: int  # occurrences of the query's terms, as the index (or the scan) counted them

    @property
    def rank(self) -> tuple[int, bool, int]:
        return (self.score, self.type == "chapter", self.id)


@dataclass(frozen=True, slots=True)
class Found:
    total: int
    total_is_estimate: bool
    has_more: bool
    hits: list[Hit]


class Matcher:
    """The confirmation step: every word must occur in the text, case ignored."""

    def __init__(self, query: str) -> None:
        self.words = list(dict.fromkeys(query.split()))
        self._each = [re.compile(re.escape(word), re.IGNORECASE) for word in self.words]
        longest_first = sorted(self.words, key=len, reverse=True)
        self._any = re.compile("|".join(map(re.escape, longest_first)), re.IGNORECASE)

    def occurrences(self, text: str) -> int:
        """Occurrences of all the words together; 0 unless each word occurs at least once."""
        total = 0
        for pattern in self._each:
            count = sum(1 for _ in pattern.finditer(text))
            if count == 0:
                return 0
            total += count
        return total

    def found_in(self, text: str) -> bool:
        return self._any.search(text) is not None

    def snippet(self, text: str, width: int = SNIPPET_CHARS) -> str:
        """About `width` characters around the first hit, HTML-escaped, hits in `<em>`."""
        first = self._any.search(text)
        if first is None:
            return _plain(text[:width]) + ("…" if len(text) > width else "")
        start, end = first.span()
        room = max(width - (end - start), 0)
        begin = max(0, start - room // 3)
        finish = min(len(text), end + room - (start - begin))
        begin = max(0, min(begin, finish - width))
        window = text[begin:finish]
        pieces, at = [], 0
        for hit in self._any.finditer(window):
            pieces.append(_plain(window[at : hit.start()]))
            pieces.append(f"<em>{_plain(hit.group())}</em>")
            at = hit.end()
        pieces.append(_plain(window[at:]))
        prefix = "…" if begin > 0 else ""
        suffix = "…" if finish < len(text) else ""
        return prefix + "".join(pieces).strip() + suffix


def _plain(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text), quote=False)


def _index_decides(words: list[str], indexed: set[str], scanned: set[str]) -> bool:
    """Whether the candidates are exactly the hits: each word is one term of the index (or,
    with nothing indexed, exactly what the scan looks for)."""
    if indexed:
        return not scanned and all(terms(word) == {word.lower()} for word in words)
    return (scanned or set(words)) == set(words)


def _ranked(owner_type: Kind, readable: Select[Any], indexed: set[str], limit: int) -> Select[Any]:
    """Owners holding every indexed term, best first, from `idx_search_term` alone."""
    score = func.sum(SearchTerm.hits)
    return (
        holding_all_terms(owner_type, indexed)
        .add_columns(score)
        .where(SearchTerm.owner_id.in_(readable))
        .order_by(score.desc(), SearchTerm.owner_id.desc())
        .limit(limit)
    )


def _scanned(
    owner_id: Any, texts: Sequence[Any], where: ColumnElement[bool], needles: set[str], limit: int
) -> Select[Any]:
    """Rows whose text holds every needle, best first, counted in SQL (`length` is in bytes on
    MySQL and in characters on SQLite: the ratio is the count on both)."""
    score: Any = 0
    present = []
    for needle in sorted(needles):
        present.append(or_(*(text.contains(needle, autoescape=True) for text in texts)))
        for text in texts:
            removed = func.length(text) - func.length(func.replace(text, needle, ""))
            score = score + removed / func.length(needle)
    return (
        select(owner_id, score)
        .where(where, and_(*present))
        .order_by(score.desc(), owner_id.desc())
        .limit(limit)
    )


async def _candidates(
    session: AsyncSession,
    kind: Kind,
    user_id: int,
    words: list[str],
    indexed: set[str],
    scanned: set[str],
    limit: int,
) -> list[Candidate]:
    if kind == "chapter":
        readable = Chapter.work_id.in_(readable_works(user_id))
        owner_id, texts = Chapter.id, (Chapter.text,)
    else:
        readable = visible_to(user_id)
        owner_id, texts = Material.id, (Material.title, func.coalesce(Material.content, ""))
    if indexed:
        query = _ranked(kind, select(owner_id).where(readable), indexed, limit)
    else:  # nothing indexable: scan for the characters (or the words themselves)
        query = _scanned(owner_id, texts, readable, scanned or set(words), limit)
    rows = await session.execute(query)
    return [Candidate(kind, int(row_id), int(score or 0)) for row_id, score in rows]


async def _chapter_hits(session: AsyncSession, ids: list[int], matcher: Matcher) -> dict[int, Hit]:
    rows = await session.execute(
        select(
            Chapter.id,
            Chapter.work_id,
            Chapter.title,
            Chapter.chapter_number,
            Chapter.text,
            Chapter.text_updated_at,
            Chapter.updated_at,
            Work.title,
        )
        .join(Work, Work.id == Chapter.work_id)
        .where(Chapter.id.in_(ids))
    )
    hits = {}
    for chapter_id, work_id, title, number, text, text_at, updated_at, work_title in rows:
        count = matcher.occurrences(text or "")
        if count:
            hits[chapter_id] = Hit(
                type="chapter",
                id=chapter_id,
                title=title or f"第{number}章",
                work_id=work_id,
                work_title=work_title,
                material_type=None,
                occurrences=count,
                updated_at=max(filter(None, (text_at, updated_at))),
                snippet=matcher.snippet(text or ""),
            )
    return hits


async def _material_hits(session: AsyncSession, ids: list[int], matcher: Matcher) -> dict[int, Hit]:
    hits = {}
    for material in await session.scalars(select(Material).where(Material.id.in_(ids))):
        count = matcher.occurrences(indexed_text(material))
        if count:
            # Show the hit in the content when there is one there, else in the title.
            content = material.content or ""
            shown = content if matcher.found_in(content) else material.title
            hits[material.id] = Hit(
                type="material",
                id=material.id,
                title=material.title,
                work_id=None,
                work_title=None,
                material_type=material.type,
                occurrences=count,
                updated_at=material.updated_at,
                snippet=matcher.snippet(shown),
            )
    return hits


async def _confirmed(
    session: AsyncSession, candidates: list[Candidate], matcher: Matcher
) -> list[Hit]:
    """The candidates whose text holds every word, as hits, in the candidates' order."""
    chapters = [c.id for c in candidates if c.type == "chapter"]
    materials = [c.id for c in candidates if c.type == "material"]
    found = {
        "chapter": await _chapter_hits(session, chapters, matcher) if chapters else {},
        "material": await _material_hits(session, materials, matcher) if materials else {},
    }
    return [found[c.type][c.id] for c in candidates if c.id in found[c.type]]


async def search(
    session: AsyncSession,
    user_id: int,
    query: str,
    scope: Scope,
    offset: int,
    limit: int,
    *,
    max_total: int = MAX_TOTAL,
) -> Found:
    matcher = Matcher(query)
    if not matcher.words:
        return Found(0, False, False, [])
    indexed, scanned = query_terms(query)
    kinds: tuple[Kind, ...] = {
        "all": ("chapter", "material"),
        "chapters": ("chapter",),
        "materials": ("material",),
    }[scope]
    candidates: list[Candidate] = []
    for kind in kinds:
        candidates += await _candidates(
            session, kind, user_id, matcher.words, indexed, scanned, max_total + 1
        )
    candidates.sort(key=lambda c: c.rank, reverse=True)
    capped = len(candidates) > max_total
    del candidates[max_total:]
    if _index_decides(matcher.words, indexed, scanned):
        page = await _confirmed(session, candidates[offset : offset + limit], matcher)
        return Found(len(candidates), capped, offset + limit < len(candidates), page)
    hits: list[Hit] = []
    examined = 0
    while len(hits) <= offset + limit and examined < len(candidates):
        batch = candidates[examined : examined + max(_CONFIRM_BATCH, offset + limit - len(hits))]
        examined += len(batch)
        hits += await _confirmed(session, batch, matcher)
    unconfirmed = len(candidates) - examined
    return Found(
        total=len(hits) + unconfirmed,
        total_is_estimate=capped or unconfirmed > 0,
        has_more=len(hits) > offset + limit,
        hits=hits[offset : offset + limit],
    )
