"""Settings → the job system, for `inkweave serve` (in-process jobs) and `inkweave worker`.

The composition root of the jobs: which handler runs which kind of task, which periodic jobs
run, and who hears how a task ended. `jobs` knows none of these use cases; they are handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from jobs.broker import BrokerConfig
from jobs.exports import job as export_job
from jobs.host import TaskHandler, TaskPolicy
from jobs.schedule import default_jobs
from jobs.system import JobSystem
from jobs.tasks import FAILED
from storage.sql.models import Task

from .app_parts import Components
from .services import ai_tasks, import_job
from .services.exports import EXPORT, notify_exported
from .services.imports import IMPORT, notify_imported
from .services.notifications import notify_task_failed
from .settings import Settings

TASK_HANDLERS: Mapping[str, TaskHandler] = MappingProxyType(
    {ai_tasks.AI_KIND: ai_tasks.run, EXPORT: export_job.run, IMPORT: import_job.run}
)
_COMPLETION_NOTICES = {EXPORT: notify_exported, IMPORT: notify_imported}


async def tell_the_owner(parts: Components, task: Task) -> None:
    """The job system's `on_finished` hook: a task's owner hears how it ended."""
    if task.status == FAILED:
        await notify_task_failed(parts, task, task.error or "")
        return
    notice = _COMPLETION_NOTICES.get(task.kind)
    if notice is not None:
        await notice(parts, task)


def broker_config(settings: Settings) -> BrokerConfig:
    return BrokerConfig(
        redis_url=settings.redis_url,
        rabbitmq_url=settings.rabbitmq_url,
        namespace=settings.jobs_namespace or f"{settings.redis_prefix}dramatiq",
        queue=settings.jobs_queue,
        max_retries=settings.jobs_max_retries,
        min_backoff_ms=settings.jobs_min_backoff_ms,
        max_backoff_ms=settings.jobs_max_backoff_ms,
        heartbeat_timeout_ms=settings.jobs_heartbeat_timeout_ms,
        maintenance_chance=settings.jobs_maintenance_chance,
        worker_threads=settings.jobs_worker_threads,
    )


def build_job_system(settings: Settings) -> JobSystem:
    return JobSystem(
        broker_config(settings),
        policy=TaskPolicy(
            heartbeat_s=settings.jobs_task_heartbeat_s,
            stale_s=settings.jobs_task_stale_s,
            time_limit_s=settings.jobs_time_limit_s,
        ),
    )


def jobs_in_process(settings: Settings, system: JobSystem) -> bool:
    """Whether `inkweave serve` runs jobs itself: by default only with the in-process broker."""
    if settings.jobs_in_process is not None:
        return settings.jobs_in_process
    return system.kind == "stub"


async def start_jobs(
    system: JobSystem,
    parts: Components,
    *,
    run_jobs: bool,
    handlers: Mapping[str, TaskHandler] = TASK_HANDLERS,
    compaction_interval_s: float | None = None,
    recover: bool | None = None,
) -> None:
    """`handlers`: the task kinds this process runs. `recover`: resubmit unfinished tasks; by
    default only where the in-process broker runs them (it forgets its messages on restart, SQL
    remembers the tasks)."""
    await system.start(
        parts,
        run_jobs=run_jobs,
        handlers=handlers,
        periodic=default_jobs(
            parts.settings,
            refresh_summaries=ai_tasks.refresh_summaries,
            compaction_interval_s=compaction_interval_s,
        ),
        on_finished=tell_the_owner,
        recover=run_jobs and system.kind == "stub" if recover is None else recover,
    )
