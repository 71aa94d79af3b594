"""`kill -9` of an `inkweave worker` (Redis broker) in the middle of a task: Dramatiq's Redis
broker gives the unacknowledged message back once the dead worker's heartbeat is old, another
worker runs the task again, and it completes exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app_parts import build_components
from api.jobs_setup import build_job_system
from api.settings import Settings
from jobs.tasks import COMPLETED, PROCESSING
from storage.sql.models import User
from tests.jobs.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
BOOT = "import tests.jobs.slow_handler; from api.cli import main; main(['worker'])"


def _env(data_dir: Path, namespace: str) -> dict[str, str]:
    return {
        "INKWEAVE_DATA_DIR": str(data_dir),
        "INKWEAVE_REDIS_URL": REDIS_URL,
        "INKWEAVE_REDIS_PREFIX": namespace,
        "INKWEAVE_JOBS_WORKER_THREADS": "1",
        # Short clocks: a worker silent for 1.5 s is dead; every broker call looks for the dead.
        "INKWEAVE_JOBS_HEARTBEAT_TIMEOUT_MS": "1500",
        "INKWEAVE_JOBS_MAINTENANCE_CHANCE": "1000000",
        "INKWEAVE_JOBS_TASK_HEARTBEAT_S": "0.3",
        "INKWEAVE_JOBS_TASK_STALE_S": "1.5",
        "INKWEAVE_LOG_FORMAT": "text",
        "INKWEAVE_LOG_LEVEL": "INFO",
    }


class Worker:
    def __init__(self, data_dir: Path, namespace: str, name: str) -> None:
        self.log_path = data_dir.parent / f"worker-{name}.log"
        env = {**os.environ, **_env(data_dir, namespace)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_started(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "worker started" not in self.log_path.read_text(errors="replace"):
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, self.log_path.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


async def test_a_killed_worker_task_is_redelivered_and_completes_once(
    tmp_path: Path, redis_namespace: str, workers: list[Worker]
) -> None:
    data_dir = tmp_path / "data"
    traces = tmp_path / "traces"
    traces.mkdir()
    settings = Settings(**{k.removeprefix("INKWEAVE_").lower(): v for k, v in _env(
        data_dir, redis_namespace).items()})  # fmt: skip
    parts = build_components(settings)
    await parts.database.migrate()
    system = build_job_system(settings)  # enqueues only: the workers are subprocesses
    try:
        async with parts.database.session() as session:
            user = User(username="杀不死", email="kill@example.com", password_hash="x")
            session.add(user)
            await session.flush()
        task = await parts.tasks.create(
            user.id, "slow", "slow", params={"traces": str(traces), "steps": 20, "step_s": 0.2}
        )

        first = Worker(data_dir, redis_namespace, "first")
        workers.append(first)
        first.wait_started()
        await system.runner.submit("slow", task.id)
        deadline = time.monotonic() + 30
        while True:  # until the first worker is in the middle of it
            current = await parts.tasks.get(task.id)
            assert current is not None
            if current.status == PROCESSING and current.progress >= 20:
                break
            assert time.monotonic() < deadline, first.log_path.read_text()
            await asyncio.sleep(0.05)
        first.kill()
        assert current.status == PROCESSING and current.attempts == 1

        second = Worker(data_dir, redis_namespace, "second")
        workers.append(second)
        second.wait_started()
        deadline = time.monotonic() + 60
        while (done := await parts.tasks.get(task.id)) and done.status != COMPLETED:
            assert time.monotonic() < deadline, second.log_path.read_text()
            await asyncio.sleep(0.1)

        assert done.attempts == 2
        assert done.result == {"pid": second.proc.pid}
        assert (traces / "completions").read_text().split() == [str(second.proc.pid)]
        starts = sorted(path.name for path in traces.glob("start-*"))
        assert starts == sorted([f"start-{first.proc.pid}-1", f"start-{second.proc.pid}-2"])
        blobs = [p for p in (data_dir / "blobs" / "slow").iterdir() if p.suffix == ".bin"]
        assert [p.name for p in blobs] == [f"{task.id}.bin"]
    finally:
        await system.stop()
        await parts.bus.close() if parts.bus else None
        await parts.database.close()
        await parts.kv.close()
