"""What a review finds: a finding points at a chapter and a character range, with the earlier
passages it conflicts with in `related`, and says how much it matters (`severity`)."""

from __future__ import annotations

from dataclasses import dataclass, field

EXCERPT = 40

# "high": the story contradicts itself (an age, a birth year, a date); "medium": a slip a reader
# notices (a misspelt name, a whole paragraph twice); "low": style (a sentence said twice).
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True, slots=True)
class Location:
    chapter_id: int
    start: int
    end: int
    excerpt: str


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # "name", "timeline" or "repetition"
    message: str
    chapter_id: int
    start: int
    end: int
    excerpt: str
    severity: str
    related: list[Location] = field(default_factory=list)


Chapter = tuple[int, str, str]


def excerpt(text: str, start: int, end: int) -> str:
    piece = text[start:end]
    if len(piece) > EXCERPT:
        return piece[: EXCERPT - 1] + "…"
    return piece


def location(chapter: Chapter, start: int, end: int) -> Location:
    return Location(chapter[0], start, end, excerpt(chapter[2], start, end))


def surrounding(text: str, start: int, end: int, around: int = 12) -> str:
    """[start, end) with up to `around` characters each side, within its line."""
    left = max(text.rfind("\n", 0, start) + 1, start - around)
    line_end = text.find("\n", end)
    right = min(line_end if line_end >= 0 else len(text), end + around)
    return text[left:right]
