"""Long-text review (长文本审校): names, timeline and repeated passages across a whole work.

Each chapter is read once (chunk by chunk); what is learned (names and how often they occur, ages,
dates, paragraph fingerprints) is then compared across chapters. Every finding points at a chapter
and a character range, with the earlier passages it conflicts with in `related`.

- Names: a rare spelling one character away from a frequent name (林晓雨 beside 林小雨), a
  traditional-character spelling (林曉雨), or for two-character names a homophone (陈墨/陈默).
- Timeline: a person's stated age that goes down, or rises faster than the years the text lets
  pass; two birth years for one person; a weekday or date that does not follow from the previous
  one and the days passed since (第二天, 三天后); a date whose weekday is wrong for its year.
- Repetition: paragraphs that share most of their 8-character shingles with an earlier one, and
  long sentences repeated word for word.

Findings are ranked, most severe first and then in reading order, and capped (`Limits`); the
counts say how many of each kind were found, kept or not. Time and memory grow with the text.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..chinese import NameCounter
from .findings import SEVERITIES, Chapter, Finding
from .names import MIN_NAME_COUNT, name_findings
from .repetition import RepetitionIndex
from .timeline import timeline_findings

KINDS = ("timeline", "name", "repetition")
# A review in two parts that share nothing, so that they may run side by side: the story's facts
# (person names, ages, dates) and repeated passages.
PARTS = ("story", "repetition")


@dataclass(frozen=True, slots=True)
class Limits:
    """How many findings a review keeps: a long, repetitive work can yield a hundred thousand,
    and no one reads past the first few hundred. `per_kind` keeps one noisy kind from crowding
    out the others."""

    total: int = 1_000
    per_kind: int = 500


@dataclass(frozen=True, slots=True)
class Review:
    findings: list[Finding]  # the kept ones, most severe first, then in reading order
    counts: dict[str, int]  # found of each kind, kept or not
    truncated: bool  # whether any finding was left out


def review(chapters: Sequence[Chapter], limits: Limits = Limits()) -> Review:
    """Review a work given as (chapter_id, title, text) in reading order."""
    parts = [review_part(chapters, part, limits) for part in PARTS]
    return combined([chapter_id for chapter_id, _, _ in chapters], parts, limits)


def review_part(chapters: Sequence[Chapter], part: str, limits: Limits = Limits()) -> Review:
    """One of the `PARTS`, each kind capped at `limits.per_kind`."""
    reviewer = PartReviewer(part)
    for chapter in chapters:
        reviewer.add(chapter)
    return reviewer.finish(limits)


class PartReviewer:
    """One of the `PARTS`, fed chapter by chapter in reading order: what can be learned from a
    chapter alone (name windows, paragraph shingles) is learned as it arrives, so that a review
    in child processes works while the chapters are still being read."""

    def __init__(self, part: str) -> None:
        if part not in PARTS:
            raise ValueError(f"no review part {part!r}")
        self.part = part
        self.chapters: list[Chapter] = []
        self._names = NameCounter()
        self._repetition = RepetitionIndex()

    def add(self, chapter: Chapter) -> None:
        self.chapters.append(chapter)
        if self.part == "repetition":
            self._repetition.add(chapter)
        else:
            self._names.add(chapter[2])

    def finish(self, limits: Limits = Limits()) -> Review:
        """The part's findings, each kind capped at `limits.per_kind`."""
        rank = _ranking([chapter_id for chapter_id, _, _ in self.chapters])
        counts: Counter[str] = Counter()
        kept: list[Finding] = []
        # Each finder yields one kind; only its best `per_kind` are ever held at once.
        for found in self._finders():
            kept += heapq.nsmallest(limits.per_kind, _counted(found, counts), key=rank)
        return Review(sorted(kept, key=rank), dict(counts), len(kept) < counts.total())

    def _finders(self) -> list[Iterator[Finding]]:
        if self.part == "repetition":
            return [self._repetition.findings(self.chapters)]
        names = self._names.names(min_count=MIN_NAME_COUNT)
        return [timeline_findings(self.chapters, names), name_findings(self.chapters, names)]


def combined(chapter_ids: Sequence[int], parts: Iterable[Review], limits: Limits) -> Review:
    """The parts of one review as one, ranked and capped at `limits.total`."""
    rank = _ranking(chapter_ids)
    counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    kept: list[Finding] = []
    for part in parts:
        counts.update(part.counts)
        kept += part.findings
    ranked = sorted(kept, key=rank)[: limits.total]
    return Review(ranked, dict(counts), truncated=len(ranked) < counts.total())


def _ranking(chapter_ids: Sequence[int]) -> Callable[[Finding], tuple[int, int, int, int]]:
    """Most severe first, then in reading order."""
    order = {chapter_id: index for index, chapter_id in enumerate(chapter_ids)}
    severity = {name: rank for rank, name in enumerate(SEVERITIES)}

    def rank(finding: Finding) -> tuple[int, int, int, int]:
        return (severity[finding.severity], order[finding.chapter_id], finding.start, finding.end)

    return rank


def _counted(findings: Iterable[Finding], counts: Counter[str]) -> Iterator[Finding]:
    for finding in findings:
        counts[finding.kind] += 1
        yield finding
