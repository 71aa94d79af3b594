"""What the agents are handed by the app that runs them, as protocols (ports and adapters).

The app implements each one with its own parts (the task store, the rooms, the token service, the
works and chapters services); the agents never import them, so they run the same under the API,
a worker, the CLI or a test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from storage.sql.models import Chapter, Task

# The task store's state names (`storage.sql.models.Task.status`) the agents look for.
CANCELLED = "cancelled"


class TaskProgress(Protocol):
    """The operations of the task store that running an AI task uses (`jobs.tasks.TaskStore`)."""

    async def start(self, task_id: str) -> bool: ...

    async def get(self, task_id: str) -> Task | None: ...

    async def status(self, task_id: str) -> str | None: ...

    async def progress(self, task_id: str, percent: int, **fields: Any) -> None: ...

    async def complete(self, task_id: str, result: Any, **fields: Any) -> bool: ...

    async def fail(self, task_id: str, error: str, **fields: Any) -> bool: ...

    async def update_result(self, task_id: str, result: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Seat:
    """Where a peer joins a document: its sync URL and a token that opens that document only."""

    url: str
    token: str


class Documents(Protocol):
    """The chapters' live documents."""

    async def read(self, doc: str) -> tuple[str, dict[str, Any]]:
        """The document's text and meta map as stored."""
        ...

    def seat(self, user_id: int, doc: str) -> Seat:
        """A seat for a peer writing into `doc` on behalf of `user_id`."""
        ...

    async def set_meta(self, doc: str, values: dict[str, Any]) -> None:
        """Set keys of the document's meta map, through its room like any server edit."""
        ...


class Library(Protocol):
    """Creating works and chapters, with the app's own rules (limits, numbering, permissions)."""

    async def create_work(
        self, user_id: int, *, title: str, type_: str, genre: str | None
    ) -> int: ...

    async def create_chapter(self, user_id: int, work_id: int, title: str) -> Chapter: ...


# (user_id, kind, title, body, data): tell a user about something; never raises.
Notify = Callable[[int, str, str, str, dict[str, Any]], Awaitable[None]]
