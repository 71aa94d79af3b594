"""One process's job machinery: broker, actors, the runner the API submits through, and, where
this process runs jobs, the task host, Dramatiq's worker threads and the periodic scheduler.

`inkweave serve` builds one at start. With the in-process broker it also runs the jobs (threads
inside the server); with Redis or RabbitMQ it only enqueues and `inkweave worker` runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence

import dramatiq
from sqlalchemy import select, update

from storage.sql.database import Database
from storage.sql.models import Task

from .broker import BrokerConfig, JobActors, declare_actors, make_broker
from .host import FinishedHook, TaskHandler, TaskHost, TaskPolicy, tell_nobody
from .repeating import Repeating
from .runner import DramatiqRunner
from .scheduler import PeriodicJob, Scheduler
from .tasks import PROCESSING, QUEUED

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobSystem:
    def __init__(
        self,
        config: BrokerConfig,
        *,
        policy: TaskPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock`: wall-clock seconds for the periodic schedule and the tasks' liveness."""
        self.config = config
        self.policy = policy or TaskPolicy()
        self.clock = clock
        self.broker = make_broker(config)
        self.host: TaskHost | None = None
        self.actors: JobActors = declare_actors(
            self.broker,
            config,
            lambda: self.host,
            busy_retry_ms=int(self.policy.stale_s * 1000),
        )
        self.runner = DramatiqRunner(self.actors)
        self.scheduler: Scheduler | None = None
        self._worker: dramatiq.Worker | None = None
        self._scheduling: Repeating | None = None

    @property
    def kind(self) -> str:
        return self.config.kind

    async def start(
        self,
        database: Database,
        *,
        run_jobs: bool,
        handlers: Mapping[str, TaskHandler],
        periodic: Sequence[PeriodicJob] = (),
        on_finished: FinishedHook = tell_nobody,
        recover: bool = False,
    ) -> None:
        """`run_jobs`: consume messages here (threads) and run the periodic scheduler.

        `handlers`: the task kinds this process runs; `on_finished`: told how each task ended.

        `recover`: submit again the tasks left unfinished in SQL (the in-process broker keeps its
        messages in memory, so a restart would otherwise forget them).
        """
        if not run_jobs:
            return
        name = worker_name()
        self.host = TaskHost(
            database,
            asyncio.get_running_loop(),
            handlers=handlers,
            periodic={job.name: job for job in periodic},
            policy=self.policy,
            on_finished=on_finished,
            worker_id=name,
            clock=self.clock,
        )
        self._worker = dramatiq.Worker(
            self.broker, worker_threads=self.config.worker_threads, worker_timeout=250
        )
        await asyncio.to_thread(self._worker.start)
        if recover:
            await self._recover(database)
        if periodic:
            self.scheduler = Scheduler(
                database, periodic, self._enqueue_periodic, worker_id=name, clock=self.clock
            )
            self._scheduling = Repeating(
                self.scheduler.tick, self.scheduler.tick_s, name="periodic-scheduler"
            )
            self._scheduling.start()
        log.info(
            "jobs running",
            extra={"broker": self.kind, "threads": self.config.worker_threads, "worker": name},
        )

    async def _enqueue_periodic(self, job: str, period: str) -> None:
        await asyncio.to_thread(self.actors.run_periodic.send, job, period)

    async def _recover(self, database: Database) -> None:
        async with database.session() as session:
            await session.execute(
                update(Task)
                .where(Task.status == PROCESSING)
                .values(status=QUEUED, error="interrupted by a restart; running it again")
            )
            orphans = list(
                await session.execute(
                    select(Task.kind, Task.id)
                    .where(Task.status == QUEUED)
                    .order_by(Task.created_at)
                )
            )
        for kind, task_id in orphans:
            await self.runner.submit(kind, task_id)
        if orphans:
            log.info("resubmitted unfinished tasks", extra={"count": len(orphans)})

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """Stop scheduling, let running jobs finish for up to `grace_s`, then cancel the rest.

        A cancelled task goes back to `queued`: a broker redelivers its message, and the
        in-process broker's tasks are resubmitted from SQL at the next start.
        """
        if self._scheduling is not None:
            await self._scheduling.stop()
        if self._worker is not None:
            worker, host = self._worker, self.host
            if grace_s <= 0 and host is not None:
                await host.close()
            stopping = asyncio.create_task(
                asyncio.to_thread(worker.stop, timeout=max(1, int(grace_s * 1000)))
            )
            await asyncio.wait({stopping}, timeout=grace_s)
            if host is not None:
                await host.close()  # frees threads still waiting on this loop
            await stopping
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.broker.close)
