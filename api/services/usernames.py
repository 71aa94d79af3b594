r"""What a username may hold: 2–50 word characters (the Unicode `\w` of regular expressions:
letters, marks, decimal digits, connector punctuation and the zero-width joiners, in any script
and in composed or decomposed form), `-` or `·`; at least one letter or digit; a zero-width
joiner only inside a word of a script whose letters join (Arabic, Indic, …); none of the other
characters that display as nothing (a variation selector, a Hangul filler): with them a name
could pass for another (`林\u200d黛玉` for `林黛玉`).

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
from enum import Enum
from itertools import groupby

USERNAME_MIN = 2
USERNAME_MAX = 50
_PUNCTUATION = frozenset("-·")
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner
# Scripts whose letters join, where a joiner changes how a word looks: Arabic, Syriac, Thaana,
# N'Ko, the Indic scripts, Myanmar, Khmer, Mongolian.
_JOINING_SCRIPTS = ((0x0600, 0x08FF), (0x0900, 0x0DFF), (0x1000, 0x109F), (0x1780, 0x18AF))
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
_IDEOGRAPH_PLANES = ((0x20000, 0x3FFFF),)


class _Kind(Enum):
    LETTER = "letter or digit"
    MARK = "mark"
    JOINER = "zero-width joiner"
    PUNCTUATION = "_, - or · (connector punctuation)"


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _kind(character: str) -> _Kind | None:
    """What `character` is in a username; None: not allowed."""
    if character in _JOINERS:
        return _Kind.JOINER
    if character in _PUNCTUATION:
        return _Kind.PUNCTUATION
    code = ord(character)
    if _within(code, _INVISIBLE):
        return None
    category = unicodedata.category(character)
    if category[0] == "L" or category in ("Nd", "Nl") or _within(code, _ALPHABETIC_SYMBOLS):
        return _Kind.LETTER
    if category == "Cn" and _within(code, _IDEOGRAPH_PLANES):
        return _Kind.LETTER
    if category[0] == "M":
        return _Kind.MARK
    return _Kind.PUNCTUATION if category == "Pc" else None


def _kinds(text: str) -> list[_Kind | None]:
    return [_kind(character) for character in text]


def _kept(text: str, kinds: list[_Kind | None]) -> list[bool]:
    """Whether each character of `text` (of `kinds`) may stay in a username where it stands: a
    joiner only between two letters or marks of a joining script."""
    return [
        kind is not None
        and (kind is not _Kind.JOINER or (0 < at < len(text) - 1 and _joins(text, kinds, at)))
        for at, kind in enumerate(kinds)
    ]


def _joins(text: str, kinds: list[_Kind | None], at: int) -> bool:
    return all(
        kinds[side] in (_Kind.LETTER, _Kind.MARK) and _within(ord(text[side]), _JOINING_SCRIPTS)
        for side in (at - 1, at + 1)
    )


def is_username(text: str) -> bool:
    if not USERNAME_MIN <= len(text) <= USERNAME_MAX:
        return False
    kinds = _kinds(text)
    return all(_kept(text, kinds)) and _Kind.LETTER in kinds


def shortened(name: str, length: int) -> str:
    """`name` cut to `length` characters, never ending on a joiner (it must join two letters)."""
    return name[:length].rstrip("".join(_JOINERS))


def clean_username(candidate: str) -> str:
    """`candidate` with each run of characters a username cannot hold where they stand replaced
    by `_`, trimmed of `_` and `-` at both ends and cut to the longest a username may be (it may
    still be no username: too short, or without a letter)."""
    text = candidate.strip()
    runs = groupby(zip(text, _kept(text, _kinds(text)), strict=True), key=lambda pair: pair[1])
    cleaned = "".join(
        "".join(character for character, _ in run) if kept else "_" for kept, run in runs
    )
    return shortened(cleaned.strip("_-"), USERNAME_MAX)
