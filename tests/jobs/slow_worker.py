"""`inkweave worker` with a test-only task kind, `slow`: `python -m tests.jobs.slow_worker`.

It starts, reports 20 %, then holds until the test creates the file `release` in the task's
`traces` folder, so a test can kill its worker mid-task without racing the task's end. It leaves
traces a test can count: a file per start, a line per completion, one blob.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from api.cli_jobs import run_worker
from api.jobs_setup import TASK_HANDLERS
from api.logs import configure_logging
from api.settings import Settings
from tests.support.waiting import eventually

HOLD_S = 600.0


async def slow(parts: Any, task_id: str) -> bool:
    if not await parts.tasks.start(task_id):
        return False
    task = await parts.tasks.get(task_id)
    traces = Path(task.params["traces"])
    (traces / f"start-{os.getpid()}-{task.attempts}").touch()
    await parts.tasks.progress(task_id, 20)
    release = traces / "release"
    await eventually(release.exists, timeout=HOLD_S, what=f"{release} to appear")
    await parts.tasks.progress(task_id, 90)
    await parts.blobs.put(f"slow/{task_id}.bin", f"done by {os.getpid()}".encode(), "text/plain")
    if not await parts.tasks.complete(task_id, {"pid": os.getpid()}):
        return False
    with (traces / "completions").open("a") as log:
        log.write(f"{os.getpid()}\n")
    return True


def main() -> None:
    """What `inkweave worker` does, with `slow` among the handlers."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_worker(settings, handlers={**TASK_HANDLERS, "slow": slow}))


if __name__ == "__main__":
    main()
