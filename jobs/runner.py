"""How a task gets run: the seam between the API (which queues) and the workers (which run).

`jobs.dramatiq_runner` implements it with Dramatiq (the in-process broker by default, Redis or
RabbitMQ in production). `NoRunner` stands in where a process runs no job system at all (the
CLI's one-off commands), so that queueing there fails loudly instead of silently.
"""

from __future__ import annotations

from typing import Protocol


class TaskRunner(Protocol):
    async def submit(self, kind: str, task_id: str) -> None:
        """Queue task `task_id` for the handler of `kind`; return once it is queued."""
        ...

    async def close(self) -> None: ...


class NoRunner:
    async def submit(self, kind: str, task_id: str) -> None:
        raise RuntimeError(f"this process runs no job system: cannot queue {kind} task {task_id}")

    async def close(self) -> None:
        return None
