"""AI tasks as asked for over REST (DESIGN, "AI agents are peers"): permissions, quotas, task rows
and queueing, and what a member may do with a task afterwards (cancel, accept, reject).

The agents themselves are in `ai_agents.agents`; the composition root registers their task runner
and the rolling summaries' refresh with the job system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrdt import Doc, Text
from sqlalchemy import or_, select

from ai_agents import marks
from ai_agents.agents import snowflake
from ai_agents.agents.alternatives import STAGE, alternative_of
from ai_agents.agents.polish import polish_text
from ai_agents.agents.streaming import WRITING
from ai_agents.agents.work_notes import load_notes
from ai_agents.providers.router import AiUnavailable, CallContext, Router
from ai_agents.safety import SensitiveWords
from jobs.runner import TaskRunner
from jobs.tasks import CANCELLED, COMPLETED, FINISHED, PROCESSING, TaskStore
from storage.docs.schema import CONTENT
from storage.sql.database import Database
from storage.sql.models import Chapter, Task, User, Work
from sync_server.rooms import RoomManager

from ..errors import AppError, Err
from ..quotas import Quotas
from ..security.roles import readable_works, role_on_work
from .ai_alternatives import pick_alternative, queue_alternatives
from .membership import effective_level, live_works
from .works import OWNER, require_write, role_or_404

AI_KIND = "ai"
TASK_FIELDS = (
    "type",
    "status",
    "progress",
    "result",
    "error",
    "provider",
    "model",
    "work_id",
    "chapter_id",
    "created_at",
    "finished_at",
)

Fields = dict[str, Any]
STOPPING_S = timedelta(seconds=30)  # longest a cancelled task's runner takes to stop writing


def member_level(user: User, now: datetime | None = None) -> str:
    """The level in force: a paid level whose period has ended counts as free."""
    return effective_level(user.member_level, user.member_expire_at, now or datetime.now(UTC))


def _still_stopping(task: Task) -> bool:
    """A cancelled task's runner records all it wrote within moments (`CANCEL_POLL_S`) of the
    cancel; past `STOPPING_S` it is taken to have died first, and its last record stands."""
    return task.finished_at is None or datetime.now(UTC) - task.finished_at < STOPPING_S


def task_view(task: Task) -> dict[str, Any]:
    """The brief's task status shape (§4.3.3) plus what a client needs to act on it."""
    return {"task_id": task.id, **{name: getattr(task, name) for name in TASK_FIELDS}}


@contextlib.contextmanager
def _answered() -> Iterator[None]:
    """A model call made while the client waits: no provider answering is a 503, not a 500."""
    try:
        yield
    except AiUnavailable as exc:
        raise AppError(Err.AI_UNAVAILABLE, str(exc)) from None


Check = Callable[[User, str, int, int | None, Fields], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AiTasks:
    database: Database
    quotas: Quotas
    tasks: TaskStore
    runner: TaskRunner
    rooms: RoomManager
    ai: Router
    safety: SensitiveWords

    def _check(self, type_: str) -> Check:
        """What refuses a request of `type_` before it counts against the quota."""
        return {
            "continue": self._check_continue,
            "polish": self._check_polish,
            "convert": self._check_convert,
            "outline": self._check_outline,
            "review": self._check_review,
        }[type_]

    async def request(self, user: User, type_: str, fields: Fields) -> Task:
        """Queue a task of `type_`; `fields` (the request's) become its params, but for
        `work_id` and `chapter_id`, which the task row holds."""
        params = dict(fields)
        work_id = params.pop("work_id")
        chapter_id = params.pop("chapter_id", None)
        level = member_level(user)
        await self._check(type_)(user, level, work_id, chapter_id, params)
        await self.quotas.use_ai(user.id, level)
        return await self._queue(user, type_, work_id, chapter_id, params)

    async def request_alternatives(
        self, user: User, type_: str, fields: Fields, count: int
    ) -> list[Task]:
        """Queue `count` alternatives of a `type_` task, each counted as an AI call (all or
        none against the quota), to stream side by side until one is picked."""
        params = dict(fields)
        work_id = params.pop("work_id")
        chapter_id = params.pop("chapter_id", None)
        level = member_level(user)
        await self._check(type_)(user, level, work_id, chapter_id, params)
        await self.quotas.use_ai(user.id, level, calls=count)
        return await queue_alternatives(
            self.database,
            self.tasks,
            self.runner,
            user_id=user.id,
            kind=AI_KIND,
            type_=type_,
            work_id=work_id,
            chapter_id=chapter_id,
            params={**params, "level": level},
            count=count,
        )

    async def pick(self, user: User, task_id: str) -> Task:
        """Write alternative `task_id` into the chapter and discard its siblings."""
        task = await self._writable_task(user, task_id)
        if task.type == "polish" and alternative_of(task) is not None:
            await self._selection_still_there(task)
        await pick_alternative(self.database, self.tasks, task)
        return await self.visible(user, task_id)

    async def _selection_still_there(self, task: Task) -> None:
        """409 before anything is discarded when the polished selection was edited meanwhile
        (its text is nowhere in the chapter); the agent checks the exact anchored range again
        when it writes."""
        async with self.database.session() as session:
            chapter = await session.get(Chapter, task.chapter_id)
        if chapter is None:
            raise AppError(Err.NOT_FOUND, f"no chapter {task.chapter_id}")
        async with self.rooms.hold(chapter.content_id) as room:
            current = str(room.doc.get(CONTENT, type=Text))
        if str(task.params["content"]) not in current:
            raise AppError(Err.SELECTION_CHANGED, "the selected text was edited meanwhile")

    async def _check_polish(
        self, user: User, level: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> None:
        start, end = params.get("start"), params.get("end")
        if chapter_id is None or start is None or end is None:
            raise AppError(Err.VALIDATION, "alternatives need chapter_id, start and end")
        if not 0 <= start <= end:
            raise AppError(Err.VALIDATION, "start and end: 0 <= start <= end")
        await self._writable_chapter(user, work_id, chapter_id)

    async def _check_continue(
        self, user: User, level: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> None:
        await self._writable_chapter(user, work_id, chapter_id)
        limit = self.quotas.limits(level).ai_continue_max_chars
        if params["length"] > limit:
            raise AppError(Err.VALIDATION, f"length: at most {limit} characters for level {level}")

    async def _check_convert(
        self, user: User, level: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> None:
        if params["from_type"] == params["to_type"]:
            raise AppError(Err.VALIDATION, "from_type and to_type must differ")
        if chapter_id is None and not params["content"]:
            raise AppError(Err.VALIDATION, "give chapter_id or content")
        await self.writable_work(user, work_id)
        if chapter_id is not None:
            await self._writable_chapter(user, work_id, chapter_id)
        await self._convert_destination(user, level, work_id, params)

    async def _convert_destination(
        self, user: User, level: str, work_id: int, params: Fields
    ) -> None:
        """A conversion goes into a new work of the type it makes, or a new chapter of a work
        of that type; never into a work of the other type, where a script would be exported,
        counted and reviewed as the novel's prose. Sets `target_work_id` for target "chapter"."""
        to_type, target_work_id = params["to_type"], params.get("target_work_id")
        if params["target"] == "work":
            if target_work_id is not None:
                raise AppError(Err.VALIDATION, "target_work_id goes with target 'chapter'")
            limit = self.quotas.limits(level).works
            async with self.database.session() as session:
                if limit is not None and await live_works(session, user.id) >= limit:
                    raise AppError(Err.WORKS_LIMIT, f"level {level} may keep {limit} works")
            return
        destination = await self.writable_work(user, target_work_id or work_id)
        if destination.type != to_type:
            raise AppError(
                Err.CONVERT_TARGET_TYPE,
                f"work {destination.id} is a {destination.type}: a {to_type} goes into a new "
                f"work or a {to_type} work",
            )
        params["target_work_id"] = destination.id

    async def _check_outline(
        self, user: User, level: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> None:
        await self.writable_work(user, work_id)

    async def _check_review(
        self, user: User, level: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> None:
        await role_or_404(self.database, user.id, work_id)

    async def polish(
        self,
        user: User,
        *,
        work_id: int,
        content: str,
        style: str,
        apply: bool,
        chapter_id: int | None,
        start: int | None,
        end: int | None,
    ) -> dict[str, Any]:
        """Polish `content` now (brief §4.3.3 answers at once); `apply` also writes it into the
        chapter as an AI edit of the range [start, end), through a task, if it changed."""
        if apply:
            if chapter_id is None or start is None or end is None:
                raise AppError(Err.VALIDATION, "apply needs chapter_id, start and end")
            if not 0 <= start <= end:
                raise AppError(Err.VALIDATION, "start and end: 0 <= start <= end")
            await self._writable_chapter(user, work_id, chapter_id)
        else:
            await role_or_404(self.database, user.id, work_id)
        level = member_level(user)
        await self.quotas.use_ai(user.id, level)
        with _answered():
            polished = await polish_text(
                content,
                style,
                ai=self.ai,
                safety=self.safety,
                level=level,
                ctx=CallContext(user.id, work_id, None, "polish"),
            )
        answer = {"provider": polished.provider, "model": polished.model}
        data: dict[str, Any] = {
            "polished_content": polished.text,
            "suggestions": polished.suggestions,
            "changed": polished.changed,
            **answer,
        }
        if apply and polished.changed:
            params = {"start": start, "end": end, "original": content, "polished": polished.text}
            task = await self._queue(user, "polish", work_id, chapter_id, {**params, **answer})
            data.update(task_id=task.id, status=task.status)
        return data

    async def snowflake_step(self, user: User, work_id: int, step: int) -> dict[str, Any]:
        """Draft Snowflake step `step` of the work from the earlier ones, and save it."""
        work = await self.writable_work(user, work_id)
        notes = await load_notes(self.database, work_id)
        problem = snowflake.why_not(step, notes)
        if problem is not None:
            raise AppError(Err.VALIDATION, problem)
        level = member_level(user)
        await self.quotas.use_ai(user.id, level)
        with _answered():
            draft = await snowflake.draft_step(
                work,
                step,
                notes,
                database=self.database,
                ai=self.ai,
                safety=self.safety,
                level=level,
                user_id=user.id,
            )
        return asdict(draft)

    async def writable_work(self, user: User, work_id: int) -> Work:
        require_write(await role_or_404(self.database, user.id, work_id))
        async with self.database.session() as session:
            work = await session.get(Work, work_id)
        assert work is not None
        return work

    async def _writable_chapter(self, user: User, work_id: int, chapter_id: int | None) -> Chapter:
        role = await role_or_404(self.database, user.id, work_id)
        async with self.database.session() as session:
            chapter = await session.get(Chapter, chapter_id) if chapter_id is not None else None
        if chapter is None or chapter.work_id != work_id:
            raise AppError(Err.NOT_FOUND, f"work {work_id} has no chapter {chapter_id}")
        require_write(role)
        return chapter

    async def _queue(
        self, user: User, type_: str, work_id: int, chapter_id: int | None, params: Fields
    ) -> Task:
        params = {**params, "level": member_level(user)}
        task = await self.tasks.create(
            user.id, AI_KIND, type_, work_id=work_id, chapter_id=chapter_id, params=params
        )
        await self.runner.submit(AI_KIND, task.id)
        return task

    # Existing tasks -----------------------------------------------------------------------------

    async def mine(self, user: User, *, limit: int, offset: int) -> list[Task]:
        """`user`'s AI tasks, newest first: those on works they may read now (or on no work)."""
        readable = or_(Task.work_id.is_(None), Task.work_id.in_(readable_works(user.id)))
        async with self.database.session() as session:
            rows = await session.scalars(
                select(Task)
                .where(Task.user_id == user.id, Task.kind == AI_KIND, readable)
                .order_by(Task.created_at.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows)

    async def _task_and_role(self, user: User, task_id: str) -> tuple[Task, str]:
        """The task and `user`'s role on its work as of now: having asked for the task grants
        nothing once the member has left or been made a viewer. A task on no work is its
        creator's alone. 404 alike for missing and hidden."""
        task = await self.tasks.get(task_id)
        role = None
        if task is not None and task.kind == AI_KIND:
            if task.work_id is not None:
                role = await role_on_work(self.database, user.id, task.work_id)
            elif task.user_id == user.id:
                role = OWNER
        if task is None or role is None:
            raise AppError(Err.NOT_FOUND, f"no AI task {task_id}")
        return task, role

    async def visible(self, user: User, task_id: str) -> Task:
        """The task, for a current member of its work (any role)."""
        return (await self._task_and_role(user, task_id))[0]

    async def review_findings(
        self, user: User, task_id: str, kind: str | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A completed review's kept findings (of `kind`, if given) in their ranked order, and
        its whole result (counts of all found, `truncated`)."""
        task = await self.visible(user, task_id)
        if task.type != "review":
            raise AppError(Err.NOT_FOUND, f"no review task {task_id}")
        if task.status not in FINISHED:
            raise AppError(Err.TASK_RUNNING, "the review has not finished yet")
        if task.status != COMPLETED or not isinstance(task.result, dict):
            raise AppError(Err.CONFLICT, f"the review ended {task.status}: it has no findings")
        findings: list[dict[str, Any]] = task.result.get("findings", [])
        if kind is not None:
            findings = [finding for finding in findings if finding["kind"] == kind]
        return findings, task.result

    async def _writable_task(self, user: User, task_id: str) -> Task:
        """The task, for a current owner or editor of its work, its creator included."""
        task, role = await self._task_and_role(user, task_id)
        require_write(role)
        return task

    async def cancel(self, user: User, task_id: str) -> Task:
        task = await self._writable_task(user, task_id)
        if task.status in FINISHED:
            raise AppError(Err.TASK_FINISHED, f"task is already {task.status}")
        await self.tasks.cancel(task_id)
        return await self.visible(user, task_id)

    async def review_text(self, user: User, task_id: str, decision: str) -> Task:
        """Accept (drop the AI marking) or reject (delete the AI's characters) a task's text."""
        task = await self._writable_task(user, task_id)
        result = task.result if isinstance(task.result, dict) else None
        if task.status not in FINISHED or task.status == PROCESSING:
            raise AppError(Err.TASK_RUNNING, "wait until the task has finished or cancel it")
        if task.status == CANCELLED and result and result.get(WRITING) and _still_stopping(task):
            raise AppError(Err.TASK_RUNNING, "the task is still stopping; try again in a moment")
        if result is None or "doc" not in result or STAGE in result:
            # (An alternative that was not picked wrote into its preview only.)
            raise AppError(Err.CONFLICT, "this task wrote nothing into a document")
        if result.get("review") not in (None, "pending"):
            raise AppError(Err.CONFLICT, f"this task's text was already {result['review']}")
        authors = [result["client_id"]] if result.get("client_id") is not None else None
        restore = result.get("original") if task.type == "polish" else None
        changed = 0

        def edit(doc: Doc) -> None:
            nonlocal changed
            text = doc.get(CONTENT, type=Text)
            with doc.transaction(origin=f"ai:{task_id}:{decision}"):
                if decision == "accepted":
                    changed = marks.accept(text, task_id)
                    return
                ranges = marks.task_ranges(text, task_id, authors=authors)
                changed = marks.reject(text, task_id, authors=authors)
                if restore and ranges:  # a rejected polish gives the writer's words back
                    at = ranges[0][0]
                    text.insert(marks.utf8_offset(str(text), at), restore)

        async with self.rooms.hold(result["doc"]) as room:
            await room.change(edit)
        await self.tasks.update_result(
            task_id, {**result, "review": decision, "reviewed_chars": changed}
        )
        return await self.visible(user, task_id)
