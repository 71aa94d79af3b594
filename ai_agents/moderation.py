"""Moderation (brief §6.4.1) behind one port: is this text acceptable?

`Moderator.moderate(text)` answers a `Verdict`. Implementations: the sensitive-word list
(`WordListModerator`, always on), OpenAI's moderation endpoint (`OpenAIModerator`, for
OpenAI-kind providers), a prompt-based classifier on any other provider (`PromptModerator`), and
`ModerationChain`, which asks the word list first and the model only when the list passes.

`LiveWords` is the word list that administrators change at runtime: a `SensitiveWords` whose
words are replaced in one step, so every agent holding it sees the new list at its next check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .providers.base import CompletionRequest, Message, Provider, ProviderConfig
from .safety import Hit, SensitiveWords, StreamFilter, fold

log = logging.getLogger(__name__)

MAX_MODEL_INPUT_CHARS = 20_000  # what a model check reads of a text (the word list reads it all)


@dataclass(frozen=True, slots=True)
class Verdict:
    flagged: bool
    source: str  # words | openai | classifier | error
    categories: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # the listed words found (word list)
    model: str | None = None
    error: str | None = None  # the model check failed: the word list's verdict stands

    def as_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "source": self.source,
            "categories": list(self.categories),
            "words": list(self.words),
            "model": self.model,
            "error": self.error,
        }


PASSED = Verdict(flagged=False, source="words")


class Moderator(Protocol):
    async def moderate(self, text: str) -> Verdict: ...


class LiveWords(SensitiveWords):
    """A word list replaced as a whole at runtime: the shipped (or file) list, plus the words
    administrators added, less the shipped words they took out."""

    def __init__(self, base: SensitiveWords) -> None:  # no super().__init__: it delegates
        self._base = base
        self._current = base

    @property
    def base(self) -> SensitiveWords:
        return self._base

    def replace(self, added: Iterable[str], removed: Iterable[str]) -> None:
        gone = {fold(word) for word in removed}
        words = [word for word in self._base.words if fold(word) not in gone]
        # One assignment: a check running on another thread sees the old list or the new one.
        self._current = SensitiveWords([*words, *added])

    @property  # type: ignore[override]
    def longest(self) -> int:
        return self._current.longest

    @property  # type: ignore[override]
    def needs_lookahead(self) -> bool:
        return self._current.needs_lookahead

    @property
    def words(self) -> list[str]:
        return self._current.words

    def open_suffix(self, text: str) -> int:
        return self._current.open_suffix(text)

    def check(self, text: str) -> list[Hit]:
        return self._current.check(text)

    def mask(self, text: str) -> str:
        return self._current.mask(text)

    def stream_filter(self) -> StreamFilter:
        # The list as it is when the stream starts: one stream never mixes two lists.
        return StreamFilter(self._current)

    def _scan(self, text: str, offset: int, *, at_end: bool, before: str) -> list[Hit]:
        return self._current._scan(text, offset, at_end=at_end, before=before)


@dataclass(frozen=True, slots=True)
class WordListModerator:
    words: SensitiveWords

    async def moderate(self, text: str) -> Verdict:
        hits = self.words.check(text)
        found = tuple(dict.fromkeys(hit.word for hit in hits))
        return Verdict(flagged=bool(found), source="words", words=found)


@dataclass(frozen=True, slots=True)
class OpenAIModerator:
    """OpenAI's `POST /v1/moderations` through the official SDK (`client`: an `AsyncOpenAI`)."""

    client: Any
    model: str = "omni-moderation-latest"

    async def moderate(self, text: str) -> Verdict:
        answer = await self.client.moderations.create(
            model=self.model, input=text[:MAX_MODEL_INPUT_CHARS]
        )
        flagged, categories = False, set[str]()
        for result in answer.results:
            flagged = flagged or bool(result.flagged)
            raw = result.categories.model_dump(by_alias=True)
            categories.update(name for name, on in raw.items() if on)
        return Verdict(
            flagged=flagged, source="openai", categories=tuple(sorted(categories)), model=self.model
        )


CLASSIFIER_PROMPT = (
    "You are a content moderator for a fiction-writing platform. Fiction may depict conflict, "
    "crime and romance. Flag only text that is sexual content involving minors, explicit sexual "
    "content, instructions for serious violence or weapons, hate against protected groups, "
    "self-harm encouragement, or illegal political content. Answer with JSON only: "
    '{"flagged": true|false, "categories": ["..."]}'
)


@dataclass(frozen=True, slots=True)
class PromptModerator:
    """A model asked to classify the text (for providers without a moderation endpoint)."""

    provider: Provider
    model: str
    max_tokens: int = 100

    async def moderate(self, text: str) -> Verdict:
        request = CompletionRequest(
            task="moderation",
            messages=[
                Message("system", CLASSIFIER_PROMPT),
                Message("user", text[:MAX_MODEL_INPUT_CHARS]),
            ],
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        parts = [event.text async for event in self.provider.stream(request, self.model)]
        flagged, categories = parse_classification("".join(parts))
        return Verdict(
            flagged=flagged, source="classifier", categories=categories, model=self.model
        )


def parse_classification(answer: str) -> tuple[bool, tuple[str, ...]]:
    """The classifier's JSON, also when wrapped in prose or a code fence; unreadable: flagged
    (a model check that was asked for and could not say "fine" does not pass the text)."""
    start, end = answer.find("{"), answer.rfind("}")
    try:
        data = json.loads(answer[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("flagged"), bool):
        return True, ("unreadable",)
    raw = data.get("categories") or []
    categories = tuple(str(item)[:50] for item in raw if isinstance(item, str))
    return data["flagged"], categories


@dataclass(frozen=True, slots=True)
class ModerationChain:
    """The word list, then (when it passes) each model check in turn. A model check that fails
    (network, quota) is logged and noted on the verdict; the word list's verdict stands."""

    words: WordListModerator
    models: Sequence[Moderator] = field(default_factory=tuple)

    async def moderate(self, text: str) -> Verdict:
        verdict = await self.words.moderate(text)
        if verdict.flagged or not text.strip():
            return verdict
        for model in self.models:
            try:
                answer = await model.moderate(text)
            except Exception as exc:  # any SDK or provider failure
                log.warning("model moderation failed: %s", exc)
                return Verdict(flagged=False, source="error", error=str(exc)[:200])
            if answer.flagged:
                return answer
            verdict = answer
        return verdict


def model_moderator(config: ProviderConfig, *, openai_model: str, timeout_s: float) -> Moderator:
    """The model check through `config`'s provider: its moderation endpoint for an OpenAI-kind
    provider, a prompt-based classifier otherwise."""
    if config.kind == "openai":
        from openai import AsyncOpenAI

        client = AsyncOpenAI(
            base_url=config.base_url or None,
            api_key=config.api_key or "not-needed",
            max_retries=0,
            timeout=timeout_s,
        )
        return OpenAIModerator(client, openai_model)
    from .providers.configs import build_provider

    return PromptModerator(build_provider(config, timeout_s=timeout_s), config.model_for("economy"))
