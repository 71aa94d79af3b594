"""The Snowflake method (雪花写作法) as a guide in a work: the ten steps, the premise they start
from, each step drafted by the AI from the earlier ones or written by the writer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ai_agents.agents.snowflake import STEPS, note_name
from ai_agents.agents.work_notes import load_notes, save_note

from ..deps import AiTasksDep, CurrentUser, DatabaseDep
from ..envelope import success
from ..schemas import Envelope, IdPath
from ..services.works import role_or_404

router = APIRouter(tags=["ai"])


class StepOut(BaseModel):
    step: int
    name: str
    instruction: str
    content: str | None = None


class StepIn(BaseModel):
    content: str = Field(min_length=1, max_length=50_000)


class PremiseIn(BaseModel):
    premise: str = Field(min_length=1, max_length=2000, description="The one-line idea")


def _step(number: int, content: str | None) -> dict[str, Any]:
    name, instruction = STEPS[number]
    return {"step": number, "name": name, "instruction": instruction, "content": content}


@router.get("/works/{work_id}/snowflake", response_model=Envelope[list[StepOut]])
async def snowflake_steps(
    work_id: IdPath, user: CurrentUser, database: DatabaseDep
) -> dict[str, Any]:
    """The ten steps, with what this work has saved for each."""
    await role_or_404(database, user.id, work_id)
    notes = await load_notes(database, work_id)
    return success([_step(number, notes.get(note_name(number))) for number in STEPS])


class PremiseOut(BaseModel):
    premise: str | None = Field(description="None until the writer saves one")


@router.get("/works/{work_id}/snowflake/premise", response_model=Envelope[PremiseOut])
async def snowflake_saved_premise(
    work_id: IdPath, user: CurrentUser, database: DatabaseDep
) -> dict[str, Any]:
    """The premise as saved, for every member (declared before `/{step}`, which it would match)."""
    await role_or_404(database, user.id, work_id)
    notes = await load_notes(database, work_id)
    return success({"premise": notes.get("premise")})


@router.get("/works/{work_id}/snowflake/{step}", response_model=Envelope[StepOut])
async def snowflake_saved_step(
    work_id: IdPath,
    step: Annotated[int, Path(ge=1, le=10)],
    user: CurrentUser,
    database: DatabaseDep,
) -> dict[str, Any]:
    """One step, with what this work has saved for it."""
    await role_or_404(database, user.id, work_id)
    notes = await load_notes(database, work_id)
    return success(_step(step, notes.get(note_name(step))))


@router.put("/works/{work_id}/snowflake/premise", response_model=Envelope[PremiseIn])
async def snowflake_premise(
    work_id: IdPath, body: PremiseIn, user: CurrentUser, ai_tasks: AiTasksDep, database: DatabaseDep
) -> dict[str, Any]:
    """The one-line premise the guide starts from."""
    await ai_tasks.writable_work(user, work_id)
    await save_note(database, work_id, "premise", body.premise)
    return success({"premise": body.premise})


@router.post("/works/{work_id}/snowflake/{step}", response_model=Envelope[dict[str, Any]])
async def snowflake_generate(
    work_id: IdPath,
    step: Annotated[int, Path(ge=1, le=10)],
    user: CurrentUser,
    ai_tasks: AiTasksDep,
) -> dict[str, Any]:
    """Draft this step from the premise and the earlier steps, and save it to the work."""
    return success(await ai_tasks.snowflake_step(user, work_id, step))


@router.put("/works/{work_id}/snowflake/{step}", response_model=Envelope[StepOut])
async def snowflake_edit(
    work_id: IdPath,
    step: Annotated[int, Path(ge=1, le=10)],
    body: StepIn,
    user: CurrentUser,
    ai_tasks: AiTasksDep,
    database: DatabaseDep,
) -> dict[str, Any]:
    """Save the writer's own version of a step."""
    await ai_tasks.writable_work(user, work_id)
    await save_note(database, work_id, note_name(step), body.content)
    return success(_step(step, body.content))
