"""The Snowflake method (雪花写作法) as a guide: each of the ten steps drafted from the premise and
the earlier steps, and kept in the work's notes (`premise`, `snowflake.{n}`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.sql.database import Database
from storage.sql.models import Work

from .. import prompts
from ..offline.snowflake import STEPS as STEP_LIST
from ..providers.base import CompletionRequest
from ..providers.router import CallContext, Router
from ..safety import SensitiveWords
from .work_notes import save_note

STEPS: dict[int, tuple[str, str]] = {number: (name, rule) for number, name, rule in STEP_LIST}


@dataclass(frozen=True, slots=True)
class StepDraft:
    step: int
    name: str
    content: str
    provider: str
    model: str


def note_name(step: int) -> str:
    return f"snowflake.{step}"


def why_not(step: int, notes: dict[str, str]) -> str | None:
    """Why `step` cannot be drafted yet (None: it can)."""
    if step not in STEPS:
        return f"step: 1..{len(STEPS)}"
    if step > 1 and note_name(step - 1) not in notes:
        return f"do step {step - 1} first"
    return None


async def draft_step(
    work: Work,
    step: int,
    notes: dict[str, str],
    *,
    database: Database,
    ai: Router,
    safety: SensitiveWords,
    level: str,
    user_id: int,
) -> StepDraft:
    """Draft `step` (which `why_not` allows) and save it; raises `AiUnavailable`."""
    name, _rule = STEPS[step]
    completion = await ai.complete(
        _request(work, step, notes),
        level=level,
        ctx=CallContext(user_id, work.id, None, "snowflake"),
    )
    text = safety.mask(completion.text.strip())
    await save_note(database, work.id, note_name(step), text)
    return StepDraft(step, name, text, completion.provider, completion.model)


def _request(work: Work, step: int, notes: dict[str, str]) -> CompletionRequest:
    name, rule = STEPS[step]
    state = {n: notes[note_name(n)] for n in range(1, step) if note_name(n) in notes}
    state_inputs: dict[Any, Any] = {
        **state,
        "premise": notes.get("premise", ""),
        "genre": work.genre or "",
        "title": work.title,
    }
    previous = (
        "\n\n".join(f"第{n}步 {STEPS[n][0]}：\n{text}" for n, text in sorted(state.items()))
        or f"构想：{notes.get('premise', '')}"
    )
    return CompletionRequest(
        task="snowflake",
        messages=prompts.render(
            "snowflake",
            step=step,
            step_name=name,
            step_instruction=rule,
            title=work.title,
            genre=work.genre or "未定",
            previous=previous,
        ),
        inputs={"step": step, "state": state_inputs},
        max_tokens=1500,
    )
