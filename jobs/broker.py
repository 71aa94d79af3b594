"""The Dramatiq broker: Redis or RabbitMQ in production, an in-process one by default.

Which one is decided by configuration alone (DESIGN, "Processes"): RabbitMQ when its URL is set,
else Redis when its URL is set, else Dramatiq's `StubBroker`, which keeps messages in this
process's memory and is consumed by worker threads started inside `inkweave serve`.

A broker is an object, never Dramatiq's global one: each app (and each test) declares its actors
on its own broker, so an embedded app and a Redis-backed one can live in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, Retries

BrokerKind = Literal["stub", "redis", "rabbitmq"]


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
