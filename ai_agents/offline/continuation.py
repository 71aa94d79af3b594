"""Continuation from a character n-gram model of the work's own text and materials.

The model is the corpus itself with an index from each context (the 1 to 4 characters before a
position) to the positions that follow it; longer contexts, up to `MAX_ORDER`, are found by
narrowing the 4-character list. Each next character is drawn from the longest context seen in the
corpus (backing off to shorter ones), except that a character may not complete a run of
`COPY_CAP` characters that already occurs in the corpus, the preceding text or the output so far:
the model writes in the work's voice without copying it. When the corpus is small, a built-in
corpus of original literary prose is mixed in at a lower weight.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MAX_ORDER = 6
INDEX_ORDER = 4
COPY_CAP = 12
SELF_REPEAT = 8
SMALL_CORPUS = 3000
OWN_WEIGHT = 3
PIECE = 4
BRANCH_AFTER = 7
_ENDS = "。！？"
_CLOSING_QUOTES = "”’」』"
_SOFT_STOPS = "，、；：“‘「『—（("
_SAMPLES = 12
_SCAN_LIMIT = 400


@dataclass(frozen=True, slots=True)
class NgramModel:
    text: str
    own_length: int
    index: tuple[dict[str, list[int]], ...]
    grams: frozenset[str]

    def positions(self, context: str) -> list[int]:
        order = len(context)
        if order <= INDEX_ORDER:
            return self.index[order - 1].get(context, [])
        text = self.text
        return [
            position
            for position in self.index[INDEX_ORDER - 1].get(context[-INDEX_ORDER:], [])
            if position >= order and text.startswith(context, position - order)
        ]


def normalize(text: str) -> str:
    """Paragraphs as single lines without surrounding spaces, one newline between them."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=1)
def builtin_corpus() -> str:
    folder = resources.files("ai_agents.offline") / "data"
    texts = [item.read_text("utf-8") for item in sorted(folder.iterdir(), key=lambda i: i.name)]
    return normalize("\n".join(text for text in texts if text.strip()))


def build_model(corpus: Sequence[str]) -> NgramModel:
    """The model for a corpus; built once per distinct corpus (by content hash)."""
    digest = hashlib.blake2b("\x1e".join(corpus).encode("utf-8"), digest_size=16).hexdigest()
    return _cached_model(digest, tuple(corpus))


# A 100,000-character model holds tens of MB of index; keep only the works being written now.
@lru_cache(maxsize=2)
def _cached_model(_digest: str, corpus: tuple[str, ...]) -> NgramModel:
    own = "\n".join(normalize(text) for text in corpus if text.strip())
    text = own
    if len(own) < SMALL_CORPUS:
        text = f"{own}\n{builtin_corpus()}" if own else builtin_corpus()
    index: list[dict[str, list[int]]] = []
    for order in range(1, INDEX_ORDER + 1):
        table: dict[str, list[int]] = {}
        for position in range(order, len(text)):
            context = text[position - order : position]
            found = table.get(context)
            if found is None:
                table[context] = [position]
            else:
                found.append(position)
        index.append(table)
    grams = frozenset(text[i : i + COPY_CAP] for i in range(len(text) - COPY_CAP + 1))
    return NgramModel(text, len(own), tuple(index), grams)


def continue_text(
    preceding: str, corpus: list[str], length: int, *, seed: int = 0
) -> Iterator[str]:
    """Yield a continuation of `preceding` in pieces of a few characters.

    It runs to about `length` characters and stops at the end of a sentence; the same inputs and
    seed give the same text.
    """
    model = build_model(corpus)
    rng = random.Random(seed)  # nosec B311 # seeded on purpose: the same prose for the same seed
    writer = _Writer(model, preceding, max(length, 1), rng)
    yield from writer.run()


class _Writer:
    def __init__(self, model: NgramModel, preceding: str, length: int, rng: random.Random) -> None:
        self.model = model
        self.length = length
        self.rng = rng
        tail = normalize(preceding[-20000:])
        if preceding[-1:] == "\n" and tail:
            tail += "\n"
        self.history = tail or "\n"
        self.seen = {tail[i : i + COPY_CAP] for i in range(len(tail) - COPY_CAP + 1)}
        paragraph = tail.rsplit("\n", 1)[-1]
        self.open_quotes = max(paragraph.count("“") - paragraph.count("”"), 0)
        self.written = 0
        self.copied = 0
        self.own: set[str] = set()

    def run(self) -> Iterator[str]:
        pending = ""
        while True:
            char = self._next_char(closing=self.written >= self.length * 0.85)
            self._append(char)
            pending += char
            if self.written >= self.length and self._at_sentence_end():
                yield pending
                return
            if self.written >= self.length * 1.1:
                yield self._close(pending)
                return
            if len(pending) > PIECE:
                yield pending[:-1]
                pending = pending[-1:]

    def _append(self, char: str) -> None:
        self.history += char
        self.written += 1
        if char == "“":
            self.open_quotes += 1
        elif char == "”" and self.open_quotes:
            self.open_quotes -= 1
        if len(self.history) >= COPY_CAP:
            self.seen.add(self.history[-COPY_CAP:])
        if self.written >= SELF_REPEAT:
            self.own.add(self.history[-SELF_REPEAT:])
        if len(self.history) > 256:
            self.history = self.history[-64:]

    def _at_sentence_end(self) -> bool:
        text = self.history.rstrip(_CLOSING_QUOTES) if self.open_quotes == 0 else ""
        return text.endswith(tuple(_ENDS)) or text.endswith("……")

    def _close(self, pending: str) -> str:
        """End the last sentence by hand: soft stop -> 。, then close an open quote."""
        if pending and pending[-1] in _SOFT_STOPS:
            if pending[-1] in "“‘「『":
                self.open_quotes = max(self.open_quotes - 1, 0)
            pending = pending[:-1]
        if not pending.endswith(tuple(_ENDS)) and not pending.endswith("……"):
            pending += "。"
        return pending + "”" * self.open_quotes

    def _allowed(self, char: str) -> bool:
        if char == "\n" and (self.open_quotes or not self._at_sentence_end()):
            return False
        if (char == "”" and not self.open_quotes) or (char == "“" and self.open_quotes):
            return False
        if self.written >= SELF_REPEAT and self.history[-(SELF_REPEAT - 1) :] + char in self.own:
            return False
        gram = self.history[-(COPY_CAP - 1) :] + char
        return len(gram) < COPY_CAP or (gram not in self.model.grams and gram not in self.seen)

    def _next_char(self, *, closing: bool) -> str:
        text = self.model.text
        top = min(MAX_ORDER, len(self.history))
        if self.copied >= BRANCH_AFTER and not closing:
            branched = self._branch(top)
            if branched:
                return branched
        for order in range(top, 0, -1):
            positions = self.model.positions(self.history[-order:])
            if not positions:
                continue
            self.copied = self.copied + 1 if order == top else order + 1
            if closing:
                ending = self._ending_char(positions)
                if ending:
                    return ending
            for _ in range(_SAMPLES):
                char = text[self._sample(positions)]
                if self._allowed(char):
                    return char
            allowed = [p for p in positions[:_SCAN_LIMIT] if self._allowed(text[p])]
            if allowed:
                return text[self.rng.choice(allowed)]
        self.copied = 0
        for _ in range(_SAMPLES * 4):
            char = text[self.rng.randrange(len(text))]
            if self._allowed(char):
                return char
        return "。"

    def _branch(self, top: int) -> str | None:
        """Leave a long copied run where a short context offers another way on.

        Diverging at a 2- or 3-character context reads far better than being forced off the
        run later by the copy cap, in a context that may have no good alternative.
        """
        text = self.model.text
        copying = {text[p] for p in self.model.positions(self.history[-top:])[:_SCAN_LIMIT]}
        for order in (3, 2):
            positions = self.model.positions(self.history[-order:])[:_SCAN_LIMIT]
            options = [p for p in positions if text[p] not in copying and self._allowed(text[p])]
            if options:
                self.copied = order + 1
                return text[self._sample(options)]
        return None

    def _ending_char(self, positions: list[int]) -> str | None:
        """A character that ends the sentence (or closes the quote after its end mark)."""
        text = self.model.text
        quote_to_close = self.open_quotes and self.history.endswith(tuple(_ENDS))
        targets = "”" if quote_to_close else _ENDS
        for position in positions[:_SCAN_LIMIT]:
            char = text[position]
            if char in targets and self._allowed(char):
                return char
        return None

    def _sample(self, positions: list[int]) -> int:
        """A position, with the built-in corpus weighted below the work's own text."""
        position = self.rng.choice(positions)
        for _ in range(OWN_WEIGHT):
            if position < self.model.own_length or self.rng.random() < 1 / OWN_WEIGHT:
                break
            position = self.rng.choice(positions)
        return position
