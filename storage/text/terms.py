"""Search terms: the pieces of text that `search_terms` indexes and queries look up.

Chinese has no spaces and most words are two characters, which neither MariaDB's FULLTEXT nor
SQLite's trigram FTS5 can find. So every run of CJK characters is indexed as its bigrams (and a
lone character as itself), and every Latin word in lower case. A query is cut the same way; a
document matches when it holds every term of the query, and the candidates are then confirmed
against the text itself.
"""

from __future__ import annotations

import re
from collections import Counter

from .wordcount import _CJK

MAX_TERM_LENGTH = 32

_CJK_PAIR = re.compile(f"(?=([{_CJK}]{{2}}))")  # overlapping: 甲乙丙 holds 甲乙 and 乙丙
_CJK_ALONE = re.compile(f"(?<![{_CJK}])[{_CJK}](?![{_CJK}])")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+")


def term_counts(text: str) -> Counter[str]:
    """Each term of `text` and its occurrences: every two CJK characters side by side, a CJK
    character with no other beside it, every Latin word or number in lower case (cut at
    `MAX_TERM_LENGTH`). Found by regular expressions and counted in C: a projection counts a
    chapter's terms twice a save."""
    found: Counter[str] = Counter(_CJK_PAIR.findall(text))
    found.update(_CJK_ALONE.findall(text))
    found.update(word.lower()[:MAX_TERM_LENGTH] for word in _LATIN_WORD.findall(text))
    return found


def terms(text: str) -> set[str]:
    return set(term_counts(text))
