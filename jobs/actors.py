"""The actors: one for every task kind (AI, export, import), one for periodic jobs.

Actors are declared on a given broker (never Dramatiq's global one) and hand their work to a
`TaskHost` (see `jobs.host`). The same code runs on the in-process broker and on Redis/RabbitMQ.

Messages name only the task kind and id; everything else is in the task's SQL row, so a message
redelivered after a crash, or retried, always acts on the task's current state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
from dramatiq.middleware import CurrentMessage

from .broker import BrokerConfig
from .failures import TaskBusy
from .host import TaskHost

RUN_TASK = "inkweave.run_task"
RUN_PERIODIC = "inkweave.run_periodic"


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
        runner = require_host()
        last = _retries_so_far() >= config.max_retries
        try:
            runner.call(runner.execute(kind, task_id, last_attempt=last))
        except TaskBusy:
            raise dramatiq.Retry(delay=busy_retry_ms) from None

    def run_periodic(job: str, period: str) -> None:
        runner = require_host()
        runner.call(runner.run_periodic(job, period))

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
