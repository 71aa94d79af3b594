"""The offline provider: deterministic, rule-based methods per task; no network, no key.

It reads the raw task inputs (`CompletionRequest.inputs`), not the rendered prompt, and streams its
answer in pieces of a few characters, paced so that a writer can watch it type. Usage is counted in
characters. The methods live in `ai_agents.offline`, imported when a task needs them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .base import CompletionRequest, ProviderError, StreamEvent, Usage

OFFLINE = "offline"


class OfflineProvider:
    name = OFFLINE
    kind = OFFLINE

    def __init__(self, *, delay_ms: float = 0, piece_chars: int = 3) -> None:
        self._delay_s = max(0.0, delay_ms) / 1000
        self._piece_chars = max(1, piece_chars)

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        producer = _PRODUCERS.get(request.task)
        if producer is None:
            raise ProviderError(f"offline: no method for {request.task!r}", retryable=False)
        try:
            source = await asyncio.to_thread(producer, request.inputs)
        except (KeyError, TypeError, ValueError) as exc:
            message = f"offline {request.task}: bad inputs: {exc!r}"
            raise ProviderError(message, retryable=False) from exc
        written = 0
        pending = ""
        while True:
            # Producers may be lazy (the n-gram continuation): advance them off the event loop.
            part = await asyncio.to_thread(next, source, None)
            if part is None:
                break
            pending += part
            while len(pending) >= self._piece_chars:
                piece, pending = pending[: self._piece_chars], pending[self._piece_chars :]
                written += len(piece)
                yield StreamEvent(text=piece)
                await asyncio.sleep(self._delay_s)
        if pending:
            written += len(pending)
            yield StreamEvent(text=pending)
        yield StreamEvent(usage=Usage(_input_chars(request.inputs), written))

    async def aclose(self) -> None:
        """Holds nothing."""


def _input_chars(value: Any) -> int:
    """Characters of every text the method reads (strings anywhere in the inputs)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(_input_chars(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_input_chars(item) for item in value)
    return 0


def _continue(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import continuation

    return iter(
        continuation.continue_text(
            inputs["preceding"],
            list(inputs.get("corpus") or []),
            int(inputs["length"]),
            seed=int(inputs.get("seed") or 0),
        )
    )


def _polish(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import polish

    result = polish.polish(inputs["text"], inputs.get("style") or "literary")
    # The layout the polish prompt asks models for: the text, a separator line, "- " suggestions.
    advice = "".join(f"\n- {_plain(s)}" for s in result.suggestions)
    return iter([f"{result.text}\n===建议==={advice}" if advice else result.text])


def _convert(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import conversion

    if inputs["to_type"] == "script":
        return iter([conversion.novel_to_fountain(inputs["text"], title=inputs.get("title"))])
    if inputs["to_type"] == "novel":
        return iter([conversion.fountain_to_novel(inputs["text"])])
    raise ValueError(f"to_type must be script or novel, not {inputs['to_type']!r}")


def _outline(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import outline

    chapters = outline.outline(
        inputs["premise"],
        genre=inputs.get("genre"),
        kind=inputs.get("kind") or "novel",
        chapters=int(inputs["chapters"]),
        corpus=list(inputs.get("corpus") or []),
    )
    document = {"chapters": [{"title": c.title, "summary": c.summary} for c in chapters]}
    return iter([json.dumps(document, ensure_ascii=False)])


def _summary(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import summary

    return iter([summary.summarize(inputs["text"], int(inputs["max_chars"]))])


def _snowflake(inputs: Mapping[str, Any]) -> Iterator[str]:
    from ai_agents.offline import snowflake

    return iter([snowflake.step(int(inputs["step"]), dict(inputs.get("state") or {}))])


def _plain(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "；".join(str(v) for v in dataclasses.asdict(value).values() if v)
    return str(value)


_PRODUCERS: dict[str, Callable[[Mapping[str, Any]], Iterator[str]]] = {
    "continue": _continue,
    "polish": _polish,
    "convert": _convert,
    "outline": _outline,
    "summary": _summary,
    "snowflake": _snowflake,
}
