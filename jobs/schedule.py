"""The periodic jobs every deployment runs, and how often (`jobs.scheduler` runs each once per
period across all workers).

Each job is `async def job() -> outcome`, its ports bound by `default_jobs`. A job whose work
belongs above `jobs` (rolling summaries are the AI's) is handed in by the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import select

from storage.blobs.base import BlobStore
from storage.docs.base import DocStore
from storage.sql.database import Database
from storage.sql.models import Task

from .compaction import compact_due
from .membership import expire_members, expire_orders
from .scheduler import PeriodicJob, prune_runs
from .tasks import COMPLETED, TaskStore
from .trash import purge_chapter_trash

DAY_S, HOUR_S = 24 * 3600, 3600
RefreshSummaries = Callable[[], Awaitable[int]]
"""`async def refresh_summaries() -> how many summaries it refreshed`."""


class ScheduleSettings(Protocol):
    """The settings the periodic jobs read (`api.settings.Settings` has them)."""

    compaction_interval_s: float
    compact_after_updates: int
    compact_after_bytes: int
    membership_expiry_interval_s: float
    order_ttl_s: float
    summaries_interval_s: float
    export_retention_s: float
    chapter_trash_retention_s: float


async def compaction(store: DocStore, settings: ScheduleSettings) -> str:
    count = await compact_due(
        store,
        min_updates=settings.compact_after_updates,
        min_bytes=settings.compact_after_bytes,
    )
    return f"compacted {count} documents"


async def membership_expiry(database: Database, settings: ScheduleSettings) -> str:
    now = datetime.now(UTC)
    members = await expire_members(database, now)
    orders = await expire_orders(database, now, settings.order_ttl_s)
    return f"{members} memberships ended, {orders} unpaid orders cancelled"


async def summaries(refresh_summaries: RefreshSummaries) -> str:
    """Refresh stale rolling chapter summaries of long works."""
    return f"refreshed {await refresh_summaries()} summaries"


async def prune_exports(
    database: Database,
    blobs: BlobStore,
    tasks: TaskStore,
    retention_s: float,
    *,
    now: datetime | None = None,
) -> str:
    """Delete export files older than `retention_s`; their tasks keep `removed: true`."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=retention_s)
    async with database.session() as session:
        old = list(
            await session.scalars(
                select(Task).where(
                    Task.kind == "export", Task.status == COMPLETED, Task.finished_at < cutoff
                )
            )
        )
    removed = 0
    for task in old:
        result = task.result if isinstance(task.result, dict) else {}
        if result.get("removed") or not result.get("blob_key"):
            continue
        await blobs.delete(result["blob_key"])
        await tasks.update_result(task.id, {**result, "removed": True})
        removed += 1
    return f"removed {removed} old export files"


async def prune(database: Database) -> str:
    return f"pruned {await prune_runs(database)} old periodic runs"


def default_jobs(
    settings: ScheduleSettings,
    *,
    database: Database,
    store: DocStore,
    blobs: BlobStore,
    tasks: TaskStore,
    refresh_summaries: RefreshSummaries,
    compaction_interval_s: float | None = None,
) -> list[PeriodicJob]:
    return [
        PeriodicJob(
            "compaction",
            compaction_interval_s or settings.compaction_interval_s,
            partial(compaction, store, settings),
        ),
        PeriodicJob(
            "membership_expiry",
            settings.membership_expiry_interval_s,
            partial(membership_expiry, database, settings),
        ),
        PeriodicJob(
            "summaries", settings.summaries_interval_s, partial(summaries, refresh_summaries)
        ),
        PeriodicJob("prune_periodic_runs", DAY_S, partial(prune, database)),
        PeriodicJob(
            "prune_exports",
            HOUR_S,
            partial(prune_exports, database, blobs, tasks, settings.export_retention_s),
        ),
        PeriodicJob(
            "purge_chapter_trash",
            HOUR_S,
            partial(purge_chapter_trash, database, settings.chapter_trash_retention_s),
        ),
    ]
