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
from .alternatives import alternative_of, continue_alternative, polish_alternative
from .continuation import continue_chapter
from .conversion import convert
from .outcome import Outcome, TaskCancelled
from .outline import outline
from .polish import apply_polish
from .streaming import PEER_NAMES, DocumentWriter, settled

log = logging.getLogger(__name__)

NOTIFICATION_KIND = "ai_task"
INTERRUPTED = (
    "写入途中被中断（服务重启或工作进程停止），未重新运行；已写入的文字保留在章节中，可接受或拒绝"
)


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
    if wrote_before(task):
        await _end_interrupted(ports, task)
        return
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


def wrote_before(task: Task) -> bool:
    """Whether an earlier run of `task` had begun writing into a document (and then its worker
    stopped, was killed or restarted, and the task was queued again)."""
    return isinstance(task.result, dict) and "doc" in task.result


async def _end_interrupted(ports: AgentPorts, task: Task) -> None:
    """A task that wrote and was cut short is not run again: a second run would write a second
    answer next to the first one's part. It fails; what it wrote stays, to accept or reject."""
    result = settled(task.result)
    if await ports.tasks.fail(task.id, INTERRUPTED, result=result):
        await _notify(ports.notify, task, "failed")


async def perform(task: Task, ports: AgentPorts) -> Outcome:
    """The agent for `task.type`, given the ports it uses."""
    database, documents = ports.database, ports.documents
    match task.type:
        case "continue":
            agent = continue_chapter if alternative_of(task) is None else continue_alternative
            return await agent(
                task,
                database=database,
                documents=documents,
                ai=ports.ai,
                writer=ports.writer,
                context_chars=ports.context_chars,
            )
        case "polish":
            polish = apply_polish if alternative_of(task) is None else polish_alternative
            return await polish(task, database=database, writer=ports.writer)
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
            from .review import review_work  # the review's numpy loads with the first review

            return await review_work(
                task, database=database, documents=documents, tasks=ports.tasks
            )
    raise ValueError(f"no agent runs AI tasks of type {task.type!r}")


async def _notify(notify: Notify, task: Task, outcome: str) -> None:
    name = PEER_NAMES.get(task.type, f"AI · {task.type}")
    title = f"{name} {'已完成' if outcome == 'completed' else '失败'}"
    data = {"task_id": task.id, "status": outcome, "work_id": task.work_id, "type": task.type}
    await notify(task.user_id, NOTIFICATION_KIND, title, "", data)
