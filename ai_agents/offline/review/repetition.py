"""Repetition: paragraphs that share most of their 8-character shingles with an earlier one, and
long sentences repeated word for word."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from ..chinese import HAN, paragraphs, sentences
from .findings import Chapter, Finding, excerpt, location

MIN_PARAGRAPH = 30
SHINGLE = 8
SIMILAR = 0.6
MIN_REPEATED_SENTENCE = 20
MAX_SHINGLE_SPREAD = 16
MIN_SHARED_RARE = 3
_BATCH = 2_000  # passages whose shingles are looked up in the rare ones at once


@dataclass(slots=True)
class _Passage:
    chapter: Chapter
    start: int
    end: int
    shingles: NDArray[np.int64]  # the hashes of its shingles, sorted, each once


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
    """The paragraphs' shingles, built chapter by chapter as a long work is read; `findings`
    compares them once the whole work is in.

    A shingle is held as the 8 bytes of its hash in one array per paragraph: a 5,000-chapter work
    has some 15 million of them, which as Python sets and a `Counter` took 1.9 GB.
    """

    def __init__(self) -> None:
        self.passages: list[_Passage] = []

    def add(self, chapter: Chapter) -> None:
        for start, paragraph in paragraphs(chapter[2]):
            normal = _normalized(paragraph)
            if len(normal) < MIN_PARAGRAPH:
                continue
            count = len(normal) - SHINGLE + 1
            hashes = np.fromiter(
                (hash(normal[i : i + SHINGLE]) for i in range(count)), dtype=np.int64, count=count
            )
            self.passages.append(
                _Passage(chapter, start, start + len(paragraph), np.unique(hashes))
            )

    def findings(self, chapters: Sequence[Chapter]) -> Iterator[Finding]:
        """What the `chapters` added, in the same order, repeat of each other."""
        passages = self.passages
        matched = _similar_pairs(passages, _rare_shingles(passages))
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


def _rare_shingles(passages: list[_Passage]) -> NDArray[np.int64]:
    """The shingles found in more than one passage but no more than `MAX_SHINGLE_SPREAD`, sorted:
    a stock phrase in every chapter says nothing about a repeated passage."""
    if not passages:
        return np.empty(0, dtype=np.int64)
    every = np.concatenate([passage.shingles for passage in passages])
    every.sort()
    again = every[1:][every[1:] == every[:-1]]  # each occurrence after a shingle's first
    del every
    shingles, extra = np.unique(again, return_counts=True)
    return shingles[extra + 1 <= MAX_SHINGLE_SPREAD]


def _similar_pairs(
    passages: list[_Passage], rare: NDArray[np.int64]
) -> dict[int, tuple[int, float]]:
    """For each passage, the earliest earlier passage it largely repeats, with the similarity.

    Candidates are pairs that share at least `MIN_SHARED_RARE` of the `rare` shingles; their
    similarity is then the Jaccard index of all their shingles.
    """
    if rare.size == 0:
        return {}
    later, earlier = _sharing_pairs(passages, rare)
    if later.size == 0:
        return {}
    pairs, shared = np.unique(later * len(passages) + earlier, return_counts=True)
    candidates = pairs[shared >= MIN_SHARED_RARE]  # by later passage, then earlier
    best: dict[int, tuple[int, float]] = {}
    for key in candidates.tolist():
        b_index, a_index = divmod(key, len(passages))
        if b_index in best:
            continue
        a, b = passages[a_index].shingles, passages[b_index].shingles
        common = np.intersect1d(a, b, assume_unique=True).size
        similarity = common / (a.size + b.size - common)
        if similarity >= SIMILAR:
            best[b_index] = (a_index, similarity)
    return best


def _sharing_pairs(
    passages: list[_Passage], rare: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(later, earlier) passage indexes, once for every rare shingle the two share."""
    shingles: list[NDArray[np.int64]] = []
    owners: list[NDArray[np.int64]] = []
    for first in range(0, len(passages), _BATCH):
        batch = passages[first : first + _BATCH]
        held = np.concatenate([passage.shingles for passage in batch])
        owner = np.repeat(
            np.arange(first, first + len(batch), dtype=np.int64),
            [passage.shingles.size for passage in batch],
        )
        found = np.searchsorted(rare, held)
        hit = rare[np.minimum(found, rare.size - 1)] == held
        shingles.append(held[hit])
        owners.append(owner[hit])
    held = np.concatenate(shingles)
    owner = np.concatenate(owners)
    order = np.lexsort((owner, held))  # by shingle, then in reading order
    held, owner = held[order], owner[order]
    later: list[NDArray[np.int64]] = []
    earlier: list[NDArray[np.int64]] = []
    # A rare shingle is in at most MAX_SHINGLE_SPREAD passages: its holders pair up at distances
    # below that within the sorted run.
    for distance in range(1, MAX_SHINGLE_SPREAD):
        same = held[distance:] == held[:-distance]
        later.append(owner[distance:][same])
        earlier.append(owner[:-distance][same])
    return np.concatenate(later), np.concatenate(earlier)


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
