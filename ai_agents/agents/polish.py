"""Polish (润色): the polished text and suggestions at once, and, as a task, the polished text
written over the writer's selection by the AI's peer."""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.sql.database import Database
from storage.sql.models import Task

from .. import prompts
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, Router
from ..safety import SensitiveWords
from .outcome import Outcome
from .streaming import DocumentWriter, Streamed
from .work_context import existing_chapter

STYLES = {
    "formal": ("正式", "书面、庄重、准确，避免口语和网络用语"),
    "casual": ("轻松", "口语化、自然、亲切，句子短"),
    "literary": ("文学", "富有文学性，注意意象、节奏和修辞，但不堆砌辞藻"),
}
SUGGESTIONS_MARK = "===建议==="


@dataclass(frozen=True, slots=True)
class Polished:
    text: str
    suggestions: list[str]
    provider: str
    model: str
    changed: bool  # False: the text came back as it was, so there is no edit to offer


def _keep_edges(original: str, polished: str) -> str:
    """The selection's leading and trailing white space around the polished text: answers come
    stripped, and a selection ending in a line break must not lose it (or count as an edit)."""
    body = original.strip()
    if not body:
        return original
    start = original.index(body[0])
    return original[:start] + polished + original[start + len(body) :]


async def polish_text(
    content: str,
    style: str,
    *,
    ai: Router,
    safety: SensitiveWords,
    level: str,
    ctx: CallContext,
) -> Polished:
    """`content` polished in `style` (a key of `STYLES`); raises `AiUnavailable`."""
    completion = await ai.complete(polish_request(content, style), level=level, ctx=ctx)
    polished, suggestions = parse_polish(completion.text)
    text = polished_over(content, safety.mask(polished))
    return Polished(
        text, suggestions, completion.provider, completion.model, changed=text != content
    )


def polish_request(content: str, style: str, temperature: float = 0.3) -> CompletionRequest:
    """What polishing `content` in `style` asks the model."""
    label, instruction = STYLES[style]
    return CompletionRequest(
        task="polish",
        messages=prompts.render("polish", style=label, style_instruction=instruction, text=content),
        inputs={"text": content, "style": style},
        max_tokens=max(256, len(content) * 2),
        temperature=temperature,
    )


def polished_over(original: str, polished: str) -> str:
    """The text that replaces `original`: `polished` (the model's, parsed and masked) with the
    selection's edge white space; an empty answer keeps the original."""
    return _keep_edges(original, polished.strip() or original.strip())


def parse_polish(output: str) -> tuple[str, list[str]]:
    """`text ===建议=== - a - b`, the format the prompt asks for (JSON is accepted too)."""
    stripped = output.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
            return str(document["text"]), [str(s) for s in document.get("suggestions", [])]
        except (ValueError, KeyError, TypeError):
            pass
    text, _, advice = stripped.partition(SUGGESTIONS_MARK)
    suggestions = [
        line.strip().lstrip("-•*· ").strip() for line in advice.splitlines() if line.strip()
    ]
    return text.strip(), [s for s in suggestions if s]


async def apply_polish(task: Task, *, database: Database, writer: DocumentWriter) -> Outcome:
    """Write the already polished text over the selected range, as the AI.

    `task.params`: `start`, `end`, `original` (the selection as it was), `polished`, and the
    `provider` and `model` that polished it. A selection that moved is found again by its text.
    """
    params = task.params
    chapter = await existing_chapter(database, task.chapter_id)
    original, polished = params["original"], params["polished"]
    start, end = int(params["start"]), int(params["end"])
    async with writer.join(task, chapter.content_id) as peer:
        current = peer.text
        if current[start:end] != original:
            found = current.find(original)
            if found < 0:
                raise RuntimeError("the selected text changed before the polish was applied")
            start, end = found, found + len(original)
        streamed = Streamed(polished, params.get("provider"), params.get("model"), peer.client_id)
        outcome = streamed.outcome(chapter.content_id, original=original, start=start)
        await writer.claim(task, outcome.result)
        try:
            await peer.replace(start, end, polished)
        except BaseException:
            # Refused before its edit (the peer had failed): the task wrote nothing after all.
            await writer.settle(task, outcome.result if peer.written else None)
            raise
    return outcome
