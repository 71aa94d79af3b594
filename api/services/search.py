"""Search over the caller's chapters and the materials they can see.

Neither MariaDB's FULLTEXT nor SQLite's FTS5 finds two-character Chinese words, so search runs on
`search_terms`, the bigram index both engines share (see `storage.text.terms`):

1. the query is cut into terms the way texts were indexed (CJK bigrams, single CJK characters,
   lower-cased Latin words);
2. candidates are the chapters and materials holding *every* term (`GROUP BY owner HAVING ...`),
   limited to what the caller may read. A single CJK character is mostly indexed only inside
   bigrams, so it is looked for with `LIKE` among the caller's candidates instead;
3. each candidate is confirmed against its text: every word of the query (split on white space)
   must occur as written, ignoring case. This drops bigram false positives: "林黛玉" holds the
   terms of "林玉" and "黛玉" but only contains the latter;
4. hits are ordered by number of occurrences, then by recency, and get a snippet of about
   `SNIPPET_CHARS` characters around the first hit with every hit in `<em></em>`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import Chapter, Material, Work

from ..security.roles import readable_works
from .materials import holding_all_terms, indexed_text, query_terms, visible_to

Scope = Literal["all", "chapters", "materials"]
SNIPPET_CHARS = 40
# Candidates confirmed per kind, most recent first: bounds the text read for a very common term.
MAX_CANDIDATES = 2000
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Hit:
    type: Literal["chapter", "material"]
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


def _candidates(
    owner_type: str,
    owner_id: Any,
    texts: tuple[Any, ...],
    indexed: set[str],
    scanned: set[str],
    words: list[str],
) -> ColumnElement[bool]:
    """Rows that may match: every indexed term held, every scanned character present."""
    conditions: list[ColumnElement[bool]] = []
    if indexed:
        conditions.append(owner_id.in_(holding_all_terms(owner_type, indexed)))
    # Nothing indexable at all (punctuation, symbols): scan for the words themselves.
    needles = scanned if indexed or scanned else set(words)
    for needle in sorted(needles):
        conditions.append(or_(*(column.contains(needle, autoescape=True) for column in texts)))
    return and_(true(), *conditions)


async def _chapter_hits(
    session: AsyncSession, user_id: int, where: ColumnElement[bool], matcher: Matcher
) -> list[Hit]:
    recency = Chapter.updated_at
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
        .where(
            Chapter.work_id.in_(readable_works(user_id)),
            where,
        )
        .order_by(recency.desc(), Chapter.id.desc())
        .limit(MAX_CANDIDATES)
    )
    hits = []
    for chapter_id, work_id, title, number, text, text_at, updated_at, work_title in rows:
        count = matcher.occurrences(text or "")
        if count:
            hits.append(
                Hit(
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
            )
    return hits


async def _material_hits(
    session: AsyncSession, user_id: int, where: ColumnElement[bool], matcher: Matcher
) -> list[Hit]:
    rows = await session.scalars(
        select(Material)
        .where(visible_to(user_id), where)
        .order_by(Material.updated_at.desc(), Material.id.desc())
        .limit(MAX_CANDIDATES)
    )
    hits = []
    for material in rows:
        text = indexed_text(material)
        count = matcher.occurrences(text)
        if count:
            # Show the hit in the content when there is one there, else in the title.
            content = material.content or ""
            shown = content if matcher.found_in(content) else material.title
            hits.append(
                Hit(
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
            )
    return hits


async def search(
    session: AsyncSession, user_id: int, query: str, scope: Scope, offset: int, limit: int
) -> tuple[int, list[Hit]]:
    matcher = Matcher(query)
    if not matcher.words:
        return 0, []
    indexed, scanned = query_terms(query)
    hits: list[Hit] = []
    if scope in ("all", "chapters"):
        where = _candidates("chapter", Chapter.id, (Chapter.text,), indexed, scanned, matcher.words)
        hits += await _chapter_hits(session, user_id, where, matcher)
    if scope in ("all", "materials"):
        where = _candidates(
            "material",
            Material.id,
            (Material.title, Material.content),
            indexed,
            scanned,
            matcher.words,
        )
        hits += await _material_hits(session, user_id, where, matcher)
    hits.sort(key=lambda h: (h.occurrences, h.updated_at, h.type == "chapter", h.id), reverse=True)
    return len(hits), hits[offset : offset + limit]
