"""AI tasks: asked for over REST, run as a peer in the chapter's live document (DESIGN, "AI agents
are peers"), recorded, cancellable, and accepted or rejected afterwards.

`AiTasks` is the request side (permissions, quotas, task rows, queueing); `run` is the handler a
runner calls with a task id, on this node or on a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc, Map, Text
from sqlalchemy import select

from ai_agents import context as ctxmod
from ai_agents import prompts
from ai_agents.providers.base import CompletionRequest
from ai_agents.providers.router import AiUnavailable, CallContext
from ai_agents.safety import StreamFilter
from jobs.tasks import CANCELLED, FINISHED, PROCESSING
from storage.docs.merge import load_content
from storage.docs.restore import CONTENT, META
from storage.sql.models import Chapter, ChapterSummary, Material, Task, User, Work, WorkNote

from ..app_parts import Components
from ..errors import AppError, Err
from ..sync_access import role_on_work
from .membership import effective_level
from .works import require_write, role_or_404

log = logging.getLogger(__name__)

AI_KIND = "ai"
STREAMING_TYPES = ("continue", "polish", "convert")
PEER_NAMES = {
    "continue": "AI · 续写",
    "polish": "AI · 润色",
    "convert": "AI · 改编",
}
PEER_COLORS = {"continue": "#7c3aed", "polish": "#0891b2", "convert": "#db2777"}
STYLES = {
    "formal": ("正式", "书面、庄重、准确，避免口语和网络用语"),
    "casual": ("轻松", "口语化、自然、亲切，句子短"),
    "literary": ("文学", "富有文学性，注意意象、节奏和修辞，但不堆砌辞藻"),
}
CANCEL_POLL_S = 0.25
PROGRESS_EVERY_S = 0.5
SUMMARY_MODEL_CALLS_PER_TASK = 8


def member_level(user: User, now: datetime | None = None) -> str:
    """The level in force: a paid level whose period has ended counts as free."""
    return effective_level(user.member_level, user.member_expire_at, now or datetime.now(UTC))


def task_view(task: Task) -> dict[str, Any]:
    """The brief's task status shape (§4.3.3) plus what a client needs to act on it."""
    return {
        "task_id": task.id,
        "type": task.type,
        "status": task.status,
        "progress": task.progress,
        "result": task.result,
        "error": task.error,
        "provider": task.provider,
        "model": task.model,
        "work_id": task.work_id,
        "chapter_id": task.chapter_id,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
    }


# Request side ---------------------------------------------------------------------------------


class AiTasks:
    def __init__(self, parts: Components) -> None:
        self.parts = parts

    async def _writable_chapter(self, user: User, work_id: int, chapter_id: int) -> Chapter:
        role = await role_or_404(self.parts, user.id, work_id)
        async with self.parts.database.session() as session:
            chapter = await session.get(Chapter, chapter_id)
        if chapter is None or chapter.work_id != work_id:
            raise AppError(Err.NOT_FOUND, f"work {work_id} has no chapter {chapter_id}")
        require_write(role)
        return chapter

    async def writable_work(self, user: User, work_id: int) -> Work:
        require_write(await role_or_404(self.parts, user.id, work_id))
        async with self.parts.database.session() as session:
            work = await session.get(Work, work_id)
        assert work is not None
        return work

    async def _queue(
        self, user: User, type_: str, work_id: int, chapter_id: int | None, params: dict[str, Any]
    ) -> Task:
        params = {**params, "level": member_level(user)}
        task = await self.parts.tasks.create(
            user.id, AI_KIND, type_, work_id=work_id, chapter_id=chapter_id, params=params
        )
        await self.parts.runner.submit(AI_KIND, task.id)
        return task

    async def request_continue(
        self,
        user: User,
        *,
        work_id: int,
        chapter_id: int,
        length: int,
        position: int | None,
        instruction: str | None,
    ) -> Task:
        chapter = await self._writable_chapter(user, work_id, chapter_id)
        level = member_level(user)
        limit = self.parts.quotas.limits(level).ai_continue_max_chars
        if length > limit:
            raise AppError(Err.VALIDATION, f"length: at most {limit} characters for level {level}")
        await self.parts.quotas.use_ai(user.id, level)
        return await self._queue(
            user,
            "continue",
            work_id,
            chapter.id,
            {"length": length, "position": position, "instruction": instruction or ""},
        )

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
        chapter as an AI edit of the range [start, end), through a task."""
        if apply:
            if chapter_id is None or start is None or end is None:
                raise AppError(Err.VALIDATION, "apply needs chapter_id, start and end")
            if not 0 <= start <= end:
                raise AppError(Err.VALIDATION, "start and end: 0 <= start <= end")
            await self._writable_chapter(user, work_id, chapter_id)
        else:
            await role_or_404(self.parts, user.id, work_id)
        level = member_level(user)
        await self.parts.quotas.use_ai(user.id, level)
        label, instruction = STYLES[style]
        request = CompletionRequest(
            task="polish",
            messages=prompts.render(
                "polish", style=label, style_instruction=instruction, text=content
            ),
            inputs={"text": content, "style": style},
            max_tokens=max(256, len(content) * 2),
            temperature=0.3,
        )
        ctx = CallContext(user.id, work_id, None, "polish")
        completion = await _complete(self.parts, request, level, ctx)
        polished, suggestions = parse_polish(completion.text)
        polished = self.parts.safety.mask(polished)
        data: dict[str, Any] = {
            "polished_content": polished,
            "suggestions": suggestions,
            "provider": completion.provider,
            "model": completion.model,
        }
        if apply:
            task = await self._queue(
                user,
                "polish",
                work_id,
                chapter_id,
                {
                    "start": start,
                    "end": end,
                    "original": content,
                    "polished": polished,
                    "provider": completion.provider,
                    "model": completion.model,
                },
            )
            data["task_id"] = task.id
            data["status"] = task.status
        return data

    async def request_convert(
        self,
        user: User,
        *,
        work_id: int,
        from_type: str,
        to_type: str,
        chapter_id: int | None,
        content: str | None,
        target: str,
    ) -> Task:
        if from_type == to_type:
            raise AppError(Err.VALIDATION, "from_type and to_type must differ")
        if chapter_id is None and not content:
            raise AppError(Err.VALIDATION, "give chapter_id or content")
        await self.writable_work(user, work_id)
        if chapter_id is not None:
            await self._writable_chapter(user, work_id, chapter_id)
        await self.parts.quotas.use_ai(user.id, member_level(user))
        return await self._queue(
            user,
            "convert",
            work_id,
            chapter_id,
            {"from_type": from_type, "to_type": to_type, "content": content, "target": target},
        )

    async def request_outline(
        self,
        user: User,
        *,
        work_id: int,
        prompt: str,
        type_: str,
        genre: str | None,
        chapters: int,
        apply: bool,
    ) -> Task:
        await self.writable_work(user, work_id)
        await self.parts.quotas.use_ai(user.id, member_level(user))
        return await self._queue(
            user,
            "outline",
            work_id,
            None,
            {"prompt": prompt, "type": type_, "genre": genre, "chapters": chapters, "apply": apply},
        )

    async def request_review(self, user: User, *, work_id: int) -> Task:
        await role_or_404(self.parts, user.id, work_id)
        await self.parts.quotas.use_ai(user.id, member_level(user))
        return await self._queue(user, "review", work_id, None, {})

    # Existing tasks -----------------------------------------------------------------------------

    async def visible(self, user: User, task_id: str) -> Task:
        """The task, for its owner or a member of its work; 404 alike for missing and hidden."""
        task = await self.parts.tasks.get(task_id)
        if task is None or task.kind != AI_KIND:
            raise AppError(Err.NOT_FOUND, f"no AI task {task_id}")
        if task.user_id != user.id:
            role = None
            if task.work_id is not None:
                role = await role_on_work(self.parts.database, user.id, task.work_id)
            if role is None:
                raise AppError(Err.NOT_FOUND, f"no AI task {task_id}")
        return task

    async def _writable_task(self, user: User, task_id: str) -> Task:
        task = await self.visible(user, task_id)
        if task.user_id != user.id:
            assert task.work_id is not None
            require_write(await role_on_work(self.parts.database, user.id, task.work_id))
        return task

    async def cancel(self, user: User, task_id: str) -> Task:
        task = await self._writable_task(user, task_id)
        if task.status in FINISHED:
            raise AppError(Err.TASK_FINISHED, f"task is already {task.status}")
        await self.parts.tasks.cancel(task_id)
        return await self.visible(user, task_id)

    async def review_text(self, user: User, task_id: str, decision: str) -> Task:
        """Accept (drop the AI marking) or reject (delete the AI's characters) a task's text."""
        from ai_agents import marks

        task = await self._writable_task(user, task_id)
        result = task.result if isinstance(task.result, dict) else None
        if task.status not in FINISHED or task.status == PROCESSING:
            raise AppError(Err.TASK_RUNNING, "wait until the task has finished or cancel it")
        if result is None or "doc" not in result:
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

        async with self.parts.rooms.hold(result["doc"]) as room:
            await room.change(edit)
        await self.parts.tasks.update_result(
            task_id, {**result, "review": decision, "reviewed_chars": changed}
        )
        return await self.visible(user, task_id)

    # Snowflake ------------------------------------------------------------------------------------

    async def snowflake_step(self, user: User, work_id: int, step: int) -> dict[str, Any]:
        from ai_agents.offline import snowflake

        work = await self.writable_work(user, work_id)
        notes = await load_notes(self.parts, work_id)
        steps = {number: (name, instruction) for number, name, instruction in snowflake.STEPS}
        if step not in steps:
            raise AppError(Err.VALIDATION, f"step: 1..{len(steps)}")
        if step > 1 and f"snowflake.{step - 1}" not in notes:
            raise AppError(Err.VALIDATION, f"do step {step - 1} first")
        level = member_level(user)
        await self.parts.quotas.use_ai(user.id, level)
        name, instruction = steps[step]
        state = {n: notes[f"snowflake.{n}"] for n in range(1, step) if f"snowflake.{n}" in notes}
        state_inputs: dict[Any, Any] = {
            **state,
            "premise": notes.get("premise", ""),
            "genre": work.genre or "",
            "title": work.title,
        }
        previous = (
            "\n\n".join(f"第{n}步 {steps[n][0]}：\n{text}" for n, text in sorted(state.items()))
            or f"构想：{notes.get('premise', '')}"
        )
        request = CompletionRequest(
            task="snowflake",
            messages=prompts.render(
                "snowflake",
                step=step,
                step_name=name,
                step_instruction=instruction,
                title=work.title,
                genre=work.genre or "未定",
                previous=previous,
            ),
            inputs={"step": step, "state": state_inputs},
            max_tokens=1500,
        )
        completion = await _complete(
            self.parts, request, level, CallContext(user.id, work_id, None, "snowflake")
        )
        text = self.parts.safety.mask(completion.text.strip())
        await save_note(self.parts, work_id, f"snowflake.{step}", text)
        return {
            "step": step,
            "name": name,
            "content": text,
            "provider": completion.provider,
            "model": completion.model,
        }


def parse_polish(output: str) -> tuple[str, list[str]]:
    """`text ===建议=== - a - b`, the format the prompt asks for (JSON is accepted too)."""
    stripped = output.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
            return str(document["text"]), [str(s) for s in document.get("suggestions", [])]
        except (ValueError, KeyError, TypeError):
            pass
    text, _, advice = stripped.partition("===建议===")
    suggestions = [
        line.strip().lstrip("-•*· ").strip() for line in advice.splitlines() if line.strip()
    ]
    return text.strip(), [s for s in suggestions if s]


_JSON_BLOCK = re.compile(r"\{.*\}", re.DOTALL)


def parse_outline(output: str) -> list[dict[str, str]]:
    """The chapters of an outline answer, tolerant of Markdown fences and chatter around it."""
    match = _JSON_BLOCK.search(output)
    if match is None:
        raise ValueError("the model's outline holds no JSON object")
    document = json.loads(match.group(0))
    chapters = document.get("chapters") if isinstance(document, dict) else None
    if not isinstance(chapters, list) or not chapters:
        raise ValueError("the model's outline has no chapters")
    return [
        {"title": str(c.get("title", "")).strip()[:200], "summary": str(c.get("summary", ""))}
        for c in chapters
        if isinstance(c, dict) and str(c.get("title", "")).strip()
    ]


async def load_notes(parts: Components, work_id: int) -> dict[str, str]:
    async with parts.database.session() as session:
        rows = await session.scalars(select(WorkNote).where(WorkNote.work_id == work_id))
        return {row.name: row.content for row in rows}


async def save_note(parts: Components, work_id: int, name: str, content: str) -> None:
    async with parts.database.session() as session:
        note = await session.get(WorkNote, (work_id, name))
        if note is None:
            session.add(WorkNote(work_id=work_id, name=name, content=content))
        else:
            note.content = content


async def _complete(
    parts: Components, request: CompletionRequest, level: str, ctx: CallContext
) -> Any:
    try:
        return await parts.ai.complete(request, level=level, ctx=ctx)
    except AiUnavailable as exc:
        raise AppError(Err.AI_UNAVAILABLE, str(exc)) from None


# Running side ---------------------------------------------------------------------------------


class TaskCancelled(Exception):
    pass


@dataclass(slots=True)
class Streamed:
    text: str
    provider: str | None
    model: str | None
    client_id: int | None = None  # the peer's Yjs client: what reject deletes by authorship


async def run(parts: Components, task_id: str) -> None:
    """Run AI task `task_id` once; a second delivery of the same task does nothing."""
    if not await parts.tasks.start(task_id):
        return
    task = await parts.tasks.get(task_id)
    assert task is not None
    try:
        runner = RUNNERS[task.type]
        result, fields = await runner(parts, task)
    except TaskCancelled as cancelled:
        partial = cancelled.args[0] if cancelled.args else None
        if partial is not None:
            await parts.tasks.update_result(task_id, partial)
        return
    except AiUnavailable as exc:
        await parts.tasks.fail(task_id, f"AI 服务不可用：{exc}")
        await _notify(parts, task, "failed")
        return
    except Exception as exc:
        log.exception("AI task failed", extra={"task_id": task_id})
        await parts.tasks.fail(task_id, f"{type(exc).__name__}: {exc}")
        await _notify(parts, task, "failed")
        return
    if await parts.tasks.complete(task_id, result, **fields):
        await _notify(parts, task, "completed")
    elif (await parts.tasks.status(task_id)) == CANCELLED:
        await parts.tasks.update_result(task_id, result)


async def _notify(parts: Components, task: Task, outcome: str) -> None:
    from .notifications import notify_quietly

    name = PEER_NAMES.get(task.type, f"AI · {task.type}")
    title = f"{name} {'已完成' if outcome == 'completed' else '失败'}"
    await notify_quietly(
        parts,
        task.user_id,
        "ai_task",
        title,
        "",
        {"task_id": task.id, "status": outcome, "work_id": task.work_id},
    )


async def _user(parts: Components, user_id: int) -> User:
    async with parts.database.session() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise RuntimeError(f"user {user_id} is gone")
    return user


async def _chapter(parts: Components, chapter_id: int | None) -> Chapter:
    async with parts.database.session() as session:
        chapter = await session.get(Chapter, chapter_id) if chapter_id is not None else None
    if chapter is None:
        raise RuntimeError(f"chapter {chapter_id} is gone")
    return chapter


async def _work_context(
    parts: Components, task: Task, chapter: Chapter | None, meta: dict[str, Any]
) -> tuple[ctxmod.Bible, list[Chapter], list[str]]:
    async with parts.database.session() as session:
        work = await session.get(Work, task.work_id)
        if work is None:
            raise RuntimeError(f"work {task.work_id} is gone")
        chapters = list(
            await session.scalars(
                select(Chapter)
                .where(Chapter.work_id == work.id)
                .order_by(Chapter.sort_order, Chapter.id)
            )
        )
        materials = list(
            await session.scalars(
                select(Material)
                .where(
                    Material.user_id == work.user_id,
                    Material.type.in_(("character", "scene", "plot")),
                )
                .order_by(Material.updated_at.desc())
                .limit(30)
            )
        )
    notes = await load_notes(parts, work.id)
    bible = ctxmod.Bible(
        title=work.title,
        kind=work.type,
        genre=work.genre,
        style=work.style,
        materials=[(m.type, m.title, m.content or "") for m in materials],
        meta=meta,
        notes=notes,
    )
    corpus = [c.text for c in chapters if c.text and (chapter is None or c.id != chapter.id)]
    corpus += [m.content or "" for m in materials]
    return bible, chapters, corpus


async def summaries_before(
    parts: Components, chapters: list[Chapter], current: Chapter, level: str, task: Task
) -> list[tuple[str, str]]:
    """Cached rolling summaries of the chapters before `current`, refreshed where stale.

    At most `SUMMARY_MODEL_CALLS_PER_TASK` are asked of a model per task (the nearest ones);
    older stale ones get the offline extractive summary at once and a model's on a later task.
    """
    from ai_agents.offline import summary as offline_summary

    earlier = [c for c in chapters if c.sort_order < current.sort_order and c.text]
    async with parts.database.session() as session:
        cached = {
            row.chapter_id: row
            for row in await session.scalars(
                select(ChapterSummary).where(ChapterSummary.chapter_id.in_([c.id for c in earlier]))
            )
        }
    out: list[tuple[str, str]] = []
    budget = SUMMARY_MODEL_CALLS_PER_TASK
    for chapter in reversed(earlier):
        digest = ctxmod.text_hash(chapter.text)
        row = cached.get(chapter.id)
        fresh = row is not None and row.source_hash == digest
        if row is not None and fresh and (row.model != "offline" or budget <= 0):
            out.append((chapter.title or "", row.summary))
            continue
        if budget > 0:
            budget -= 1
            request = CompletionRequest(
                task="summary",
                messages=prompts.render(
                    "summary", max_chars=300, title=chapter.title or "", text=chapter.text[:20000]
                ),
                inputs={"text": chapter.text, "max_chars": 300},
                max_tokens=600,
                temperature=0.2,
            )
            ctx = CallContext(task.user_id, task.work_id, task.id, "summary")
            completion = await parts.ai.complete(request, level=level, ctx=ctx)
            text, model = completion.text.strip(), completion.model
        else:
            text, model = offline_summary.summarize(chapter.text, 300), "offline"
        await _save_summary(parts, chapter.id, digest, text, model)
        out.append((chapter.title or "", text))
    out.reverse()
    return out


async def refresh_summaries(parts: Components, *, limit: int = 200) -> int:
    """The periodic job: give stale or missing summaries of long works an offline summary now.

    Costs no model calls; a continuation later upgrades the nearest ones with a model's summary.
    """
    from sqlalchemy import func

    from ai_agents.offline import summary as offline_summary

    async with parts.database.session() as session:
        long_works = list(
            await session.scalars(
                select(Chapter.work_id)
                .group_by(Chapter.work_id)
                .having(func.sum(Chapter.word_count) >= ctxmod.LONG_WORK_CHARS)
            )
        )
        if not long_works:
            return 0
        rows = (
            await session.execute(
                select(Chapter, ChapterSummary)
                .outerjoin(ChapterSummary, ChapterSummary.chapter_id == Chapter.id)
                .where(Chapter.work_id.in_(long_works), Chapter.text != "")
            )
        ).all()
    done = 0
    for chapter, cached in rows:
        digest = ctxmod.text_hash(chapter.text)
        if cached is not None and cached.source_hash == digest:
            continue
        text = await asyncio.to_thread(offline_summary.summarize, chapter.text, 300)
        await _save_summary(parts, chapter.id, digest, text, "offline")
        done += 1
        if done >= limit:
            break
    return done


async def _save_summary(
    parts: Components, chapter_id: int, digest: str, text: str, model: str
) -> None:
    async with parts.database.session() as session:
        row = await session.get(ChapterSummary, chapter_id)
        if row is None:
            session.add(
                ChapterSummary(chapter_id=chapter_id, source_hash=digest, summary=text, model=model)
            )
        else:
            row.source_hash, row.summary, row.model = digest, text, model


def _sync_url(parts: Components, doc: str) -> str:
    from ai_agents.peer import document_url

    base = parts.settings.ai_sync_url or parts.sync_url
    if not base:
        raise RuntimeError("no sync URL for AI peers: set INKWEAVE_AI_SYNC_URL")
    return document_url(base, doc)


class _Watch:
    """Cancellation seen within `CANCEL_POLL_S`, and throttled progress reports."""

    def __init__(self, parts: Components, task_id: str) -> None:
        self.parts = parts
        self.task_id = task_id
        self._last_progress = 0.0

    async def cancelled(self) -> bool:
        return (await self.parts.tasks.status(self.task_id)) == CANCELLED

    async def progress(self, percent: float, **fields: Any) -> None:
        loop = asyncio.get_running_loop()
        if fields or loop.time() - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = loop.time()
            await self.parts.tasks.progress(self.task_id, min(99, int(percent)), **fields)


async def stream_into(
    parts: Components,
    task: Task,
    doc_name: str,
    request: CompletionRequest,
    *,
    level: str,
    action: str,
    expected_chars: int,
    place: Callable[[Any], Any],
) -> Streamed:
    """Join `doc_name` as a peer, let `place(peer)` set the anchor, stream the answer into it.

    Cancel (seen within `CANCEL_POLL_S`) stops the stream and keeps what was written.
    """
    from ai_agents.peer import DocumentPeer, PeerIdentity

    token = parts.tokens.issue_document(task.user_id, doc_name, "write")
    identity = PeerIdentity(
        task_id=task.id,
        name=PEER_NAMES.get(task.type, "AI"),
        color=PEER_COLORS.get(task.type, "#7c3aed"),
    )
    watch = _Watch(parts, task.id)
    streamed = Streamed("", None, None)
    ctx = CallContext(task.user_id, task.work_id, task.id, action)
    guard = StreamFilter(parts.safety)
    joined: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def consume() -> None:
        # Started before the peer joins, so the model's first token and the join overlap.
        events = parts.ai.stream(request, level=level, ctx=ctx)
        async with contextlib.aclosing(events):  # a cancel still records the call
            async for event in events:
                peer = await joined
                if streamed.provider is None:
                    streamed.provider, streamed.model = event.provider, event.model
                    await peer.set_identity(provider=event.provider, model=event.model)
                    await watch.progress(1, provider=event.provider, model=event.model)
                safe = guard.feed(event.text)
                if safe:
                    # Counted first: `write` inserts before it yields, so a cancel landing in
                    # that yield still finds the text in the task's result.
                    streamed.text += safe
                    await peer.write(safe)
                    await watch.progress(100 * len(streamed.text) / max(1, expected_chars))
        rest = guard.flush()
        if rest:
            peer = await joined
            streamed.text += rest
            await peer.write(rest)

    consumer = asyncio.create_task(consume())
    try:
        async with DocumentPeer(_sync_url(parts, doc_name), token, identity) as peer:
            await place(peer)
            streamed.client_id = peer.client_id
            joined.set_result(peer)
            while True:
                done, _ = await asyncio.wait({consumer}, timeout=CANCEL_POLL_S)
                if done:
                    consumer.result()
                    break
                if await watch.cancelled():
                    consumer.cancel()
                    await asyncio.gather(consumer, return_exceptions=True)
                    raise TaskCancelled(_doc_result(doc_name, streamed))
    finally:
        if not consumer.done():
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
    return streamed


def _doc_result(doc_name: str, streamed: Streamed, **extra: Any) -> dict[str, Any]:
    return {
        "doc": doc_name,
        "text": streamed.text,
        "chars": len(streamed.text),
        "review": "pending",
        "client_id": streamed.client_id,
        **extra,
    }


def _fields(streamed: Streamed) -> dict[str, Any]:
    return {"provider": streamed.provider, "model": streamed.model}


async def _run_continue(parts: Components, task: Task) -> tuple[Any, dict[str, Any]]:
    params = task.params
    level = params.get("level", "free")
    chapter = await _chapter(parts, task.chapter_id)
    text, meta = await load_content(parts.store, chapter.content_id)
    bible, chapters, corpus = await _work_context(parts, task, chapter, meta)
    position = params.get("position")
    at = len(text) if position is None else max(0, min(int(position), len(text)))
    preceding = text[:at]
    total = sum(len(c.text or "") for c in chapters)
    budget = parts.settings.ai_context_chars
    summaries: list[tuple[str, str]] = []
    if total >= ctxmod.LONG_WORK_CHARS:
        summaries = await summaries_before(parts, chapters, chapter, level, task)
    else:
        earlier = [c for c in chapters if c.sort_order < chapter.sort_order and c.text]
        preceding = "\n\n".join([*(c.text for c in earlier), preceding])
    context = ctxmod.assemble(bible, summaries, preceding, budget=budget)
    length = int(params["length"])
    request = CompletionRequest(
        task="continue",
        messages=prompts.render(
            "continue",
            bible=context.bible,
            summaries=context.summaries,
            preceding=context.preceding,
            length=length,
            instruction=params.get("instruction") or "",
        ),
        inputs={"preceding": context.preceding, "corpus": corpus, "length": length, "seed": 0},
        max_tokens=int(length * 2) + 64,
    )

    async def place(peer: Any) -> None:
        current = peer.text
        # Text typed since the request moved the end; a given position is kept as asked.
        peer.anchor(None if position is None else min(at, len(current)))

    streamed = await stream_into(
        parts,
        task,
        chapter.content_id,
        request,
        level=level,
        action="continue",
        expected_chars=length,
        place=place,
    )
    return _doc_result(chapter.content_id, streamed, position=at), _fields(streamed)


async def _run_polish(parts: Components, task: Task) -> tuple[Any, dict[str, Any]]:
    """Write the already polished text over the selected range, as the AI."""
    from ai_agents.peer import DocumentPeer, PeerIdentity

    params = task.params
    chapter = await _chapter(parts, task.chapter_id)
    original, polished = params["original"], params["polished"]
    start, end = int(params["start"]), int(params["end"])
    token = parts.tokens.issue_document(task.user_id, chapter.content_id, "write")
    identity = PeerIdentity(task.id, PEER_NAMES["polish"], PEER_COLORS["polish"])
    async with DocumentPeer(_sync_url(parts, chapter.content_id), token, identity) as peer:
        current = peer.text
        if current[start:end] != original:
            found = current.find(original)
            if found < 0:
                raise RuntimeError("the selected text changed before the polish was applied")
            start, end = found, found + len(original)
        await peer.replace(start, end, polished)
        client_id = peer.client_id
    streamed = Streamed(polished, params.get("provider"), params.get("model"), client_id)
    return (
        _doc_result(chapter.content_id, streamed, original=original, start=start),
        _fields(streamed),
    )


async def _run_convert(parts: Components, task: Task) -> tuple[Any, dict[str, Any]]:
    """Convert a chapter (or given text) into a new chapter, or a new work of the other type."""
    from api.services.chapters import Chapters

    params = task.params
    level = params.get("level", "free")
    user = await _user(parts, task.user_id)
    to_type = params["to_type"]
    source = params.get("content") or ""
    title = None
    if task.chapter_id is not None:
        chapter = await _chapter(parts, task.chapter_id)
        source, _meta = await load_content(parts.store, chapter.content_id)
        title = chapter.title
    async with parts.database.session() as session:
        work = await session.get(Work, task.work_id)
    assert work is not None
    suffix = "（剧本）" if to_type == "script" else "（小说）"
    new_title = f"{title or work.title}{suffix}"
    if params.get("target") == "work":
        from api.services.works import Works

        new_work = await Works(parts).create(
            user,
            {"title": f"{work.title}{suffix}"[:200], "type": to_type, "genre": work.genre},
        )
        target_work_id = new_work.id
    else:
        target_work_id = work.id
    target = await Chapters(parts).create(user.id, target_work_id, new_title[:200])
    name = "convert_to_script" if to_type == "script" else "convert_to_novel"
    values = {"text": source}
    if to_type == "script":
        values["title_line"] = f"标题：{title or work.title}"
    request = CompletionRequest(
        task="convert",
        messages=prompts.render(name, **values),
        inputs={"text": source, "to_type": to_type, "title": title or work.title},
        max_tokens=int(len(source) * 2) + 256,
        temperature=0.4,
    )

    async def place(peer: Any) -> None:
        peer.anchor(None)

    streamed = await stream_into(
        parts,
        task,
        target.content_id,
        request,
        level=level,
        action="convert",
        expected_chars=max(1, len(source)),
        place=place,
    )
    return (
        _doc_result(
            target.content_id,
            streamed,
            work_id=target_work_id,
            chapter_id=target.id,
            to_type=to_type,
        ),
        _fields(streamed),
    )


async def _run_outline(parts: Components, task: Task) -> tuple[Any, dict[str, Any]]:
    from api.services.chapters import Chapters

    params = task.params
    level = params.get("level", "free")
    bible, _chapters, corpus = await _work_context(parts, task, None, {})
    kind = params.get("type") or bible.kind
    request = CompletionRequest(
        task="outline",
        messages=prompts.render(
            "outline",
            kind_name=ctxmod.KIND_NAMES.get(kind, "小说"),
            chapters=params["chapters"],
            genre=params.get("genre") or bible.genre or "未定",
            premise=params["prompt"],
            bible=ctxmod.render_bible(bible, 1500),
        ),
        inputs={
            "premise": params["prompt"],
            "genre": params.get("genre") or bible.genre,
            "kind": kind,
            "chapters": params["chapters"],
            "corpus": corpus,
        },
        max_tokens=300 * int(params["chapters"]) + 200,
        temperature=0.7,
    )
    completion = await parts.ai.complete(
        request, level=level, ctx=CallContext(task.user_id, task.work_id, task.id, "outline")
    )
    chapters = parse_outline(completion.text)
    for chapter in chapters:
        chapter["title"] = parts.safety.mask(chapter["title"])
        chapter["summary"] = parts.safety.mask(chapter["summary"])
    result: dict[str, Any] = {"chapters": chapters, "applied": False}
    if params.get("apply"):
        created = []
        for item in chapters:
            row = await Chapters(parts).create(task.user_id, task.work_id, item["title"])  # type: ignore[arg-type]
            await _set_meta(parts, row.content_id, {"outline": item["summary"]})
            created.append(row.id)
        result.update(applied=True, chapter_ids=created)
        await save_note(parts, task.work_id, "premise", params["prompt"])  # type: ignore[arg-type]
    return result, {"provider": completion.provider, "model": completion.model}


async def _set_meta(parts: Components, doc_name: str, values: dict[str, Any]) -> None:
    """Set keys of a document's meta map, through the room like any server edit."""

    def edit(doc: Doc) -> None:
        meta = doc.get(META, type=Map)
        with doc.transaction():
            for key, value in values.items():
                meta[key] = value

    async with parts.rooms.hold(doc_name) as room:
        await room.change(edit)


async def _run_review(parts: Components, task: Task) -> tuple[Any, dict[str, Any]]:
    from ai_agents.offline import review

    async with parts.database.session() as session:
        chapters = list(
            await session.scalars(
                select(Chapter)
                .where(Chapter.work_id == task.work_id)
                .order_by(Chapter.sort_order, Chapter.id)
            )
        )
    texts = []
    for index, chapter in enumerate(chapters):
        text, _meta = await load_content(parts.store, chapter.content_id)
        texts.append((chapter.id, chapter.title or "", text))
        await parts.tasks.progress(task.id, int(80 * (index + 1) / max(1, len(chapters))))
    findings = await asyncio.to_thread(review.review, texts)
    return (
        {
            "findings": [asdict(f) for f in findings],
            "chapters": len(chapters),
            "characters": sum(len(t) for _i, _t, t in texts),
        },
        {"provider": "offline", "model": "offline-review"},
    )


RUNNERS: dict[str, Callable[[Components, Task], Any]] = {
    "continue": _run_continue,
    "polish": _run_polish,
    "convert": _run_convert,
    "outline": _run_outline,
    "review": _run_review,
}
