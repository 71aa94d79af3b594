"""Repetition: paragraphs that share most of their 8-character shingles with an earlier one, and
long sentences repeated word for word."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from ..chinese import HAN, paragraphs, sentences
from .findings import Chapter, Finding, excerpt, location

MIN_PARAGRAPH = 30
SHINGLE = 8
SIMILAR = 0.6
MIN_REPEATED_SENTENCE = 20
MAX_SHINGLE_SPREAD = 16
MIN_SHARED_RARE = 3


@dataclass(slots=True)
class _Passage:
    chapter: Chapter
    start: int
    end: int
    shingles: set[int]


_DROP = re.compile(f"[^{HAN}A-Za-z0-9]+")


def _normalized(text: str) -> str:
    """Only the letters, digits and Han characters."""
    return _DROP.sub("", text)


def repetition_findings(chapters: Sequence[Chapter]) -> Iterator[Finding]:
    index = RepetitionIndex()
    for chapter in chapters:
        index.add(chapter)
    return index.findings(chapters)


class RepetitionIndex:
    """The paragraphs' shingles, and in how many paragraphs each shingle is, built chapter by
    chapter as a long work is read; `findings` compares them once the whole work is in."""

    def __init__(self) -> None:
        self.passages: list[_Passage] = []
        self.spread: Counter[int] = Counter()

    def add(self, chapter: Chapter) -> None:
        for start, paragraph in paragraphs(chapter[2]):
            normal = _normalized(paragraph)
            if len(normal) < MIN_PARAGRAPH:
                continue
            shingles = {hash(normal[i : i + SHINGLE]) for i in range(len(normal) - SHINGLE + 1)}
            self.passages.append(_Passage(chapter, start, start + len(paragraph), shingles))
            self.spread.update(shingles)

    def findings(self, chapters: Sequence[Chapter]) -> Iterator[Finding]:
        """What the `chapters` added, in the same order, repeat of each other."""
        passages = self.passages
        rare = {shingle for shingle, held in self.spread.items() if 1 < held <= MAX_SHINGLE_SPREAD}
        self.spread.clear()  # the largest table of a review: gone before the next is built
        matched: dict[int, tuple[int, float]] = _similar_pairs(passages, rare)
        covered: list[tuple[int, int, int]] = []
        for later, (earlier, similarity) in sorted(matched.items()):
            passage, source = passages[later], passages[earlier]
            covered.append((passage.chapter[0], passage.start, passage.end))
            covered.append((source.chapter[0], source.start, source.end))
            where = f"《{source.chapter[1]}》" if source.chapter[1] else "前文"
            if similarity >= 0.999:
                message = f"这一段与{where}中的一段完全相同"
            else:
                message = f"这一段与{where}中的一段高度相似（相似度 {similarity:.0%}）"
            yield Finding(
                "repetition",
                message,
                passage.chapter[0],
                passage.start,
                passage.end,
                excerpt(passage.chapter[2], passage.start, passage.end),
                "medium",
                [location(source.chapter, source.start, source.end)],
            )
        yield from _repeated_sentences(chapters, covered)


def _similar_pairs(passages: list[_Passage], rare: set[int]) -> dict[int, tuple[int, float]]:
    """For each passage, the earliest earlier passage it largely repeats, with the similarity.

    Candidates are pairs that share `rare` shingles, those found in few passages (a stock phrase
    in every chapter says nothing); their similarity is then the Jaccard index of all their
    shingles.
    Each passage counts its own candidates, so no table of every pair in the work is built.
    """
    holders: dict[int, list[int]] = defaultdict(list)  # in reading order
    for index, passage in enumerate(passages):
        for shingle in passage.shingles & rare:
            holders[shingle].append(index)
    best: dict[int, tuple[int, float]] = {}
    for later, passage in enumerate(passages):
        shared: Counter[int] = Counter()
        for shingle in passage.shingles & rare:
            for earlier in holders[shingle]:
                if earlier >= later:
                    break
                shared[earlier] += 1
        for earlier in sorted(e for e, count in shared.items() if count >= MIN_SHARED_RARE):
            a, b = passages[earlier].shingles, passage.shingles
            common = len(a & b)
            similarity = common / (len(a) + len(b) - common)
            if similarity >= SIMILAR:
                best[later] = (earlier, similarity)
                break
    return best


_Spans = tuple[list[int], list[int]]


def _spans_by_chapter(covered: list[tuple[int, int, int]]) -> dict[int, _Spans]:
    """Per chapter, the spans' starts in order and the furthest end reached up to each."""
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for chapter_id, start, end in covered:
        spans[chapter_id].append((start, end))
    index: dict[int, _Spans] = {}
    for chapter_id, found in spans.items():
        found.sort()
        reach = list(accumulate((end for _start, end in found), max))
        index[chapter_id] = ([start for start, _end in found], reach)
    return index


def _repeated_sentences(
    chapters: Sequence[Chapter], covered: list[tuple[int, int, int]]
) -> Iterator[Finding]:
    spans = _spans_by_chapter(covered)

    def inside(chapter_id: int, start: int) -> bool:
        starts, reach = spans.get(chapter_id, ([], []))
        before = bisect_right(starts, start)
        return before > 0 and reach[before - 1] > start

    first_seen: dict[str, tuple[Chapter, int, int]] = {}
    for chapter in chapters:
        for sentence in sentences(chapter[2]):
            normal = _normalized(sentence.text)
            if len(normal) < MIN_REPEATED_SENTENCE:
                continue
            if normal not in first_seen:
                first_seen[normal] = (chapter, sentence.start, sentence.end)
                continue
            if inside(chapter[0], sentence.start):
                continue
            source, start, end = first_seen[normal]
            where = f"《{source[1]}》" if source[1] else "前文"
            yield Finding(
                "repetition",
                f"这句话与{where}中的一句完全相同",
                chapter[0],
                sentence.start,
                sentence.end,
                excerpt(chapter[2], sentence.start, sentence.end),
                "low",
                [location(source, start, end)],
            )
