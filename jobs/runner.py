"""How a task gets run: the seam between the API (which queues) and the workers (which run).

`InProcessRunner` runs handlers as asyncio tasks in the serving process (embedded default). The
Dramatiq runner (jobs issue) implements the same protocol with a real broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

Handler = Callable[[str], Awaitable[None]]


class TaskRunner(Protocol):
    async def submit(self, kind: str, task_id: str) -> None:
        """Queue task `task_id` for the handler of `kind`; return once it is queued."""
        ...

    async def close(self) -> None: ...


class InProcessRunner:
    def __init__(self, handlers: dict[str, Handler] | None = None) -> None:
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self._running: set[asyncio.Task[None]] = set()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def submit(self, kind: str, task_id: str) -> None:
        handler = self.handlers[kind]
        job = asyncio.create_task(self._run(kind, task_id, handler), name=f"{kind}:{task_id}")
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _run(self, kind: str, task_id: str, handler: Handler) -> None:
        try:
            await handler(task_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("task failed", extra={"kind": kind, "task_id": task_id})

    async def close(self) -> None:
        for job in list(self._running):
            job.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
