"""`kill -9` of an `inkweave worker` (Redis broker) in the middle of a task: Dramatiq's Redis
broker gives the unacknowledged message back once the dead worker's heartbeat is old, another
worker runs the task again, and it completes exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.adapters import build_adapters
from api.jobs_setup import build_job_system
from api.settings import Settings
from jobs.tasks import COMPLETED, PROCESSING
from storage.sql.models import User
from tests.jobs.conftest import REDIS_URL
from tests.jobs.workers import WorkerProcess, settings_env, slow_worker_argv
from tests.support.waiting import eventually


def _settings(data_dir: Path, namespace: str) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "redis_url": REDIS_URL,
        "redis_prefix": namespace,
        "jobs_worker_threads": 1,
        # Short clocks: a worker silent for 1.5 s is dead; every broker call looks for the dead.
        "jobs_heartbeat_timeout_ms": 1500,
        "jobs_maintenance_chance": 1_000_000,
        "jobs_task_heartbeat_s": 0.3,
        "jobs_task_stale_s": 1.5,
    }


async def test_a_killed_worker_task_is_redelivered_and_completes_once(
    tmp_path: Path, redis_namespace: str, workers: list[WorkerProcess]
) -> None:
    data_dir = tmp_path / "data"
    traces = tmp_path / "traces"
    traces.mkdir()
    values = _settings(data_dir, redis_namespace)
    settings = Settings(**values)

    def start_worker(name: str) -> WorkerProcess:
        worker = WorkerProcess(
            slow_worker_argv(),
            settings_env(values),
            tmp_path / f"worker-{name}.log",
        )
        workers.append(worker)
        worker.wait_started()
        return worker

    system = build_job_system(settings)  # enqueues only: the workers are subprocesses
    adapters = build_adapters(settings, runner=system.runner)
    await adapters.database.migrate()
    try:
        async with adapters.database.session() as session:
            user = User(username="杀不死", email="kill@example.com", password_hash="x")
            session.add(user)
            await session.flush()
        task = await adapters.tasks.create(user.id, "slow", "slow", params={"traces": str(traces)})

        first = start_worker("first")
        await system.runner.submit("slow", task.id)

        async def held_by_the_first_worker() -> bool:
            current = await adapters.tasks.get(task.id)
            assert current is not None
            return current.status == PROCESSING and current.progress == 20

        # The task holds at 20 % until `release` exists: the kill always lands mid-task.
        await eventually(held_by_the_first_worker, what=f"the first worker ({first.log_path})")
        first.kill()
        (traces / "release").touch()

        second = start_worker("second")

        async def completed() -> bool:
            return await adapters.tasks.status(task.id) == COMPLETED

        await eventually(completed, what=f"the second worker to finish ({second.log_path})")
        done = await adapters.tasks.get(task.id)
        assert done is not None
        assert done.attempts == 2
        assert done.result == {"pid": second.pid}
        assert (traces / "completions").read_text().split() == [str(second.pid)]
        starts = sorted(path.name for path in traces.glob("start-*"))
        assert starts == sorted([f"start-{first.pid}-1", f"start-{second.pid}-2"])
        blobs = [p for p in (data_dir / "blobs" / "slow").iterdir() if p.suffix == ".bin"]
        assert [p.name for p in blobs] == [f"{task.id}.bin"]
    finally:
        await system.stop()
        await adapters.bus.close()
        await adapters.database.close()
        await adapters.kv.close()
