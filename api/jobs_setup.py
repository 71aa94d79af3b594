"""Settings → the job system, for `inkweave serve` (in-process jobs) and `inkweave worker`."""

from __future__ import annotations

from jobs.broker import BrokerConfig
from jobs.host import TaskPolicy
from jobs.periodic import default_jobs
from jobs.registry import task_handlers
from jobs.system import JobSystem

from .app_parts import Components
from .services.notifications import notify_task_failed
from .settings import Settings


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
    compaction_interval_s: float | None = None,
    recover: bool | None = None,
) -> None:
    """`recover`: resubmit unfinished tasks; by default only where the in-process broker runs
    them (it forgets its messages on restart, SQL remembers the tasks)."""
    await system.start(
        parts,
        run_jobs=run_jobs,
        handlers=task_handlers(),
        periodic=default_jobs(parts.settings, compaction_interval_s=compaction_interval_s),
        on_failure=notify_task_failed,
        recover=run_jobs and system.kind == "stub" if recover is None else recover,
    )
