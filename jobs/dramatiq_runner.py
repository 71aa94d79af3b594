"""The `TaskRunner` the API uses: queue a task through the Dramatiq broker."""

from __future__ import annotations

import asyncio

from .actors import JobActors


class DramatiqRunner:
    def __init__(self, actors: JobActors) -> None:
        self.actors = actors

    async def submit(self, kind: str, task_id: str) -> None:
        # Redis and RabbitMQ brokers do blocking network I/O: keep it off the event loop.
        await asyncio.to_thread(self.actors.run_task.send, kind, task_id)

    async def close(self) -> None:
        """Nothing to release: the broker belongs to the `JobSystem`."""
