"""The same actors on the in-process broker, on Redis and on RabbitMQ (all real, on loopback):
tasks run once, transient failures retry with backoff, permanent ones are recorded, periodic
jobs run once per period across workers, and a task left behind by a dead worker runs again."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from pycrdt import Doc, Text
from sqlalchemy import select

from api.adapters import Adapters
from jobs.broker import BrokerConfig
from jobs.failures import TaskBusy, TransientError
from jobs.host import TaskHost, TaskPolicy
from jobs.schedule import compaction
from jobs.scheduler import PeriodicJob, period_of
from jobs.system import JobSystem
from jobs.tasks import COMPLETED, FAILED, FINISHED, PROCESSING, QUEUED, TaskStore
from storage.sql.models import PeriodicRun, Task, User
from tests.jobs.conftest import RABBITMQ_URL, REDIS_URL, SQLITE_ONLY
from tests.jobs.helpers import long_log
from tests.support.clock import ManualClock
from tests.support.waiting import eventually

POLICY = TaskPolicy(heartbeat_s=0.2, stale_s=1.0)


class Probe:
    """A task handler that records every run and behaves as the task's params ask."""

    def __init__(self, tasks: TaskStore) -> None:
        self.tasks = tasks
        self.runs: Counter[str] = Counter()
        self.finished: list[tuple[str, str, str | None]] = []

    async def handle(self, task_id: str) -> bool:
        if not await self.tasks.start(task_id):
            return False
        task = await self.tasks.get(task_id)
        assert task is not None
        self.runs[task_id] += 1
        behaviour = task.params.get("behaviour")
        if behaviour == "flaky" and task.attempts == 1:
            raise TransientError("the first attempt loses its connection")
        if behaviour == "broken":
            raise ValueError("this input can never work")
        return await self.tasks.complete(task_id, {"attempt": task.attempts})

    async def on_finished(self, task: Task) -> None:
        self.finished.append((task.id, task.status, task.error))

    def failures(self) -> list[tuple[str, str | None]]:
        return sorted(
            (task_id, error) for task_id, status, error in self.finished if status == FAILED
        )

    def completions(self) -> list[str]:
        return sorted(task_id for task_id, status, _error in self.finished if status == COMPLETED)


async def _user(adapters: Adapters) -> int:
    async with adapters.database.session() as session:
        user = User(username="测试", email="probe@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        return user.id


async def _wait_finished(adapters: Adapters, task_ids: list[str]) -> None:
    async def all_finished() -> bool:
        statuses = [await adapters.tasks.status(task_id) for task_id in task_ids]
        return all(status in FINISHED for status in statuses)

    await eventually(all_finished, what=f"tasks {task_ids} to finish")


def _config(kind: str, redis_namespace: str, rabbitmq_queue: str) -> BrokerConfig:
    common: dict[str, Any] = {
        "queue": rabbitmq_queue,
        "min_backoff_ms": 100,
        "max_backoff_ms": 500,
        "max_retries": 3,
        "worker_threads": 2,
    }
    if kind == "redis":
        return BrokerConfig(redis_url=REDIS_URL, namespace=redis_namespace + "dramatiq", **common)
    if kind == "rabbitmq":
        return BrokerConfig(rabbitmq_url=RABBITMQ_URL, **common)
    return BrokerConfig(**common)


@pytest.mark.parametrize(
    ("kind", "database_url"),
    [
        ("stub", "sqlite"),
        pytest.param("stub", "mariadb", marks=pytest.mark.mariadb),
        ("redis", "sqlite"),  # the brokers do not care which database holds the tasks
        ("rabbitmq", "sqlite"),
    ],
    indirect=["database_url"],
)
async def test_the_same_actors_run_on_every_broker(
    kind: str, adapters: Adapters, redis_namespace: str, rabbitmq_queue: str
) -> None:
    config = _config(kind, redis_namespace, rabbitmq_queue)
    system = JobSystem(config, policy=POLICY)
    assert system.kind == kind
    probe = Probe(adapters.tasks)
    await system.start(
        adapters.database,
        run_jobs=True,
        handlers={"probe": probe.handle},
        on_finished=probe.on_finished,
    )
    try:
        user_id = await _user(adapters)
        plain = [await adapters.tasks.create(user_id, "probe", "plain") for _ in range(5)]
        flaky = await adapters.tasks.create(
            user_id, "probe", "flaky", params={"behaviour": "flaky"}
        )
        broken = await adapters.tasks.create(
            user_id, "probe", "broken", params={"behaviour": "broken"}
        )
        unknown = await adapters.tasks.create(user_id, "nobody", "x")
        everything = [*plain, flaky, broken]
        for task in everything:
            await system.runner.submit("probe", task.id)
        await system.runner.submit("nobody", unknown.id)
        await _wait_finished(adapters, [task.id for task in [*everything, unknown]])

        for task in plain:
            finished = await adapters.tasks.get(task.id)
            assert finished is not None
            assert (finished.status, finished.attempts, finished.result) == (
                COMPLETED,
                1,
                {"attempt": 1},
            )
            assert probe.runs[task.id] == 1

        retried = await adapters.tasks.get(flaky.id)
        assert retried is not None
        assert (retried.status, retried.attempts, probe.runs[flaky.id]) == (COMPLETED, 2, 2)

        failed = await adapters.tasks.get(broken.id)
        assert failed is not None
        assert failed.status == FAILED and probe.runs[broken.id] == 1
        assert failed.error == "ValueError: this input can never work"
        orphan = await adapters.tasks.get(unknown.id)
        assert orphan is not None and orphan.status == FAILED
        assert "no handler" in (orphan.error or "")
        assert probe.failures() == sorted(
            [
                (broken.id, "ValueError: this input can never work"),
                (unknown.id, orphan.error),
            ]
        )
        assert probe.completions() == sorted(task.id for task in [*plain, flaky])
    finally:
        await system.stop()


async def test_a_transient_failure_on_the_last_attempt_fails_the_task(adapters: Adapters) -> None:
    system = JobSystem(BrokerConfig(max_retries=0, min_backoff_ms=50), policy=POLICY)

    async def always_flaky(task_id: str) -> None:
        assert await adapters.tasks.start(task_id)
        raise TransientError("the database is still unreachable")

    await system.start(adapters.database, run_jobs=True, handlers={"flaky": always_flaky})
    try:
        task = await adapters.tasks.create(await _user(adapters), "flaky", "x")
        await system.runner.submit("flaky", task.id)
        await _wait_finished(adapters, [task.id])
        failed = await adapters.tasks.get(task.id)
        assert failed is not None
        assert failed.status == FAILED
        assert failed.error == "TransientError: the database is still unreachable"
    finally:
        await system.stop()


async def test_a_task_of_a_dead_worker_runs_again_once_stale_but_not_while_alive(
    adapters: Adapters,
) -> None:
    probe = Probe(adapters.tasks)
    policy = TaskPolicy(heartbeat_s=0.2, stale_s=60)
    task = await adapters.tasks.create(await _user(adapters), "probe", "x")
    assert await adapters.tasks.start(task.id)  # a worker took it (attempt 1)...
    taken = await adapters.tasks.get(task.id)
    assert taken is not None
    clock = ManualClock(start=taken.updated_at.timestamp())
    host = TaskHost(
        adapters.database,
        asyncio.get_running_loop(),
        handlers={"probe": probe.handle},
        policy=policy,
        clock=clock,
    )

    clock.advance(policy.stale_s - 1)  # ...and marked it alive within `stale_s`
    with pytest.raises(TaskBusy):
        await host.execute("probe", task.id)
    assert probe.runs[task.id] == 0
    assert await adapters.tasks.status(task.id) == PROCESSING

    clock.advance(2)  # ...then stopped marking it alive
    await host.execute("probe", task.id)
    done = await adapters.tasks.get(task.id)
    assert done is not None
    assert (done.status, done.attempts, probe.runs[task.id]) == (COMPLETED, 2, 1)

    await host.execute("probe", task.id)  # a late duplicate of the message changes nothing
    assert probe.runs[task.id] == 1


async def test_a_running_task_is_marked_alive(adapters: Adapters) -> None:
    release = asyncio.Event()

    async def held(task_id: str) -> None:
        assert await adapters.tasks.start(task_id)
        await release.wait()
        await adapters.tasks.complete(task_id, None)

    host = TaskHost(
        adapters.database, asyncio.get_running_loop(), handlers={"held": held}, policy=POLICY
    )
    task = await adapters.tasks.create(await _user(adapters), "held", "x")
    running = asyncio.create_task(host.execute("held", task.id))

    async def marked_after(previous: datetime | None) -> datetime | None:
        current = await adapters.tasks.get(task.id)
        assert current is not None and current.status in (QUEUED, PROCESSING)
        if current.status != PROCESSING:
            return None
        fresh = previous is None or current.updated_at > previous
        return current.updated_at if fresh else None

    seen = [await eventually(lambda: marked_after(None), what="the task to start")]
    for beat in range(2):  # MariaDB keeps whole seconds: a beat may take a second to show
        seen.append(await eventually(lambda: marked_after(seen[-1]), what=f"heartbeat {beat + 1}"))
    release.set()
    await running
    assert await adapters.tasks.status(task.id) == COMPLETED


async def test_periodic_jobs_run_once_per_period_across_workers(adapters: Adapters) -> None:
    runs: list[str] = []

    async def tick() -> str:
        runs.append("ran")
        return "ticked"

    clock = ManualClock()
    job = PeriodicJob("tick", 1.0, tick)
    workers = [
        JobSystem(BrokerConfig(worker_threads=1), policy=POLICY, clock=clock) for _ in range(3)
    ]
    for system in workers:
        await system.start(adapters.database, run_jobs=True, handlers={}, periodic=[job])
    periods = [period_of(clock() + n * job.interval_s, job.interval_s) for n in range(4)]
    try:
        for index, period in enumerate(periods):
            if index:
                clock.advance(job.interval_s)

            async def every_worker_tried_and_one_ran(period: str = period) -> bool:
                tried = [
                    system.scheduler is not None and system.scheduler.last_period("tick") == period
                    for system in workers
                ]
                async with adapters.database.session() as session:
                    row = await session.get(PeriodicRun, ("tick", period))
                return all(tried) and row is not None and row.finished_at is not None

            await eventually(every_worker_tried_and_one_ran, what=f"period {period} of tick")
    finally:
        for system in workers:
            await system.stop()

    async with adapters.database.session() as session:
        rows = list(await session.scalars(select(PeriodicRun).where(PeriodicRun.job == "tick")))
    assert sorted(row.period for row in rows) == periods  # once each, though three tried each
    assert [row.outcome for row in rows] == ["ticked"] * len(periods)
    assert len(runs) == len(periods)


async def test_a_task_past_its_time_limit_fails(adapters: Adapters) -> None:
    async def endless(task_id: str) -> None:
        assert await adapters.tasks.start(task_id)
        await asyncio.Event().wait()  # never set: only the time limit ends this

    policy = TaskPolicy(heartbeat_s=0.2, stale_s=60, time_limit_s=0.3)
    host = TaskHost(
        adapters.database, asyncio.get_running_loop(), handlers={"endless": endless}, policy=policy
    )
    task = await adapters.tasks.create(await _user(adapters), "endless", "x")
    await host.execute("endless", task.id)
    failed = await adapters.tasks.get(task.id)
    assert failed is not None
    assert (failed.status, failed.error) == (FAILED, "stopped at the time limit of 0.3 s")


async def test_a_handlers_own_timeout_is_transient_not_the_time_limit(adapters: Adapters) -> None:
    async def own_timeout(task_id: str) -> None:
        assert await adapters.tasks.start(task_id)
        raise TimeoutError("the handler's own deadline, e.g. a model call")

    host = TaskHost(
        adapters.database, asyncio.get_running_loop(), handlers={"own": own_timeout}, policy=POLICY
    )
    task = await adapters.tasks.create(await _user(adapters), "own", "x")
    with pytest.raises(TimeoutError):
        await host.execute("own", task.id)  # raised to the broker, which retries it
    assert await adapters.tasks.status(task.id) == QUEUED


@SQLITE_ONLY  # the document store's compaction; no SQL involved
async def test_the_compaction_job_compacts_documents_over_the_threshold(
    adapters: Adapters,
) -> None:
    settings = adapters.settings.model_copy(update={"compact_after_updates": 20})
    doc_id, written = await long_log(replace(adapters, settings=settings))
    small: Doc = Doc()
    small.get("content", type=Text).insert(0, "短")
    await adapters.store.append("chapter-small", small.get_update())

    assert await compaction(adapters.store, settings) == "compacted 1 documents"
    stored = await adapters.store.load(doc_id)
    assert stored.updates == [] and stored.snapshot is not None
    merged: Doc = Doc()
    merged.apply_update(stored.snapshot)
    assert str(merged.get("content", type=Text)) == written
    assert len((await adapters.store.load("chapter-small")).updates) == 1


async def test_closing_the_host_waits_for_a_cancelled_job_to_hand_its_task_back(
    adapters: Adapters,
) -> None:
    """A job running when the worker stops is cancelled, and its task handed back (queued) on
    the way out; `close` returns only once that is done, so the database closed after it is not
    closed under the job's last writes."""
    started = asyncio.Event()

    async def held(task_id: str) -> None:
        assert await adapters.tasks.start(task_id)
        started.set()
        await asyncio.Event().wait()

    host = TaskHost(
        adapters.database, asyncio.get_running_loop(), handlers={"held": held}, policy=POLICY
    )
    task = await adapters.tasks.create(await _user(adapters), "held", "x")
    # As a broker's worker thread runs a message: it blocks in `call` until the job is done.
    thread = asyncio.create_task(asyncio.to_thread(host.call, host.execute("held", task.id)))
    await asyncio.wait_for(started.wait(), 30)
    await host.close()
    assert await adapters.tasks.status(task.id) == QUEUED  # handed back before close returned
    with pytest.raises(asyncio.CancelledError):
        await thread
