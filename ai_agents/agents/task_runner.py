"""Running a queued AI task: claim it, hand it to the agent its type names, record the outcome
and tell its owner. A second delivery of the same task does nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage.sql.database import Database
from storage.sql.models import Task

from ..ports import CANCELLED, Documents, Library, Notify, TaskProgress
from ..providers.router import AiUnavailable, Router
from ..safety import SensitiveWords
from .continuation import continue_chapter
from .conversion import convert
from .outcome import Outcome, TaskCancelled
from .outline import outline
from .polish import apply_polish
from .review import review_work
from .streaming import PEER_NAMES, DocumentWriter

log = logging.getLogger(__name__)

NOTIFICATION_KIND = "ai_task"


@dataclass(frozen=True, slots=True)
class AgentPorts:
    """Everything the agents are handed, built once per run by the app."""

    database: Database
    documents: Documents
    library: Library
    tasks: TaskProgress
    ai: Router
    safety: SensitiveWords
    notify: Notify
    context_chars: int  # the budget of a continuation's prompt

    @property
    def writer(self) -> DocumentWriter:
        return DocumentWriter(self.ai, self.safety, self.tasks, self.documents)


async def run_task(ports: AgentPorts, task_id: str) -> None:
    """Run AI task `task_id` once; what it wrote stays recorded however it ends."""
    tasks = ports.tasks
    if not await tasks.start(task_id):
        return
    task = await tasks.get(task_id)
    assert task is not None
    try:
        outcome = await perform(task, ports)
    except TaskCancelled as cancelled:
        partial = cancelled.args[0] if cancelled.args else None
        if partial is not None:
            await tasks.update_result(task_id, partial)
        return
    except AiUnavailable as exc:
        await tasks.fail(task_id, f"AI 服务不可用：{exc}")
        await _notify(ports.notify, task, "failed")
        return
    except Exception as exc:
        log.exception("AI task failed", extra={"task_id": task_id})
        await tasks.fail(task_id, f"{type(exc).__name__}: {exc}")
        await _notify(ports.notify, task, "failed")
        return
    fields = {"provider": outcome.provider, "model": outcome.model}
    if await tasks.complete(task_id, outcome.result, **fields):
        await _notify(ports.notify, task, "completed")
    elif (await tasks.status(task_id)) == CANCELLED:
        await tasks.update_result(task_id, outcome.result)


async def perform(task: Task, ports: AgentPorts) -> Outcome:
    """The agent for `task.type`, given the ports it uses."""
    database, documents = ports.database, ports.documents
    match task.type:
        case "continue":
            return await continue_chapter(
                task,
                database=database,
                documents=documents,
                ai=ports.ai,
                writer=ports.writer,
                context_chars=ports.context_chars,
            )
        case "polish":
            return await apply_polish(task, database=database, writer=ports.writer)
        case "convert":
            return await convert(
                task,
                database=database,
                documents=documents,
                library=ports.library,
                writer=ports.writer,
            )
        case "outline":
            return await outline(
                task,
                database=database,
                documents=documents,
                library=ports.library,
                ai=ports.ai,
                safety=ports.safety,
            )
        case "review":
            return await review_work(
                task, database=database, documents=documents, tasks=ports.tasks
            )
    raise ValueError(f"no agent runs AI tasks of type {task.type!r}")


async def _notify(notify: Notify, task: Task, outcome: str) -> None:
    name = PEER_NAMES.get(task.type, f"AI · {task.type}")
    title = f"{name} {'已完成' if outcome == 'completed' else '失败'}"
    data = {"task_id": task.id, "status": outcome, "work_id": task.work_id}
    await notify(task.user_id, NOTIFICATION_KIND, title, "", data)
