"""Where the actors' work runs: one event loop and the handlers the composition root built for it.

Dramatiq calls actors in its worker threads; an actor hands its coroutine to the host's loop and
waits. In `inkweave worker` the host is that process's own loop with its own adapters; inside
`inkweave serve` (the in-process broker) it is the app's loop and the app's adapters, so a job reads
and writes the very rooms that editors are connected to, and notifications reach sockets at once.

`execute` is what makes actors safe to run twice (brokers deliver at least once):

- a finished task is left alone;
- a `processing` task whose row was marked alive recently belongs to a live worker: `TaskBusy`
  (the broker looks again later); one not marked alive for `stale_s` belonged to a worker that
  died mid-job, so it goes back to `queued` and runs again (its `attempts` grows);
- handlers claim the task themselves with `TaskStore.start` (a conditional UPDATE), so of two
  deliveries only one runs it;
- while a handler runs, its task row is marked alive every `heartbeat_s`;
- a transient failure requeues the task and is raised to the broker, which retries with backoff;
  any other failure, or a transient one on the last attempt, fails the task with the reason;
- a handler still running at `time_limit_s` is cancelled and its task fails;
- when a handler ends, the memory it freed goes back to the system (`memory`).

Whoever should hear how a task ended (the API tells its owner) is the `on_finished` hook: it is
called once with the task when this host failed it, or when its handler completed it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import update

from storage.sql.database import Database
from storage.sql.models import Task

from .failures import TaskBusy, TransientError, describe, is_transient
from .memory import release_memory
from .repeating import Repeating
from .scheduler import PeriodicJob, record_outcome
from .tasks import COMPLETED, FAILED, FINISHED, PROCESSING, QUEUED, TaskStore

log = logging.getLogger(__name__)

T = TypeVar("T")
TaskHandler = Callable[[str], Awaitable[bool | None]]
"""`async def handler(task_id)`: claims the task with `TaskStore.start`, runs, completes.

It returns True when this call completed the task (what `TaskStore.complete` said), so that the
host reports it; False or None when there was nothing to report.
"""
FinishedHook = Callable[[Task], Awaitable[None]]
"""`async def on_finished(task)`: the task as it ended, `completed` or `failed`."""


async def tell_nobody(_task: Task) -> None:
    """The `on_finished` hook of a host whose tasks' owners need not hear of them."""


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    heartbeat_s: float = 5.0
    stale_s: float = 60.0
    time_limit_s: float = 3600.0


UNWIND_S = 5.0


class TaskHost:
    def __init__(
        self,
        database: Database,
        loop: asyncio.AbstractEventLoop,
        *,
        handlers: Mapping[str, TaskHandler],
        periodic: Mapping[str, PeriodicJob] | None = None,
        policy: TaskPolicy | None = None,
        on_finished: FinishedHook = tell_nobody,
        worker_id: str = "worker",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock`: wall-clock seconds, for the heartbeat's timestamps and the stale cutoff."""
        self.database = database
        self.loop = loop
        self.handlers = dict(handlers)
        self.periodic = dict(periodic or {})
        self.policy = policy or TaskPolicy()
        self.on_finished = on_finished
        self.worker_id = worker_id
        self.clock = clock
        self.tasks = TaskStore(database)
        self._inflight: set[concurrent.futures.Future[Any]] = set()
        self._running: set[asyncio.Task[Any]] = set()  # their tasks on the loop
        self._lock = threading.Lock()
        self._closed = False

    # From worker threads ------------------------------------------------------------------------

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the host's loop and wait for it (from a Dramatiq worker thread)."""
        with self._lock:
            if self._closed:
                coroutine.close()
                raise TransientError("this worker is shutting down")
            future = asyncio.run_coroutine_threadsafe(self._tracked(coroutine), self.loop)
            self._inflight.add(future)
        try:
            return future.result()
        except BaseException:
            # Also on Dramatiq's time limit or shutdown, raised into this thread: stop the work.
            future.cancel()
            raise
        finally:
            with self._lock:
                self._inflight.discard(future)

    async def close(self, *, unwind_s: float = UNWIND_S) -> None:
        """Cancel running work (it is requeued by the broker or picked up again on restart),
        and wait up to `unwind_s` for it to unwind: a cancelled job still hands its task back
        and rolls its session back, and what closes after this (the database) must not close
        under it."""
        with self._lock:
            self._closed = True
            running = list(self._inflight)
        for future in running:
            future.cancel()  # the thread waiting on it is freed now; the task is told next
        unwinding = [task for task in self._running if task is not asyncio.current_task()]
        if unwinding:
            _done, late = await asyncio.wait(unwinding, timeout=unwind_s)
            if late:
                log.warning("jobs still unwinding at close", extra={"count": len(late)})

    async def _tracked(self, coroutine: Coroutine[Any, Any, T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await coroutine
        finally:
            self._running.discard(task)

    # On the loop ----------------------------------------------------------------------------------

    async def execute(self, kind: str, task_id: str, *, last_attempt: bool = False) -> None:
        task = await self.tasks.get(task_id)
        if task is None:
            log.warning("task is gone", extra={"kind": kind, "task_id": task_id})
            return
        if task.status in FINISHED:
            return
        if task.status == PROCESSING and not await self._revive_if_stale(task_id):
            raise TaskBusy(task_id)
        handler = self.handlers.get(kind)
        if handler is None:
            await self._fail(task_id, f"no handler for tasks of kind {kind!r}")
            return
        alive = Repeating(
            lambda: self._mark_alive(task_id),
            self.policy.heartbeat_s,
            name=f"alive:{task_id}",
            wait_first=True,
        )
        alive.start()
        limit = asyncio.timeout(self.policy.time_limit_s)
        try:
            async with limit:
                completed = await handler(task_id)
        except asyncio.CancelledError:
            # The worker is stopping: hand the task back at once rather than leaving it
            # `processing` until it looks stale.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.tasks.requeue(task_id, "interrupted; will run again"))
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and limit.expired():
                await self._fail(
                    task_id, f"stopped at the time limit of {self.policy.time_limit_s:g} s"
                )
                return
            error = describe(exc)
            if is_transient(exc) and not last_attempt:
                log.warning("task will be retried", extra={"task_id": task_id, "error": error})
                await self.tasks.requeue(task_id, error)
                raise
            log.exception("task failed", extra={"kind": kind, "task_id": task_id})
            await self._fail(task_id, error)
        else:
            if completed:
                await self._report(task_id, COMPLETED)
        finally:
            await alive.stop()
            # What the job freed goes back to the system rather than staying with this process.
            await asyncio.to_thread(release_memory)

    async def _revive_if_stale(self, task_id: str) -> bool:
        """Put a task whose worker died back to `queued`; False while its worker is alive."""
        cutoff = self._now() - timedelta(seconds=self.policy.stale_s)
        async with self.database.session() as session:
            result = await session.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == PROCESSING, Task.updated_at < cutoff)
                .values(status=QUEUED, error="the worker running it stopped; running it again")
            )
        if result.rowcount:  # type: ignore[attr-defined]
            log.warning("reviving a task whose worker died", extra={"task_id": task_id})
            return True
        return (await self.tasks.status(task_id)) == QUEUED

    async def _mark_alive(self, task_id: str) -> None:
        try:
            async with self.database.session() as session:
                await session.execute(
                    update(Task)
                    .where(Task.id == task_id, Task.status == PROCESSING)
                    .values(updated_at=self._now())
                )
        except Exception:
            log.warning("could not mark a task alive", extra={"task_id": task_id})

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def _fail(self, task_id: str, error: str) -> None:
        if await self.tasks.fail(task_id, error):
            await self._report(task_id, FAILED)

    async def _report(self, task_id: str, status: str) -> None:
        """Tell `on_finished` about a task this host ended, if it still is `status`."""
        task = await self.tasks.get(task_id)
        if task is None or task.status != status:
            return
        try:
            await self.on_finished(task)
        except Exception:
            log.exception("the finished-task hook failed", extra={"task_id": task_id})

    async def run_periodic(self, name: str, period: str) -> None:
        job = self.periodic.get(name)
        if job is None:
            log.warning("no periodic job %s on this worker", name)
            return
        try:
            outcome = await job.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("periodic job failed", extra={"job": name, "period": period})
            outcome = f"failed: {describe(exc)}"
        await record_outcome(self.database, name, period, outcome or "ok")
