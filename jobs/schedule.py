"""The periodic jobs every deployment runs, and how often (`jobs.scheduler` runs each once per
period across all workers).

Each job is `async def job(parts) -> outcome`. A job whose work belongs above `jobs` (rolling
summaries are the AI's) is handed in by the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.sql.models import Task

from .compaction import compact_due
from .membership import expire_members, expire_orders
from .scheduler import PeriodicJob, prune_runs
from .tasks import COMPLETED

DAY_S, HOUR_S = 24 * 3600, 3600
RefreshSummaries = Callable[[Any], Awaitable[int]]
"""`async def refresh_summaries(parts) -> how many summaries it refreshed`."""


async def compaction(parts: Any) -> str:
    count = await compact_due(
        parts.store,
        min_updates=parts.settings.compact_after_updates,
        min_bytes=parts.settings.compact_after_bytes,
    )
    return f"compacted {count} documents"


async def membership_expiry(parts: Any) -> str:
    now = datetime.now(UTC)
    members = await expire_members(parts.database, now)
    orders = await expire_orders(parts.database, now, parts.settings.order_ttl_s)
    return f"{members} memberships ended, {orders} unpaid orders cancelled"


def summaries(refresh_summaries: RefreshSummaries) -> Callable[[Any], Awaitable[str]]:
    """Refresh stale rolling chapter summaries of long works."""

    async def job(parts: Any) -> str:
        return f"refreshed {await refresh_summaries(parts)} summaries"

    return job


async def prune_exports(parts: Any, *, now: datetime | None = None) -> str:
    """Delete export files older than `export_retention_s`; their tasks keep `removed: true`."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=parts.settings.export_retention_s)
    async with parts.database.session() as session:
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
        await parts.blobs.delete(result["blob_key"])
        await parts.tasks.update_result(task.id, {**result, "removed": True})
        removed += 1
    return f"removed {removed} old export files"


async def prune(parts: Any) -> str:
    return f"pruned {await prune_runs(parts.database)} old periodic runs"


def default_jobs(
    settings: Any,
    *,
    refresh_summaries: RefreshSummaries,
    compaction_interval_s: float | None = None,
) -> list[PeriodicJob]:
    return [
        PeriodicJob(
            "compaction", compaction_interval_s or settings.compaction_interval_s, compaction
        ),
        PeriodicJob("membership_expiry", settings.membership_expiry_interval_s, membership_expiry),
        PeriodicJob("summaries", settings.summaries_interval_s, summaries(refresh_summaries)),
        PeriodicJob("prune_periodic_runs", DAY_S, prune),
        PeriodicJob("prune_exports", HOUR_S, prune_exports),
    ]
