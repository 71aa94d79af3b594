r"""What a username may hold: 2–50 word characters (the Unicode `\w` of regular expressions:
letters, marks, decimal digits, connector punctuation and the zero-width joiners, in any script
and in composed or decomposed form), `-` or `·`; at least one letter or digit; a joiner only
between two letters or marks, neither of them ASCII; none of the characters that display as
nothing (a variation selector, a Hangul filler), with which a name could pass for another.

Checked here in Python rather than by a regular expression: pydantic's default pattern engine
(Rust's `regex`) builds the Unicode class `\w` into ~5 MiB that every serving process would
hold, and Python's own `\w` leaves out combining marks (Hindi, Thai, Tamil, Arabic vowel signs,
a decomposed accent), which the rule has always let through. Python's character database may
be older than the names (Python 3.11: Unicode 14), so the ideographs it does not know yet
(planes 2 and 3 hold nothing else: CJK extensions H and I, rare characters of personal names)
count as letters.
"""

from __future__ import annotations

import unicodedata
from itertools import groupby

USERNAME_MIN = 2
USERNAME_MAX = 50
_PUNCTUATION = frozenset("-·")
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner (Persian, Indic names)
_WORD_CATEGORIES = frozenset({"Nd", "Nl", "Pc"})
# Alphabetic though not letters: circled and squared Latin letters (Ⓐ, 🄰, 🅐, 🅰).
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
# Letters and marks that display as nothing: combining grapheme joiner, Hangul fillers, Khmer
# inherent vowels, Mongolian variation selectors, variation selectors.
_INVISIBLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
_IDEOGRAPH_PLANES = (0x20000, 0x3FFFF)


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _kind(character: str) -> str:
    """ "L" (letter or digit), "M" (mark), "J" (joiner), "P" (`_`, `-`, `·` and other connector
    punctuation), or "" (not allowed)."""
    if character in _JOINERS:
        return "J"
    if character in _PUNCTUATION:
        return "P"
    code = ord(character)
    if _within(code, _INVISIBLE):
        return ""
    category = unicodedata.category(character)
    if category[0] == "L" or category in ("Nd", "Nl") or _within(code, _ALPHABETIC_SYMBOLS):
        return "L"
    if category == "Cn" and _IDEOGRAPH_PLANES[0] <= code <= _IDEOGRAPH_PLANES[1]:
        return "L"
    if category[0] == "M":
        return "M"
    return "P" if category == "Pc" else ""


def is_username_character(character: str) -> bool:
    return _kind(character) != ""


def is_username(text: str) -> bool:
    if not USERNAME_MIN <= len(text) <= USERNAME_MAX:
        return False
    kinds = [_kind(character) for character in text]
    if "" in kinds or "L" not in kinds:
        return False
    return all(
        0 < at < len(text) - 1 and _joins(text[at - 1], kinds[at - 1], text[at + 1], kinds[at + 1])
        for at, kind in enumerate(kinds)
        if kind == "J"
    )


def _joins(before: str, before_kind: str, after: str, after_kind: str) -> bool:
    """A joiner shapes the letters of scripts that join (Arabic, Persian, Indic): between two
    such letters or marks, never beside ASCII, where it would only make "ad‍min" pass for
    "admin"."""
    return (
        before_kind in ("L", "M")
        and after_kind in ("L", "M")
        and not (before.isascii() or after.isascii())
    )


def clean_username(candidate: str) -> str:
    """`candidate` with each run of other characters replaced by `_`, trimmed of `_` and `-`
    at both ends and cut to the longest a username may be (it may still be no username: too
    short, or a joiner left at an end)."""
    runs = (
        "".join(run) if kept else "_"
        for kept, run in groupby(candidate.strip(), key=is_username_character)
    )
    return "".join(runs).strip("_-")[:USERNAME_MAX]
