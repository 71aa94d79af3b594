"""An agent writing into a chapter as a peer: the model's answer streamed into the live document.

Cancelling the task (seen within `CANCEL_POLL_S`) stops the stream and keeps what was written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from storage.sql.models import Task

from ..peer import DocumentPeer, PeerIdentity
from ..ports import CANCELLED, Documents, TaskProgress
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, Router
from ..safety import SensitiveWords, StreamFilter
from .outcome import Outcome, TaskCancelled

PEER_NAMES = {
    "continue": "AI · 续写",
    "polish": "AI · 润色",
    "convert": "AI · 改编",
}
PEER_COLORS = {"continue": "#7c3aed", "polish": "#0891b2", "convert": "#db2777"}
CANCEL_POLL_S = 0.25
PROGRESS_EVERY_S = 0.5

Place = Callable[[DocumentPeer], Awaitable[None]]


@dataclass(slots=True)
class Streamed:
    text: str
    provider: str | None
    model: str | None
    client_id: int | None = None  # the peer's Yjs client: what reject deletes by authorship

    def outcome(self, doc: str, **extra: Any) -> Outcome:
        return Outcome(doc_result(doc, self, **extra), self.provider, self.model)


def doc_result(doc: str, streamed: Streamed, **extra: Any) -> dict[str, Any]:
    """The result of a task that wrote into a document, pending the writer's review."""
    return {
        "doc": doc,
        "text": streamed.text,
        "chars": len(streamed.text),
        "review": "pending",
        "client_id": streamed.client_id,
        **extra,
    }


def peer_identity(task: Task) -> PeerIdentity:
    return PeerIdentity(
        task_id=task.id,
        name=PEER_NAMES.get(task.type, "AI"),
        color=PEER_COLORS.get(task.type, "#7c3aed"),
    )


@dataclass(frozen=True, slots=True)
class DocumentWriter:
    """Joins documents as a task's peer and streams models' answers into them."""

    ai: Router
    safety: SensitiveWords
    tasks: TaskProgress
    documents: Documents

    def join(self, task: Task, doc: str) -> DocumentPeer:
        """The task's peer in `doc` (use as `async with`)."""
        seat = self.documents.seat(task.user_id, doc)
        return DocumentPeer(seat.url, seat.token, peer_identity(task))

    async def stream(
        self,
        task: Task,
        doc: str,
        request: CompletionRequest,
        *,
        level: str,
        action: str,
        expected_chars: int,
        place: Place,
    ) -> Streamed:
        """Join `doc` as a peer, let `place(peer)` set the anchor, stream the answer into it."""
        watch = _Watch(self.tasks, task.id)
        streamed = Streamed("", None, None)
        ctx = CallContext(task.user_id, task.work_id, task.id, action)
        guard = StreamFilter(self.safety)
        joined: asyncio.Future[DocumentPeer] = asyncio.get_running_loop().create_future()

        async def consume() -> None:
            # Started before the peer joins, so the model's first token and the join overlap.
            events = self.ai.stream(request, level=level, ctx=ctx)
            async with contextlib.aclosing(events):  # a cancel still records the call
                async for event in events:
                    peer = await joined
                    if streamed.provider is None:
                        streamed.provider, streamed.model = event.provider, event.model
                        await peer.set_identity(provider=event.provider, model=event.model)
                        await watch.progress(1, provider=event.provider, model=event.model)
                    safe = guard.feed(event.text)
                    if safe:
                        # Counted first: `write` inserts before it yields, so a cancel landing in
                        # that yield still finds the text in the task's result.
                        streamed.text += safe
                        await peer.write(safe)
                        await watch.progress(100 * len(streamed.text) / max(1, expected_chars))
            rest = guard.flush()
            if rest:
                peer = await joined
                streamed.text += rest
                await peer.write(rest)

        consumer = asyncio.create_task(consume())
        try:
            async with self.join(task, doc) as peer:
                await place(peer)
                streamed.client_id = peer.client_id
                joined.set_result(peer)
                while True:
                    done, _ = await asyncio.wait({consumer}, timeout=CANCEL_POLL_S)
                    if done:
                        consumer.result()
                        break
                    if await watch.cancelled():
                        consumer.cancel()
                        await asyncio.gather(consumer, return_exceptions=True)
                        raise TaskCancelled(doc_result(doc, streamed))
        finally:
            if not consumer.done():
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
        return streamed


class _Watch:
    """Cancellation seen within `CANCEL_POLL_S`, and throttled progress reports."""

    def __init__(self, tasks: TaskProgress, task_id: str) -> None:
        self.tasks = tasks
        self.task_id = task_id
        self._last_progress = 0.0

    async def cancelled(self) -> bool:
        return (await self.tasks.status(self.task_id)) == CANCELLED

    async def progress(self, percent: float, **fields: Any) -> None:
        loop = asyncio.get_running_loop()
        if fields or loop.time() - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = loop.time()
            await self.tasks.progress(self.task_id, min(99, int(percent)), **fields)
