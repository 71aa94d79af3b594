"""The periodic schedule every deployment runs (`jobs.schedule.default_jobs`, started by
`api.jobs_setup.start_jobs` as in `inkweave serve` and `inkweave worker`): when each job's period
comes it runs once, does its work and records what it did in `periodic_runs`.

The schedule's clock is a `ManualClock`: the test moves time, it never waits for a period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import uuid4

import pytest
from sqlalchemy import select, update

from ai_agents.agents.summaries import refresh_summaries
from api.adapters import Adapters
from api.composition import Services
from api.jobs_setup import broker_config, start_jobs
from api.settings import Settings
from jobs.host import TaskPolicy
from jobs.schedule import default_jobs
from jobs.scheduler import period_of
from jobs.system import JobSystem
from jobs.tasks import COMPLETED
from storage.sql.models import Chapter, ChapterSummary, Order, PeriodicRun, Task, User, Work
from tests.jobs.helpers import long_log
from tests.support.clock import ManualClock
from tests.support.waiting import eventually

LONG_WORK_WORDS = 100_000  # `ai_agents.context.LONG_WORK_CHARS`: summaries are kept from here
HOUR = 3600.0


@dataclass
class Schedule:
    adapters: Adapters
    services: Services
    system: JobSystem
    clock: ManualClock

    def periods(self) -> dict[str, str]:
        """Each default job's period at the clock's present time."""
        return {
            job.name: period_of(self.clock(), job.interval_s)
            for job in default_jobs(
                self.adapters.settings,
                database=self.adapters.database,
                store=self.adapters.store,
                blobs=self.adapters.blobs,
                tasks=self.adapters.tasks,
                refresh_summaries=partial(refresh_summaries, self.adapters.database),
            )
        }

    async def outcomes(self, periods: dict[str, str]) -> dict[str, str]:
        """Wait until each job has finished its run for its period in `periods`; what each did."""

        async def finished() -> dict[str, str] | None:
            async with self.adapters.database.session() as session:
                rows = [await session.get(PeriodicRun, key) for key in periods.items()]
            if any(row is None or row.finished_at is None for row in rows):
                return None
            return {row.job: str(row.outcome) for row in rows if row is not None}

        return await eventually(finished, what=f"periodic runs {periods}")

    async def runs_of(self, job: str) -> list[str]:
        async with self.adapters.database.session() as session:
            return list(
                await session.scalars(select(PeriodicRun.period).where(PeriodicRun.job == job))
            )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short periods for the frequent jobs (so that the scheduler looks at the clock often)."""
    return settings.model_copy(
        update={
            "compaction_interval_s": 1.0,
            "membership_expiry_interval_s": 1.0,
            "summaries_interval_s": 1.0,
            "compact_after_updates": 20,
        }
    )


@pytest.fixture
async def schedule(adapters: Adapters, services: Services) -> AsyncIterator[Schedule]:
    """The default schedule on the short periods of `settings`, not yet started."""
    clock = ManualClock()
    system = JobSystem(broker_config(adapters.settings), policy=TaskPolicy(), clock=clock)
    try:
        yield Schedule(adapters, services, system, clock)
    finally:
        await system.stop()


# The state each job acts on -------------------------------------------------------------------


async def _user(adapters: Adapters, **fields: object) -> User:
    serial = uuid4().hex[:8]
    async with adapters.database.session() as session:
        user = User(username=f"读者{serial}", email=f"{serial}@example.com", password_hash="x")
        for name, value in fields.items():
            setattr(user, name, value)
        session.add(user)
    return user


async def lapsed_member(adapters: Adapters) -> User:
    ended = datetime.now(UTC) - timedelta(days=1)
    return await _user(adapters, member_level="premium", member_expire_at=ended)


async def unpaid_order(adapters: Adapters, user: User) -> Order:
    created = datetime.now(UTC) - timedelta(seconds=adapters.settings.order_ttl_s + 60)
    async with adapters.database.session() as session:
        order = Order(
            user_id=user.id,
            order_no=f"IW{uuid4().hex[:20].upper()}",
            level="basic",
            plan_type="month",
            amount=Decimal("9.90"),
            currency="CNY",
            payment_method="alipay",
            created_at=created,
        )
        session.add(order)
    return order


async def long_work(adapters: Adapters, user: User) -> Chapter:
    async with adapters.database.session() as session:
        work = Work(user_id=user.id, title="长篇", type="novel")
        session.add(work)
        await session.flush()
        chapter = Chapter(
            work_id=work.id,
            chapter_number=1,
            content_id=f"chapter-{uuid4().hex}",
            word_count=LONG_WORK_WORDS,
            text="他走了很远的路。" * 50,
        )
        session.add(chapter)
    return chapter


async def old_export(adapters: Adapters, user: User) -> Task:
    """A finished export whose file is older than `export_retention_s`."""
    task = await adapters.tasks.create(user.id, "export", "txt", params={"format": "txt"})
    key = f"exports/{task.id}.txt"
    await adapters.blobs.put(key, "旧文件".encode(), "text/plain")
    made = datetime.now(UTC) - timedelta(seconds=adapters.settings.export_retention_s + HOUR)
    result = {"blob_key": key, "filename": "旧.txt", "media_type": "text/plain", "size": 9}
    async with adapters.database.session() as session:
        await session.execute(
            update(Task)
            .where(Task.id == task.id)
            .values(status=COMPLETED, progress=100, result=result, finished_at=made)
        )
    return task


async def blob_exists(adapters: Adapters, key: str) -> bool:
    try:
        await adapters.blobs.get(key)
    except KeyError:
        return False
    return True


# The tests ------------------------------------------------------------------------------------


async def test_every_default_job_runs_when_its_period_comes(schedule: Schedule) -> None:
    adapters = schedule.adapters
    member = await lapsed_member(adapters)
    order = await unpaid_order(adapters, await _user(adapters))
    chapter = await long_work(adapters, await _user(adapters))
    doc_id, _text = await long_log(adapters)
    export = await old_export(adapters, await _user(adapters))

    first = schedule.periods()
    await start_jobs(schedule.system, adapters, schedule.services, run_jobs=True)
    assert await schedule.outcomes(first) == {
        "compaction": "compacted 1 documents",
        "membership_expiry": "1 memberships ended, 1 unpaid orders cancelled",
        "summaries": "refreshed 1 summaries",
        "prune_periodic_runs": "pruned 0 old periodic runs",
        "prune_exports": "removed 1 old export files",
        "purge_chapter_trash": "purged 0 chapters from the trash",
    }
    stored = await adapters.store.load(doc_id)
    assert stored.updates == [] and stored.snapshot is not None
    async with adapters.database.session() as session:
        downgraded = await session.get(User, member.id)
        cancelled = await session.get(Order, order.id)
        summary = await session.get(ChapterSummary, chapter.id)
    assert downgraded is not None and downgraded.member_level == "free"
    assert cancelled is not None and (cancelled.status, cancelled.cancel_reason) == (
        "cancelled",
        "expired",
    )
    assert summary is not None and summary.summary
    pruned = await adapters.tasks.get(export.id)
    assert pruned is not None and pruned.result["removed"] is True
    assert not await blob_exists(adapters, pruned.result["blob_key"])

    # An hour later: the hourly and the frequent jobs run again, the daily one does not.
    another = await lapsed_member(adapters)
    newer = await old_export(adapters, await _user(adapters))
    schedule.clock.advance(HOUR)
    later = schedule.periods()
    assert later["prune_periodic_runs"] == first["prune_periodic_runs"]
    del later["prune_periodic_runs"]
    assert await schedule.outcomes(later) == {
        "compaction": "compacted 0 documents",
        "membership_expiry": "1 memberships ended, 0 unpaid orders cancelled",
        "summaries": "refreshed 0 summaries",
        "prune_exports": "removed 1 old export files",
        "purge_chapter_trash": "purged 0 chapters from the trash",
    }
    # prune_periodic_runs comes before prune_exports in each tick: it has looked at this hour.
    assert await schedule.runs_of("prune_periodic_runs") == [first["prune_periodic_runs"]]
    async with adapters.database.session() as session:
        downgraded = await session.get(User, another.id)
    assert downgraded is not None and downgraded.member_level == "free"
    removed = await adapters.tasks.get(newer.id)
    assert removed is not None and removed.result["removed"] is True
