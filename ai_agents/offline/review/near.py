"""Searching a long text only around the places a pattern's matches must pass through.

A pattern that begins with a long alternation (every frequent name of a work) is tried at every
position of the text. When each of its matches holds a known, rare character (the 岁 of an age,
the 生 of 出生于) within a bounded distance, only the windows around that character need
searching, and the matches found there are exactly those a search of the whole text finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def matches_near(
    pattern: re.Pattern[str],
    text: str,
    anchor: str,
    before: int,
    after: int,
    *,
    extends_back: frozenset[str] = frozenset(),
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, for a pattern without anchors or lookbehind whose every match
    holds `anchor` and starts at most `before` characters before it (plus the run of
    `extends_back` characters right before it, for an unbounded part such as a number) and ends
    at most `after` characters after it."""
    windows = _windows(text, anchor, before, after, extends_back)
    for start, end in windows:
        yield from pattern.finditer(text, start, end)


def _windows(
    text: str, anchor: str, before: int, after: int, extends_back: frozenset[str]
) -> Iterator[tuple[int, int]]:
    """Around each `anchor`, overlapping windows merged, in order."""
    current: tuple[int, int] | None = None
    position = text.find(anchor)
    while position >= 0:
        run = position
        while run > 0 and text[run - 1] in extends_back:
            run -= 1
        start = max(0, run - before)
        end = min(len(text), position + len(anchor) + after)
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
        else:
            if current is not None:
                yield current
            current = (start, end)
        position = text.find(anchor, position + len(anchor))
    if current is not None:
        yield current
