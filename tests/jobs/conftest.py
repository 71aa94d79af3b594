from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pika
import pytest
import redis

from api.adapters import Adapters, build_adapters
from api.composition import Services, build_services
from api.jobs_setup import build_job_system
from api.services.access_changes import no_sockets
from api.settings import Settings
from tests.jobs.workers import WorkerProcess

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests whose subject is not SQL (a renderer, a broker, S3): the MariaDB run adds nothing."""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        auto_migrate=True,
        docs_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}",
        room_unload_grace_s=0.5,
        projection_debounce_s=0.05,
        jobs_min_backoff_ms=100,
        jobs_max_backoff_ms=1000,
        jobs_task_heartbeat_s=0.2,
        jobs_task_stale_s=1.0,
        rate_limit_user_per_min=100_000,  # these tests poll tasks quickly
        log_level="WARNING",
    )


@pytest.fixture
async def adapters(settings: Settings) -> AsyncIterator[Adapters]:
    """Real adapters on a fresh database, outside any web app (their runner's jobs run nowhere
    unless a test starts a job system of its own)."""
    built = build_adapters(settings, runner=build_job_system(settings).runner)
    await built.database.migrate()
    await built.store.start()
    try:
        yield built
    finally:
        await built.rooms.close()
        await built.store.close()
        await built.database.close()
        await built.kv.close()


@pytest.fixture
def services(adapters: Adapters) -> Services:
    return build_services(adapters, recheck_sockets=no_sockets)


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A throwaway key prefix on the local Redis, deleted afterwards."""
    namespace = f"inkweave-test-{uuid.uuid4().hex[:8]}:"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def rabbitmq_queue() -> Iterator[str]:
    """A throwaway queue name on the local RabbitMQ; the queues Dramatiq made are deleted."""
    queue = f"inkweave-test-{uuid.uuid4().hex[:8]}"
    yield queue
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
        channel.queue_delete(name)
    connection.close()


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """`inkweave worker` subprocesses a test starts (append them); stopped afterwards."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
