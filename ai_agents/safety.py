"""Sensitive-word filter (brief §6.4.1): Aho–Corasick over a configurable list.

Matching folds case and full-width forms character by character (ＦＵＣＫ and Fuck match "fuck"),
so offsets in the folded text are offsets in the original. CJK words match anywhere; a word that
begins or ends with a Latin letter or digit matches only at a word boundary on that side, so
"ass" does not hit "class". Overlapping words are all reported.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

MASK = "＊"


@dataclass(frozen=True, slots=True)
class Hit:
    word: str  # as written in the list
    start: int  # offsets in the checked text, end exclusive
    end: int


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    for folded in (unicodedata.normalize("NFKC", char).lower(), char.lower()):
        if len(folded) == 1:
            return folded
    return char


def fold(text: str) -> str:
    """Case- and width-folded, one character for one character."""
    return "".join(_fold_char(char) for char in text)


def _is_latin_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


class SensitiveWords:
    def __init__(self, words: Iterable[str]) -> None:
        unique: dict[str, str] = {}
        for word in words:
            word = word.strip()
            if word and fold(word) not in unique:
                unique[fold(word)] = word
        self._words = list(unique.values())
        self._folded = list(unique)
        self._bounded_left = [_is_latin_word_char(w[0]) for w in self._folded]
        self._bounded_right = [_is_latin_word_char(w[-1]) for w in self._folded]
        self.longest = max((len(w) for w in self._folded), default=0)
        # A word ending in a Latin letter needs the next character to decide its boundary.
        self.needs_lookahead = any(self._bounded_right)
        self._build()

    @classmethod
    def from_file(cls, path: Path) -> SensitiveWords:
        return cls(_read_list(path.read_text(encoding="utf-8")))

    @classmethod
    def default(cls) -> SensitiveWords:
        data = resources.files("ai_agents").joinpath("data", "sensitive_words.txt")
        return cls(_read_list(data.read_text(encoding="utf-8")))

    @property
    def words(self) -> list[str]:
        return list(self._words)

    def _build(self) -> None:
        self._goto: list[dict[str, int]] = [{}]
        self._out: list[list[int]] = [[]]
        self._depth: list[int] = [0]  # length of the prefix a node stands for
        for index, word in enumerate(self._folded):
            node = 0
            for char in word:
                nxt = self._goto[node].get(char)
                if nxt is None:
                    nxt = len(self._goto)
                    self._goto[node][char] = nxt
                    self._goto.append({})
                    self._out.append([])
                    self._depth.append(self._depth[node] + 1)
                node = nxt
            self._out[node].append(index)
        self._fail = [0] * len(self._goto)
        queue = deque(self._goto[0].values())
        while queue:
            node = queue.popleft()
            for char, child in self._goto[node].items():
                queue.append(child)
                fallback = self._fail[node]
                while fallback and char not in self._goto[fallback]:
                    fallback = self._fail[fallback]
                self._fail[child] = self._goto[fallback].get(char, 0)
                self._out[child] = self._out[child] + self._out[self._fail[child]]

    def open_suffix(self, text: str) -> int:
        """Length of the longest end of `text` that begins a listed word (0: none does).

        What a stream must hold back: any word not yet seen whole starts within it.
        """
        node = 0
        goto, fail = self._goto, self._fail
        for char in fold(text):
            while node and char not in goto[node]:
                node = fail[node]
            node = goto[node].get(char, 0)
        return self._depth[node]

    def check(self, text: str) -> list[Hit]:
        """Every listed word in `text`, overlapping ones included, by position."""
        return self._scan(text, 0, at_end=True, before="")

    def mask(self, text: str) -> str:
        """`text` with each character of every hit replaced by ＊."""
        return _apply_mask(text, self.check(text))

    def stream_filter(self) -> StreamFilter:
        return StreamFilter(self)

    def _scan(self, text: str, offset: int, *, at_end: bool, before: str) -> list[Hit]:
        """Hits in `text`; `before` is the character preceding it (for word boundaries), and
        unless `at_end` a hit whose right boundary depends on what follows is left out."""
        hits: list[Hit] = []
        node = 0
        goto, fail, out = self._goto, self._fail, self._out
        for position, char in enumerate(fold(text)):
            while node and char not in goto[node]:
                node = fail[node]
            node = goto[node].get(char, 0)
            for index in out[node]:
                start = position + 1 - len(self._folded[index])
                end = position + 1
                if self._bounded_left[index]:
                    previous = text[start - 1] if start > 0 else before
                    if previous and _is_latin_word_char(_fold_char(previous)):
                        continue
                if self._bounded_right[index]:
                    if end == len(text) and not at_end:
                        continue
                    if end < len(text) and _is_latin_word_char(_fold_char(text[end])):
                        continue
                hits.append(Hit(self._words[index], offset + start, offset + end))
        hits.sort(key=lambda hit: (hit.start, hit.end))
        return hits


class StreamFilter:
    """Masks words in streamed text, also when a word is split across pieces.

    `feed` returns what is safe to emit now and holds back only the end of the text that could
    still become a listed word (the automaton's state after the text; a whole word ending in a
    Latin letter stays held too, since its boundary depends on the next character), so ordinary
    prose streams through at once; `flush` returns the rest at the end of the stream.
    """

    def __init__(self, words: SensitiveWords) -> None:
        self._words = words
        self._pending = ""
        self._emitted = 0  # characters emitted so far
        self._masked_until = 0  # absolute offset up to which a known hit still needs masking
        self._before = ""  # the last character emitted, for word boundaries

    def feed(self, piece: str) -> str:
        self._pending += piece
        safe = len(self._pending) - self._words.open_suffix(self._pending)
        if safe <= 0:
            return ""
        return self._emit(safe, at_end=False)

    def flush(self) -> str:
        return self._emit(len(self._pending), at_end=True) if self._pending else ""

    def _emit(self, count: int, *, at_end: bool) -> str:
        hits = self._words._scan(self._pending, 0, at_end=at_end, before=self._before)
        masked = [False] * count
        for index in range(min(count, self._masked_until - self._emitted)):
            masked[index] = True
        for hit in hits:
            if hit.start >= count:
                continue
            for index in range(hit.start, min(hit.end, count)):
                masked[index] = True
            self._masked_until = max(self._masked_until, self._emitted + hit.end)
        head = self._pending[:count]
        out = "".join(MASK if masked[i] else char for i, char in enumerate(head))
        self._before = head[-1] if head else self._before
        self._pending = self._pending[count:]
        self._emitted += count
        return out


def _apply_mask(text: str, hits: list[Hit]) -> str:
    chars = list(text)
    for hit in hits:
        chars[hit.start : hit.end] = MASK * (hit.end - hit.start)
    return "".join(chars)


def _read_list(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_sensitive_words(path: Path | None) -> SensitiveWords:
    """The operator's list when configured (`sensitive_words_file`), else the shipped default."""
    return SensitiveWords.from_file(path) if path else SensitiveWords.default()
