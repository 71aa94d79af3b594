"""Continue (续写): the AI joins the chapter and types what comes next at the asked position."""

from __future__ import annotations

from dataclasses import dataclass

from storage.sql.database import Database
from storage.sql.models import Chapter, Task

from .. import prompts
from ..context import LONG_WORK_CHARS, assemble
from ..peer import DocumentPeer
from ..ports import Documents
from ..providers.base import CompletionRequest
from ..providers.router import Router
from .outcome import Outcome
from .streaming import DocumentWriter
from .summaries import summaries_before
from .work_context import existing_chapter, work_context


@dataclass(frozen=True, slots=True)
class Continuation:
    """What a continuation task asks the model, and where its answer goes."""

    chapter: Chapter
    at: int  # the asked position as it was when the task started (code points)
    position: int | None  # as asked (None: the end of the text)
    length: int
    level: str
    request: CompletionRequest

    def place(self, peer: DocumentPeer) -> None:
        """Anchor `peer` where the answer goes in the chapter."""
        # Text typed since the request moved the end; a given position is kept as asked.
        peer.anchor(None if self.position is None else min(self.at, len(peer.text)))


async def continue_chapter(
    task: Task,
    *,
    database: Database,
    documents: Documents,
    ai: Router,
    writer: DocumentWriter,
    context_chars: int,
) -> Outcome:
    """`task.params`: `length` (characters), `position` (None: the end), `instruction`, `level`."""
    asked = await continuation(
        task, database=database, documents=documents, ai=ai, context_chars=context_chars
    )

    async def place(peer: DocumentPeer) -> None:
        asked.place(peer)

    streamed = await writer.stream(
        task,
        asked.chapter.content_id,
        asked.request,
        level=asked.level,
        action="continue",
        expected_chars=asked.length,
        place=place,
        extra={"position": asked.at},
    )
    return streamed.outcome(asked.chapter.content_id, position=asked.at)


async def continuation(
    task: Task, *, database: Database, documents: Documents, ai: Router, context_chars: int
) -> Continuation:
    """The prompt of continuation task `task`, from the chapter as stored now."""
    params = task.params
    level = params.get("level", "free")
    chapter = await existing_chapter(database, task.chapter_id)
    text, meta = await documents.read(chapter.content_id)
    work = await work_context(database, task.work_id, chapter, meta)
    position = params.get("position")
    at = len(text) if position is None else max(0, min(int(position), len(text)))
    preceding = text[:at]
    summaries: list[tuple[str, str]] = []
    if sum(len(c.text or "") for c in work.chapters) >= LONG_WORK_CHARS:
        summaries = await summaries_before(
            database, ai, work.chapters, chapter, level=level, task=task
        )
    else:
        earlier = [c for c in work.chapters if c.sort_order < chapter.sort_order and c.text]
        preceding = "\n\n".join([*(c.text for c in earlier), preceding])
    context = assemble(work.bible, summaries, preceding, budget=context_chars)
    length = int(params["length"])
    request = CompletionRequest(
        task="continue",
        messages=prompts.render(
            "continue",
            bible=context.bible,
            summaries=context.summaries,
            preceding=context.preceding,
            length=length,
            instruction=params.get("instruction") or "",
        ),
        inputs={
            "preceding": context.preceding,
            "corpus": work.corpus,
            "length": length,
            "seed": 0,
        },
        max_tokens=int(length * 2) + 64,
    )
    return Continuation(chapter, at, position, length, level, request)
