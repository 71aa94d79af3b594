"""Extractive summaries: the sentences that carry the text's frequent terms and names, in order."""

from __future__ import annotations

import math
import re
from collections import Counter

from .chinese import HAN, Sentence, main_names, paragraphs, sentences

_FUNCTION_CHARS = frozenset("的了是在我你他她它们着过也都就又还把被给这那个一不有和与之而说")
_TERM = re.compile(f"(?=([{HAN}]{{2}}))|[A-Za-z][A-Za-z0-9]+")
_ELLIPSIS = "…"
SHORT_SENTENCE = 8


def summarize(text: str, max_chars: int) -> str:
    """At most `max_chars` characters of the text's most telling sentences, in their order."""
    text = text.strip()
    if max_chars <= 0:
        return ""
    if len(text) <= max_chars:
        return text
    found = sentences(text)
    if not found:
        return text[: max_chars - 1] + _ELLIPSIS
    scores = _scores(text, found)
    ranked = sorted(range(len(found)), key=lambda index: (-scores[index], index))
    chosen: list[int] = []
    used = 0
    for index in ranked:
        size = len(found[index].text)
        if used + size <= max_chars:
            chosen.append(index)
            used += size
    if not chosen:
        best = found[ranked[0]].text
        return best[: max_chars - 1] + _ELLIPSIS
    return "".join(found[index].text for index in sorted(chosen))


def _terms(sentence: str) -> list[str]:
    terms = []
    for match in _TERM.finditer(sentence):
        term = match.group(1) or match.group()
        if not (set(term) & _FUNCTION_CHARS):
            terms.append(term.lower())
    return terms


def _scores(text: str, found: list[Sentence]) -> list[float]:
    per_sentence = [_terms(sentence.text) for sentence in found]
    frequency = Counter(term for terms in per_sentence for term in set(terms))
    names = main_names([text], limit=5)
    paragraph_starts = {start for start, _ in paragraphs(text)}
    scores: list[float] = []
    for index, (sentence, terms) in enumerate(zip(found, per_sentence, strict=True)):
        distinct = set(terms)
        weight = sum(math.log1p(frequency[term] - 1) for term in distinct)
        score = weight / math.sqrt(len(distinct)) if distinct else 0.0
        score += sum(0.5 for name in names if name in sentence.text)
        if index == 0:
            score *= 1.5
        elif sentence.start in paragraph_starts:
            score *= 1.15
        if sentence.text.startswith(("“", "「")):
            score *= 0.6
        if len(sentence.text) < SHORT_SENTENCE:
            score *= 0.5
        scores.append(score)
    return scores
