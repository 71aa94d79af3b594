"""Periodic jobs, each run once per period however many workers are running.

Every worker runs a `Scheduler`. Time is cut into periods of each job's interval, aligned to the
epoch (period = floor(now / interval)). At each tick a scheduler tries to INSERT the row
(job, period) into `periodic_runs`; the primary key lets exactly one insert succeed across all
workers and nodes sharing the database, and only that winner enqueues the job (any worker may
then run it). The row also records who ran it, when, and how it went. SQL rather than a Redis
lock because the database is shared in every deployment, the embedded default included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from storage.sql.database import Database
from storage.sql.models import PeriodicRun

log = logging.getLogger(__name__)

Enqueue = Callable[[str, str], Awaitable[None]]
KEEP_RUNS = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[], Awaitable[str | None]]
    """`async def run() -> outcome`: what happened, in a few words (stored with the run)."""


def period_of(now: float, interval_s: float) -> str:
    return str(int(now // interval_s))


async def claim(database: Database, job: str, period: str, worker: str) -> bool:
    """True for exactly one caller per (job, period)."""
    try:
        async with database.session() as session:
            session.add(
                PeriodicRun(
                    job=job, period=period, worker=worker[:100], started_at=datetime.now(UTC)
                )
            )
        return True
    except IntegrityError:
        return False


async def unclaim(database: Database, job: str, period: str) -> None:
    async with database.session() as session:
        await session.execute(
            delete(PeriodicRun).where(PeriodicRun.job == job, PeriodicRun.period == period)
        )


async def record_outcome(database: Database, job: str, period: str, outcome: str) -> None:
    async with database.session() as session:
        await session.execute(
            update(PeriodicRun)
            .where(PeriodicRun.job == job, PeriodicRun.period == period)
            .values(finished_at=datetime.now(UTC), outcome=outcome[:2000])
        )


async def prune_runs(database: Database, *, keep: timedelta = KEEP_RUNS) -> int:
    async with database.session() as session:
        result = await session.execute(
            delete(PeriodicRun).where(PeriodicRun.started_at < datetime.now(UTC) - keep)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Scheduler:
    def __init__(
        self,
        database: Database,
        jobs: Iterable[PeriodicJob],
        enqueue: Enqueue,
        *,
        worker_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.jobs = list(jobs)
        self.enqueue = enqueue
        self.worker_id = worker_id
        self.clock = clock
        shortest = min((job.interval_s for job in self.jobs), default=60.0)
        self.tick_s = max(0.2, min(5.0, shortest / 4))
        self._seen: dict[str, str] = {}

    async def tick(self) -> list[tuple[str, str]]:
        """Claim and enqueue every job whose current period this worker won; return those."""
        now = self.clock()
        won = []
        for job in self.jobs:
            period = period_of(now, job.interval_s)
            if self._seen.get(job.name) == period:
                continue
            try:
                if await claim(self.database, job.name, period, self.worker_id):
                    try:
                        await self.enqueue(job.name, period)
                    except Exception:
                        await unclaim(self.database, job.name, period)  # let a later tick retry
                        raise
                    won.append((job.name, period))
                self._seen[job.name] = period
            except Exception:
                log.exception("could not schedule a periodic job", extra={"job": job.name})
        return won

    def last_period(self, job: str) -> str | None:
        """The latest period of `job` this scheduler has tried to claim (won or lost)."""
        return self._seen.get(job)
