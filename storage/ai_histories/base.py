"""Records of AI calls (brief §3.2.2 `ai_histories`): what was asked, what came back, the cost.

SQL on the embedded default; a MongoDB collection in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AiCall:
    user_id: int
    work_id: int | None
    action_type: str  # outline | continue | polish | convert | review | snowflake
    input: str
    output: str
    model: str
    provider: str
    tokens: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration: int = 0  # milliseconds
    status: str = "ok"  # ok | error
    error: str | None = None
    task_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    moderation: dict[str, Any] | None = None  # the verdict on `output`, if judged


@dataclass(frozen=True, slots=True)
class StoredAiCall:
    id: str
    call: AiCall


class AiHistories(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def record(self, call: AiCall) -> str:
        """Store one call; return its id."""
        ...

    async def list(
        self, user_id: int, *, work_id: int | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[int, list[StoredAiCall]]:
        """The user's calls, newest first, and how many there are in all."""
        ...

    async def tokens_since(self, user_id: int, since: datetime) -> int: ...

    async def scan(self, *, after: str | None = None, limit: int = 500) -> list[StoredAiCall]:
        """Every user's calls in the order they were stored, `limit` at a time after the call
        whose id is `after` (for backups)."""
        ...
