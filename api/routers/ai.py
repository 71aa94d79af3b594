"""AI features (brief §4.3.3): outline, continue, polish, convert, review, tasks and histories.

Continuation, applied polish and conversion run as a peer inside the chapter's live document:
every editor watches the AI type, and the text stays marked `{"ai": task_id}` until accepted or
rejected. Positions are Unicode code points of the chapter text.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ai_agents.providers.offline import OFFLINE
from storage.sql.models import Task

from ..deps import AiHistoriesDep, AiTasksDep, CurrentUser
from ..envelope import success, wants_english
from ..schemas import Envelope, IdField, Page, PageQuery, Position
from ..services.ai_tasks import task_view

router = APIRouter(tags=["ai"])

MAX_SOURCE_CHARS = 200_000
TaskIdPath = Annotated[str, Path(min_length=1, max_length=36)]

# What the offline provider wrote is demo text from no model: answers that carry it say so
# (`demo`), with a line on connecting a model (`hint`, in the caller's language).
DEMO_HINT = {
    "zh": "未调用大模型（未配置或未应答），这是离线规则生成的演示文字。连接模型："
    "设置 INKWEAVE_OPENAI_BASE_URL（OpenAI 兼容接口，如本地 Ollama 的 "
    "http://127.0.0.1:11434/v1）和 INKWEAVE_OPENAI_MODEL，或设置 INKWEAVE_ANTHROPIC_API_KEY，"
    "然后重启服务。",
    "en": "No model was called (none is configured, or none answered): offline rules wrote this "
    "demo text. To connect a model, set INKWEAVE_OPENAI_BASE_URL (any OpenAI-compatible API, "
    "e.g. a local Ollama at http://127.0.0.1:11434/v1) and INKWEAVE_OPENAI_MODEL, or "
    "INKWEAVE_ANTHROPIC_API_KEY, then restart the server.",
}
DEMO = "True when no model wrote it: demo text from the offline provider"
HINT = "With `demo`: how to connect a model, in one line"


def labelled(view: dict[str, Any], request: Request) -> dict[str, Any]:
    """`view` (with its `provider`) plus `demo` and `hint`."""
    demo = view.get("provider") == OFFLINE
    hint = DEMO_HINT["en" if wants_english(request) else "zh"] if demo else None
    return {**view, "demo": demo, "hint": hint}


def _task(task: Task, request: Request) -> dict[str, Any]:
    return labelled(task_view(task), request)


class TaskOut(BaseModel):
    task_id: str
    type: str
    status: Literal["queued", "processing", "completed", "failed", "cancelled"]
    progress: int = Field(description="0–100")
    result: Any = Field(
        None,
        description="continue/polish/convert: {doc, text, chars, review: pending|accepted|"
        "rejected, ...}; outline: {chapters: [{title, summary}], applied}; review: {findings "
        "(ranked, at most 1,000: page them at /ai/tasks/{id}/findings), counts, found, truncated}",
    )
    error: str | None
    provider: str | None = Field(description="`offline` when no model answered")
    model: str | None
    demo: bool = Field(False, description=DEMO)
    hint: str | None = Field(None, description=HINT)
    work_id: int | None
    chapter_id: int | None
    created_at: datetime
    finished_at: datetime | None


class Queued(BaseModel):
    task_id: str
    status: str
    alternatives: list[str] | None = Field(
        None,
        description="With `alternatives` > 1: every alternative's task (the first is `task_id`); "
        "each streams into its preview document `{content_id}~alt~{task_id}`",
    )


class OutlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    prompt: str = Field(min_length=1, max_length=5000, description="The writer's idea")
    type: Literal["novel", "script"] | None = Field(None, description="Default: the work's type")
    genre: str | None = Field(None, max_length=50)
    chapters: int = Field(10, ge=1, le=60, description="How many chapters to plan")
    apply: bool = Field(False, description="Create the chapters in the work when done")


class ContinueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    chapter_id: IdField
    length: int = Field(500, ge=20, le=5000, description="About this many characters")
    position: Position | None = Field(
        None, description="Where to write (code points); default: the end of the chapter"
    )
    instruction: str | None = Field(
        None,
        alias="context",
        max_length=2000,
        description="What should happen next: a note for the AI",
    )
    alternatives: int = Field(
        1,
        ge=1,
        le=3,
        description="2–3: as many answers side by side, each streamed into its own preview "
        "document, each counted as an AI call; pick one (/ai/tasks/{id}/pick) to write it into "
        "the chapter",
    )


class PolishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    content: str = Field(min_length=1, max_length=20_000)
    style: Literal["formal", "casual", "literary"] = "literary"
    apply: bool = Field(False, description="Write the result over [start, end) of the chapter")
    chapter_id: IdField | None = None
    start: Position | None = None
    end: Position | None = None
    alternatives: int = Field(
        1,
        ge=1,
        le=3,
        description="2–3: as many rewrites of [start, end) of the chapter side by side, each "
        "streamed into its own preview document and counted as an AI call; pick one "
        "(/ai/tasks/{id}/pick) to write it over the selection. Answers as a queued task does",
    )


class PolishOut(BaseModel):
    polished_content: str
    suggestions: list[str]
    changed: bool = Field(description="False: nothing to correct, so nothing is applied")
    provider: str
    model: str
    demo: bool = Field(False, description=DEMO)
    hint: str | None = Field(None, description=HINT)
    task_id: str | None = Field(None, description="With apply, if it changed: the task writing it")
    status: str | None = None


class ConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_id: IdField
    from_type: Literal["novel", "script"]
    to_type: Literal["novel", "script"]
    chapter_id: IdField | None = Field(None, description="Convert this chapter")
    content: str | None = Field(None, max_length=MAX_SOURCE_CHARS, description="...or this text")
    target: Literal["work", "chapter"] = Field(
        "work",
        description="A new work of type `to_type` (the default), or a new chapter of the work "
        "`target_work_id`, which must be of type `to_type`: a script never becomes a chapter "
        "of a novel (42202)",
    )
    target_work_id: IdField | None = Field(
        None, description="With target `chapter`: the work that gets it (default: `work_id`)"
    )


class ReviewIn(BaseModel):
    work_id: IdField


def _queued(task: Any) -> dict[str, Any]:
    return success({"task_id": task.id, "status": task.status})


def _queued_alternatives(tasks: list[Task]) -> dict[str, Any]:
    """Alternatives queued to pick from: the first is `task_id`, all are `alternatives`."""
    first = tasks[0]
    ids = [task.id for task in tasks]
    return success({"task_id": first.id, "status": first.status, "alternatives": ids})


@router.post("/ai/outline", response_model=Envelope[Queued])
async def outline(body: OutlineIn, user: CurrentUser, ai_tasks: AiTasksDep) -> dict[str, Any]:
    """A structured outline (chapter titles and summaries); `apply` creates the chapters."""
    return _queued(await ai_tasks.request(user, "outline", body.model_dump()))


@router.post("/ai/continue", response_model=Envelope[Queued])
async def continue_(body: ContinueIn, user: CurrentUser, ai_tasks: AiTasksDep) -> dict[str, Any]:
    """The AI joins the chapter and types a continuation at `position` for everyone to see;
    with `alternatives`, into previews first, and the one picked into the chapter."""
    fields = body.model_dump()
    count = fields.pop("alternatives")
    if count == 1:
        return _queued(await ai_tasks.request(user, "continue", fields))
    return _queued_alternatives(
        await ai_tasks.request_alternatives(user, "continue", fields, count)
    )


@router.post("/ai/polish", response_model=Envelope[PolishOut | Queued])
async def polish(
    body: PolishIn, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    """The polished text and suggestions at once; `apply` also writes it as an AI edit, unless
    there was nothing to change (`changed: false`: no task, the chapter stays as it is); with
    `alternatives`, the queued alternatives, to pick from."""
    fields = body.model_dump()
    count = fields.pop("alternatives")
    if count == 1:
        return success(labelled(await ai_tasks.polish(user, **fields), request))
    fields.pop("apply")
    return _queued_alternatives(await ai_tasks.request_alternatives(user, "polish", fields, count))


@router.post("/ai/convert", response_model=Envelope[Queued])
async def convert(body: ConvertIn, user: CurrentUser, ai_tasks: AiTasksDep) -> dict[str, Any]:
    """Novel ⇄ Fountain screenplay, typed live into a new work of type `to_type`, or into a new
    chapter of a work of that type."""
    return _queued(await ai_tasks.request(user, "convert", body.model_dump()))


@router.post("/ai/review", response_model=Envelope[Queued])
async def review(body: ReviewIn, user: CurrentUser, ai_tasks: AiTasksDep) -> dict[str, Any]:
    """长文本审校: names, timeline slips and repeated passages across the whole work."""
    return _queued(await ai_tasks.request(user, "review", body.model_dump()))


@router.get("/ai/tasks", response_model=Envelope[list[TaskOut]])
async def list_tasks(
    user: CurrentUser, ai_tasks: AiTasksDep, page: Annotated[PageQuery, Query()], request: Request
) -> dict[str, Any]:
    """Your AI tasks on works you are still a member of, newest first."""
    mine = await ai_tasks.mine(user, limit=page.page_size, offset=page.offset)
    return success([_task(t, request) for t in mine])


@router.get("/ai/tasks/{task_id}", response_model=Envelope[TaskOut])
async def get_task(
    task_id: TaskIdPath, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    return success(_task(await ai_tasks.visible(user, task_id), request))


class PlaceOut(BaseModel):
    chapter_id: int
    start: int = Field(description="Code point offset in the chapter's text")
    end: int
    excerpt: str


class FindingOut(PlaceOut):
    kind: Literal["timeline", "name", "repetition"]
    severity: Literal["high", "medium", "low"] | None = Field(
        None,
        description="high: the story contradicts itself; medium: a slip a reader notices; "
        "low: style (none on reviews made before severities)",
    )
    message: str
    related: list[PlaceOut] = Field(description="The earlier passages it conflicts with")


class FindingsPage(Page[FindingOut]):
    counts: dict[str, int] = Field(description="Found of each kind, kept or not")
    found: int = Field(description="Found in all")
    truncated: bool = Field(description="True when more were found than the review kept")


@router.get("/ai/tasks/{task_id}/findings", response_model=Envelope[FindingsPage])
async def review_findings(
    task_id: TaskIdPath,
    user: CurrentUser,
    ai_tasks: AiTasksDep,
    page: Annotated[PageQuery, Query()],
    kind: Literal["timeline", "name", "repetition"] | None = None,
) -> dict[str, Any]:
    """A completed review's findings, most severe first and then in reading order, a page at a
    time. A review keeps at most 1,000 (500 of one kind); `counts` and `found` tell how many
    there were in all, `truncated` whether some were left out."""
    findings, result = await ai_tasks.review_findings(user, task_id, kind)
    items = findings[page.offset : page.offset + page.page_size]
    return success(
        {
            "total": len(findings),
            "page": page.page,
            "page_size": page.page_size,
            "items": items,
            "counts": result.get("counts", {}),
            "found": result.get("found", len(result.get("findings", []))),
            "truncated": result.get("truncated", False),
        }
    )


@router.post("/ai/tasks/{task_id}/cancel", response_model=Envelope[TaskOut])
async def cancel_task(
    task_id: TaskIdPath, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    """Stops a running task within a second; what it wrote stays (accept or reject it)."""
    return success(_task(await ai_tasks.cancel(user, task_id), request))


@router.post("/ai/tasks/{task_id}/pick", response_model=Envelope[TaskOut])
async def pick_task(
    task_id: TaskIdPath, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    """Pick this alternative, once it is written (`result.stage` `ready`): its peer writes it
    into the chapter at the asked position, as AI text to accept or reject; the other
    alternatives are cancelled and their previews closed."""
    return success(_task(await ai_tasks.pick(user, task_id), request))


@router.post("/ai/tasks/{task_id}/accept", response_model=Envelope[TaskOut])
async def accept_task(
    task_id: TaskIdPath, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    """Keep the AI's text: its marking is removed."""
    return success(_task(await ai_tasks.review_text(user, task_id, "accepted"), request))


@router.post("/ai/tasks/{task_id}/reject", response_model=Envelope[TaskOut])
async def reject_task(
    task_id: TaskIdPath, user: CurrentUser, ai_tasks: AiTasksDep, request: Request
) -> dict[str, Any]:
    """Delete exactly the AI's characters, as new operations, wherever they are now."""
    return success(_task(await ai_tasks.review_text(user, task_id, "rejected"), request))


class CallOut(BaseModel):
    id: str
    work_id: int | None
    action_type: str
    model: str
    provider: str
    tokens: int
    duration: int = Field(description="milliseconds")
    status: str
    task_id: str | None
    created_at: datetime
    moderation: dict[str, Any] | None = Field(
        None, description="The moderation verdict on the answer (flagged, source, categories)"
    )


@router.get("/ai/histories", response_model=Envelope[Page[CallOut]])
async def histories(
    user: CurrentUser,
    ai_histories: AiHistoriesDep,
    page: Annotated[PageQuery, Query()],
    work_id: IdField | None = None,
) -> dict[str, Any]:
    """Your recorded AI calls (brief §3.2.2), newest first."""
    total, calls = await ai_histories.list(
        user.id, work_id=work_id, limit=page.page_size, offset=page.offset
    )
    items = [{**asdict(stored.call), "id": stored.id} for stored in calls]
    return success({"total": total, "page": page.page, "page_size": page.page_size, "items": items})
