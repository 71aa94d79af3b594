"""The Dramatiq broker and the actors declared on it.

The broker is Redis or RabbitMQ in production, an in-process one by default.

Which one is decided by configuration alone (DESIGN, "Processes"): RabbitMQ when its URL is set,
else Redis when its URL is set, else Dramatiq's `StubBroker`, which keeps messages in this
process's memory and is consumed by worker threads started inside `inkweave serve`.

A broker is an object, never Dramatiq's global one: each app (and each test) declares its actors
on its own broker, so an embedded app and a Redis-backed one can live in one process.

There are two actors: one runs a task of any kind, one runs a periodic job. They hand their work
to a `TaskHost` (see `jobs.host`), so the same code runs on every broker. Messages name only the
task kind and id; everything else is in the task's SQL row, so a message redelivered after a
crash, or retried, always acts on the task's current state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, Retries

from .failures import TaskBusy
from .host import TaskHost

BrokerKind = Literal["stub", "redis", "rabbitmq"]
RUN_TASK = "inkweave.run_task"
RUN_PERIODIC = "inkweave.run_periodic"


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    redis_url: str | None = None
    rabbitmq_url: str | None = None
    namespace: str = "inkweave:dramatiq"
    queue: str = "inkweave"
    max_retries: int = 5
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 300_000
    heartbeat_timeout_ms: int = 60_000
    maintenance_chance: int = 1000
    worker_threads: int = 4

    @property
    def kind(self) -> BrokerKind:
        if self.rabbitmq_url:
            return "rabbitmq"
        if self.redis_url:
            return "redis"
        return "stub"


def _middleware(config: BrokerConfig) -> list[dramatiq.Middleware]:
    # No TimeLimit middleware: it raises into threads and only runs under Dramatiq's own CLI.
    # The task host enforces the time limit by cancelling the task's coroutine instead.
    return [
        AgeLimit(),
        Retries(
            max_retries=config.max_retries,
            min_backoff=config.min_backoff_ms,
            max_backoff=config.max_backoff_ms,
        ),
        CurrentMessage(),  # actors read how many retries a message has had
    ]


def make_broker(config: BrokerConfig) -> dramatiq.Broker:
    middleware = _middleware(config)
    if config.kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=config.rabbitmq_url, middleware=middleware, confirm_delivery=True)
    if config.kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=config.redis_url,
            middleware=middleware,
            namespace=config.namespace,
            heartbeat_timeout=config.heartbeat_timeout_ms,
            maintenance_chance=config.maintenance_chance,
        )
    return StubBroker(middleware=middleware)


@dataclass(frozen=True, slots=True)
class JobActors:
    broker: dramatiq.Broker
    run_task: dramatiq.Actor[[str, str], None]
    run_periodic: dramatiq.Actor[[str, str], None]


def _retries_so_far() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def declare_actors(
    broker: dramatiq.Broker,
    config: BrokerConfig,
    host: Callable[[], TaskHost | None],
    *,
    busy_retry_ms: int = 5000,
) -> JobActors:
    """Declare the actors on `broker`; `host()` gives the host that runs them (None where this
    process only enqueues)."""

    def require_host() -> TaskHost:
        current = host()
        if current is None:
            raise RuntimeError("this process enqueues jobs but runs none (no task host)")
        return current

    def run_task(kind: str, task_id: str) -> None:
        running = require_host()
        last = _retries_so_far() >= config.max_retries
        try:
            running.call(running.execute(kind, task_id, last_attempt=last))
        except TaskBusy:
            raise dramatiq.Retry(delay=busy_retry_ms) from None

    def run_periodic(job: str, period: str) -> None:
        running = require_host()
        running.call(running.run_periodic(job, period))

    common = {"broker": broker, "queue_name": config.queue}
    return JobActors(
        broker=broker,
        run_task=dramatiq.actor(run_task, actor_name=RUN_TASK, **common),  # type: ignore[arg-type]
        run_periodic=dramatiq.actor(
            run_periodic,
            actor_name=RUN_PERIODIC,
            max_retries=0,  # a missed run is made up by the next period
            **common,  # type: ignore[arg-type]
        ),
    )
