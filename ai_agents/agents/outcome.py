"""What an agent hands back for its task: the result to record and who answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Any
    provider: str | None
    model: str | None


class TaskCancelled(Exception):
    """The task was cancelled while the agent ran; `args[0]` is what it wrote (or None)."""
