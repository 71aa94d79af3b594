"""`inkweave worker` with a test-only task kind, `slow`: `python -m tests.jobs.slow_worker`.

It starts, reports 20 %, then holds until the test creates the file `release` in the task's
`traces` folder, so a test can kill its worker mid-task without racing the task's end. It leaves
traces a test can count: a file per start, a line per completion, one blob.

The worker runs `slow` tasks only (the tests that start it queue no other kind); the handler has
its own task and blob stores on the worker's settings, as `inkweave worker` builds its own.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from api.adapters import blob_store
from api.cli_jobs import run_worker
from api.logs import configure_logging
from api.settings import Settings
from jobs.tasks import TaskStore
from storage.blobs.base import BlobStore
from storage.sql.database import Database
from tests.support.waiting import eventually

HOLD_S = 600.0


@dataclass(frozen=True, slots=True)
class Slow:
    """The `slow` task handler."""

    tasks: TaskStore
    blobs: BlobStore

    async def __call__(self, task_id: str) -> bool:
        if not await self.tasks.start(task_id):
            return False
        task = await self.tasks.get(task_id)
        assert task is not None
        traces = Path(task.params["traces"])
        (traces / f"start-{os.getpid()}-{task.attempts}").touch()
        await self.tasks.progress(task_id, 20)
        release = traces / "release"
        await eventually(release.exists, timeout=HOLD_S, what=f"{release} to appear")
        await self.tasks.progress(task_id, 90)
        await self.blobs.put(f"slow/{task_id}.bin", f"done by {os.getpid()}".encode(), "text/plain")
        if not await self.tasks.complete(task_id, {"pid": os.getpid()}):
            return False
        with (traces / "completions").open("a") as log:
            log.write(f"{os.getpid()}\n")
        return True


async def serve(settings: Settings) -> None:
    database = Database(settings.resolved_database_url())
    blobs = blob_store(settings)
    await blobs.start()
    try:
        await run_worker(settings, handlers={"slow": Slow(TaskStore(database), blobs)})
    finally:
        await blobs.close()
        await database.close()


def main() -> None:
    """What `inkweave worker` does, running `slow` tasks."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
