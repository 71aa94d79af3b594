"""Search terms: the pieces of text that `search_terms` indexes and queries look up.

Chinese has no spaces and most words are two characters, which neither MariaDB's FULLTEXT nor
SQLite's trigram FTS5 can find. So every run of CJK characters is indexed as its bigrams (and a
lone character as itself), and every Latin word in lower case. A query is cut the same way; a
document matches when it holds every term of the query, and the candidates are then confirmed
against the text itself.
"""

from __future__ import annotations

import re

from .wordcount import _CJK

_RUN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+")
MAX_TERM_LENGTH = 32


def terms(text: str) -> set[str]:
    found: set[str] = set()
    for match in _RUN.finditer(text):
        run = match.group()
        if run[0].isascii():
            found.add(run.lower()[:MAX_TERM_LENGTH])
        elif len(run) == 1:
            found.add(run)
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found
