"""Alternatives (候选): two or three answers to one continuation, side by side, and the one the
writer picks written into the chapter.

The chapter never holds competing texts. Each alternative is a task of its own whose peer streams
the model's answer into a preview document of that task (`preview_doc`: never a chapter, so never
projected, searched or exported; members read it live, only the task's peer writes it). Meanwhile
a second peer of the same task sits in the chapter, anchored where the answer goes: concurrent
edits move that sticky position as they move any AI cursor. Picking an alternative (its result gets
`picked`) makes that peer write the chosen text there, marked `{"ai": task_id}` and reviewable
like any AI text; the others are cancelled, end `discarded`, and their preview documents are
closed to everyone (`api.sync_access` opens a preview only while its task runs).

A polish's alternatives work the same way: each previews its rewrite of the selection, and the
chapter peer, anchored at the selection's end, replaces the selection with the picked one. A
selection edited meanwhile is not overwritten: the pick fails (`SelectionChanged`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import replace
from typing import Any, cast

from storage.sql.database import Database
from storage.sql.models import Task

from ..peer import DocumentPeer
from ..ports import CANCELLED, Documents
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, RoutedEvent, Router
from .continuation import continuation
from .outcome import Outcome, TaskCancelled
from .polish import SUGGESTIONS_MARK, parse_polish, polish_request, polished_over
from .streaming import CANCEL_POLL_S, DocumentWriter, Streamed, doc_result, settled
from .work_context import existing_chapter

ALTERNATIVE = "alternative"  # in a task's params: {"group": [task ids], "index": i}
SEPARATOR = "~alt~"
PICKED = "picked"  # set in the result of the alternative the writer picked
STAGE = "stage"  # "preview" while streaming, "ready" once it waits to be picked
DISCARDED = "discarded"  # the review state of an alternative that was not picked
# Longest wait for a pick: the chapter peer's socket must outlive it, so keep it below
# INKWEAVE_DOC_TOKEN_TTL_S (600 s by default), the lifetime of that peer's token.
PICK_WITHIN_S = 480.0


class NotPicked(Exception):
    """No alternative was picked in time; nothing was written into the chapter."""


class SelectionChanged(Exception):
    """The text a polish was asked for is no longer there; nothing was written into it."""


def preview_doc(content_id: str, task_id: str) -> str:
    """The document an alternative streams into, next to chapter `content_id`."""
    return f"{content_id}{SEPARATOR}{task_id}"


def preview_parts(doc: str) -> tuple[str, str] | None:
    """(chapter content id, task id) of a preview document's name; None for any other name."""
    content_id, separator, task_id = doc.partition(SEPARATOR)
    if not separator or not content_id or not task_id:
        return None
    return content_id, task_id


def alternative_of(task: Task) -> dict[str, Any] | None:
    """The task's place among its siblings, when it is one of several alternatives."""
    value = task.params.get(ALTERNATIVE) if isinstance(task.params, dict) else None
    return value if isinstance(value, dict) else None


def discarded(result: Any) -> dict[str, Any]:
    """The result of an alternative that was not picked (`result`: what it had written)."""
    written = settled(result) if isinstance(result, dict) else {}
    return {**written, "review": DISCARDED}


async def continue_alternative(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    ai: Router,
    writer: DocumentWriter,
    context_chars: int,
    pick_within_s: float = PICK_WITHIN_S,
) -> Outcome:
    """Stream one alternative continuation into its preview, wait for the pick, and write it into
    the chapter if it is the one picked."""
    return await _unless_discarded(
        writer,
        task,
        lambda: _continue_alternative(
            task,
            database=database,
            documents=documents,
            ai=ai,
            writer=writer,
            context_chars=context_chars,
            pick_within_s=pick_within_s,
        ),
    )


async def polish_alternative(
    task: Task,
    *,
    database: Database,
    writer: DocumentWriter,
    pick_within_s: float = PICK_WITHIN_S,
) -> Outcome:
    """Stream one alternative polish of the selection into its preview, wait for the pick, and
    write it over the selection if it is the one picked.

    `task.params`: `content` (the selection as asked), `start`, `end`, `style`, `level`."""
    return await _unless_discarded(
        writer, task, lambda: _polish_alternative(task, database, writer, pick_within_s)
    )


async def _unless_discarded(
    writer: DocumentWriter, task: Task, run: Callable[[], Awaitable[Outcome]]
) -> Outcome:
    try:
        return await run()
    except TaskCancelled:
        raise
    except Exception:
        # Discarded before it joined (its preview is closed once the task is cancelled).
        current = await writer.tasks.get(task.id)
        if current is not None and current.status == CANCELLED:
            raise TaskCancelled(None if current.result else discarded(None)) from None
        raise


async def _continue_alternative(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    ai: Router,
    writer: DocumentWriter,
    context_chars: int,
    pick_within_s: float,
) -> Outcome:
    alternative = alternative_of(task)
    assert alternative is not None
    asked = await continuation(
        task, database=database, documents=documents, ai=ai, context_chars=context_chars
    )
    # Each alternative its own sample (the offline provider's prose is seeded).
    request = replace(
        asked.request, inputs={**asked.request.inputs, "seed": int(alternative["index"])}
    )
    chapter_doc = asked.chapter.content_id
    preview = preview_doc(chapter_doc, task.id)
    extra = {STAGE: "preview", "position": asked.at, ALTERNATIVE: alternative}
    async with writer.join(task, chapter_doc) as anchor:
        asked.place(anchor)
        streamed, _ready = await _stream_until_picked(
            writer,
            task,
            anchor,
            request,
            preview=preview,
            level=asked.level,
            action="continue",
            expected_chars=asked.length,
            extra=extra,
            pick_within_s=pick_within_s,
        )
        chosen = Streamed(streamed.text, streamed.provider, streamed.model, anchor.client_id)
        outcome = chosen.outcome(chapter_doc, position=asked.at, **{ALTERNATIVE: alternative})
        outcome.result[PICKED] = True
        await writer.claim(task, outcome.result)
        try:
            await anchor.write(streamed.text)
        except BaseException:
            await writer.settle(task, outcome.result if anchor.written else None)
            raise
    return outcome


async def _polish_alternative(
    task: Task, database: Database, writer: DocumentWriter, pick_within_s: float
) -> Outcome:
    alternative = alternative_of(task)
    assert alternative is not None
    params = task.params
    original, index = str(params["content"]), int(alternative["index"])
    chapter = await existing_chapter(database, task.chapter_id)
    # Siblings must differ: a warmer model for all but the first (the offline rules are fixed).
    request = polish_request(original, params["style"], temperature=0.3 if index == 0 else 0.8)
    request = replace(request, inputs={**request.inputs, "seed": index})
    preview = preview_doc(chapter.content_id, task.id)
    extra = {STAGE: "preview", "original": original, ALTERNATIVE: alternative}
    async with writer.join(task, chapter.content_id) as anchor:
        found = _selection(anchor.text, original, int(params["start"]), int(params["end"]))
        # Sticky at the selection's end: text typed at either edge stays outside the range.
        anchor.anchor(found + len(original))
        streamed, ready = await _stream_until_picked(
            replace(writer, ai=cast(Router, _TextOnly(writer.ai))),
            task,
            anchor,
            request,
            preview=preview,
            level=params.get("level", "free"),
            action="polish",
            expected_chars=len(original),
            extra=extra,
            pick_within_s=pick_within_s,
        )
        end = anchor.position
        assert end is not None
        start = end - len(original)
        if start < 0 or anchor.text[start:end] != original:
            await writer.settle(task, discarded(ready))
            raise SelectionChanged("the selected text was edited before the pick; it is kept")
        text = polished_over(original, parse_polish(streamed.text)[0])
        chosen = Streamed(text, streamed.provider, streamed.model, anchor.client_id)
        outcome = chosen.outcome(
            chapter.content_id, original=original, start=start, **{ALTERNATIVE: alternative}
        )
        outcome.result[PICKED] = True
        await writer.claim(task, outcome.result)
        try:
            await anchor.replace(start, end, text)
        except BaseException:
            await writer.settle(task, outcome.result if anchor.written else None)
            raise
    return outcome


async def _stream_until_picked(
    writer: DocumentWriter,
    task: Task,
    anchor: DocumentPeer,
    request: CompletionRequest,
    *,
    preview: str,
    level: str,
    action: str,
    expected_chars: int,
    extra: dict[str, Any],
    pick_within_s: float,
) -> tuple[Streamed, dict[str, Any]]:
    """Stream the answer into `preview`, mark it ready, and wait for the pick (`_picked` raises
    when another alternative is picked or nobody picks in time): the answer and its result."""
    try:
        streamed = await writer.stream(
            task,
            preview,
            request,
            level=level,
            action=action,
            expected_chars=expected_chars,
            place=_unanchored,
            extra=extra,
        )
    except TaskCancelled as cancelled:
        raise TaskCancelled(discarded(cancelled.args[0] if cancelled.args else None)) from None
    ready = doc_result(preview, streamed, **{**extra, STAGE: "ready"})
    await writer.tasks.progress(
        task.id, 99, result=ready, provider=streamed.provider, model=streamed.model
    )
    await _picked(writer, task.id, ready, anchor, pick_within_s)
    return streamed, ready


async def _unanchored(peer: DocumentPeer) -> None:
    """A preview's peer writes at the end of its own document."""
    peer.anchor(None)


def _selection(current: str, original: str, start: int, end: int) -> int:
    """Where `original` is in `current`: at [start, end) as asked, or else where it moved."""
    if current[start:end] == original:
        return start
    found = current.find(original)
    if found < 0:
        raise SelectionChanged("the selected text changed before the polish started")
    return found


class _TextOnly:
    """A router whose answers stop at the polish's suggestions (`SUGGESTIONS_MARK`): a preview
    shows the rewritten text only. The rest of the answer is still read, so the call is recorded."""

    def __init__(self, ai: Router) -> None:
        self._ai = ai

    async def stream(
        self, request: CompletionRequest, *, level: str, ctx: CallContext
    ) -> AsyncIterator[RoutedEvent]:
        held, ended = "", False
        last: RoutedEvent | None = None
        async with aclosing(self._ai.stream(request, level=level, ctx=ctx)) as events:
            async for event in events:
                last = event
                if ended:
                    continue
                held += event.text
                cut = held.find(SUGGESTIONS_MARK)
                if cut >= 0:
                    held, ended = held[:cut], True
                    keep = 0
                else:
                    keep = _mark_prefix(held)
                if len(held) > keep:
                    yield replace(event, text=held[: len(held) - keep])
                    held = held[len(held) - keep :]
        if held and not ended and last is not None:
            yield replace(last, text=held)


def _mark_prefix(text: str) -> int:
    """The length of the longest end of `text` that may begin `SUGGESTIONS_MARK`."""
    for size in range(min(len(text), len(SUGGESTIONS_MARK) - 1), 0, -1):
        if SUGGESTIONS_MARK.startswith(text[-size:]):
            return size
    return 0


async def _picked(
    writer: DocumentWriter,
    task_id: str,
    ready: dict[str, Any],
    anchor: DocumentPeer,
    within_s: float,
) -> None:
    """Return once this alternative is picked; raise when it is discarded (cancelled), when
    its chapter peer lost its seat, or when nobody picked in time."""
    deadline = time.monotonic() + within_s
    while True:
        task = await writer.tasks.get(task_id)
        if task is None or task.status == CANCELLED:
            raise TaskCancelled(discarded(ready))
        if isinstance(task.result, dict) and task.result.get(PICKED):
            return
        if anchor.error is not None:
            await writer.settle(task, discarded(ready))
            raise anchor.error
        if time.monotonic() >= deadline:
            await writer.settle(task, discarded(ready))
            raise NotPicked(f"no alternative was picked within {within_s:.0f} s")
        await asyncio.sleep(CANCEL_POLL_S)
