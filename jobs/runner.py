"""How a task gets run: the port the API queues through, and its Dramatiq implementation.

`TaskRunner` is the seam between the request side (which creates a task row and queues it) and
the workers (which run it). `DramatiqRunner` sends the task to the broker of a `JobSystem`: the
in-process broker by default, Redis or RabbitMQ in production.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from .broker import JobActors


class TaskRunner(Protocol):
    async def submit(self, kind: str, task_id: str) -> None:
        """Queue task `task_id` for the handler of `kind`; return once it is queued."""
        ...


class DramatiqRunner:
    def __init__(self, actors: JobActors) -> None:
        self.actors = actors

    async def submit(self, kind: str, task_id: str) -> None:
        # Redis and RabbitMQ brokers do blocking network I/O: keep it off the event loop.
        await asyncio.to_thread(self.actors.run_task.send, kind, task_id)
