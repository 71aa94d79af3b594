"""What a username may hold: 2–50 word characters (the Unicode `\\w` of regular expressions:
letters, marks, decimal digits, connector punctuation and the zero-width joiners, in any script
and in composed or decomposed form), `-` or `·`.

Checked here in Python rather than by a regular expression: pydantic's default pattern engine
(Rust's `regex`) builds the Unicode class `\\w` into ~5 MiB that every serving process would
hold, and Python's own `\\w` leaves out combining marks (Hindi, Thai, Tamil, Arabic vowel signs,
a decomposed accent), which the rule has always let through.
"""

from __future__ import annotations

import unicodedata
from itertools import groupby

USERNAME_MIN = 2
USERNAME_MAX = 50
_PUNCTUATION = frozenset("-·")
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner (Persian, Indic names)
_WORD_CATEGORIES = frozenset({"Nd", "Nl", "Pc"})


def is_username_character(character: str) -> bool:
    if character in _PUNCTUATION or character in _JOINERS:
        return True
    category = unicodedata.category(character)
    return category[0] in "LM" or category in _WORD_CATEGORIES


def is_username(text: str) -> bool:
    return USERNAME_MIN <= len(text) <= USERNAME_MAX and all(map(is_username_character, text))


def clean_username(candidate: str) -> str:
    """`candidate` with each run of other characters replaced by `_`, trimmed of `_` and `-`
    at both ends and cut to the longest a username may be (it may still be too short)."""
    runs = (
        "".join(run) if kept else "_"
        for kept, run in groupby(candidate.strip(), key=is_username_character)
    )
    return "".join(runs).strip("_-")[:USERNAME_MAX]
