"""An agent writing into a chapter as a peer: the model's answer streamed into the live document.

Cancelling the task (seen within `CANCEL_POLL_S`) stops the stream and keeps what was written.

What a task writes is never stranded (DESIGN, "AI agents are peers"): before its first piece goes
into the document the task's result names the document and the peer's client id (`claim`), so
whatever happens next, a model failing, the peer's socket dropping, the process being stopped or
killed, accept and reject find the text by authorship. While the task writes, its result says
`"writing": true` and its `text` follows what was written (at most `CANCEL_POLL_S` behind); the
result recorded when it stops has no `writing` and the text in full.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
CANCEL_POLL_S = 0.25  # also how often a writing task's progress and text are recorded
WRITING = "writing"  # in a result while its task may still write more

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


def settled(result: dict[str, Any]) -> dict[str, Any]:
    """`result` as recorded once its task writes no more."""
    return {key: value for key, value in result.items() if key != WRITING}


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

    async def claim(self, task: Task, result: dict[str, Any]) -> None:
        """Record `result` (naming the document and the peer's client id) as what the task is
        writing; call it before its first edit reaches the document."""
        await self.tasks.update_result(task.id, {**result, WRITING: True})

    async def settle(self, task: Task, result: dict[str, Any] | None) -> None:
        """Record `result` as all the task wrote (None: nothing), when it stopped without an
        outcome."""
        final = None if result is None else settled(result)
        with contextlib.suppress(Exception):
            # Shielded: a worker stopping cancels the task, and this record must still land.
            await asyncio.shield(self.tasks.update_result(task.id, final))

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
        extra: dict[str, Any] | None = None,
    ) -> Streamed:
        """Join `doc` as a peer, let `place(peer)` set the anchor, stream the answer into it.

        `extra`: more fields of the task's result (as `Streamed.outcome` is given them)."""
        watch = _Watch(self.tasks, task.id)
        streamed = Streamed("", None, None)
        ctx = CallContext(task.user_id, task.work_id, task.id, action)
        guard = StreamFilter(self.safety)
        joined: asyncio.Future[DocumentPeer] = asyncio.get_running_loop().create_future()
        claimed = False

        def result(text: str | None = None) -> dict[str, Any]:
            written = streamed if text is None else replace(streamed, text=text)
            return doc_result(doc, written, **(extra or {}))

        async def put(peer: DocumentPeer, piece: str) -> None:
            nonlocal claimed
            if not claimed:
                # Before the piece can reach the document: even a process killed right after it
                # leaves the task naming where its text is and whose it is.
                await self.claim(task, result(streamed.text + piece))
                claimed = True
            # Counted first: `write` inserts before it yields, so a cancel landing in that
            # yield still finds the text in the task's result.
            streamed.text += piece
            await peer.write(piece)

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
                        await put(peer, safe)
            rest = guard.flush()
            if rest:
                await put(await joined, rest)

        consumer = asyncio.create_task(consume())
        try:
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
                            await _stop(consumer)
                            raise TaskCancelled(result())
                        if peer.error is not None:
                            raise peer.error  # the socket dropped: it writes nothing more
                        if claimed:
                            percent = 100 * len(streamed.text) / max(1, expected_chars)
                            await watch.writing(percent, result())
            finally:
                await _stop(consumer)
        except TaskCancelled:
            raise
        except BaseException:
            if claimed:
                await self.settle(task, result())
            raise
        return streamed


async def _stop(consumer: asyncio.Task[None]) -> None:
    if not consumer.done():
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)


class _Watch:
    """Cancellation seen within `CANCEL_POLL_S`; progress and the text written so far."""

    def __init__(self, tasks: TaskProgress, task_id: str) -> None:
        self.tasks = tasks
        self.task_id = task_id
        self._recorded_chars = 0

    async def cancelled(self) -> bool:
        return (await self.tasks.status(self.task_id)) == CANCELLED

    async def progress(self, percent: float, **fields: Any) -> None:
        await self.tasks.progress(self.task_id, min(99, int(percent)), **fields)

    async def writing(self, percent: float, result: dict[str, Any]) -> None:
        """Record the text written so far, when it grew (while the task is still running)."""
        if result["chars"] != self._recorded_chars:
            self._recorded_chars = result["chars"]
            await self.progress(percent, result={**result, WRITING: True})
