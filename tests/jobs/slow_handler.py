"""A test-only task kind, `slow`, for `inkweave worker` subprocesses (imported before `main`).

It starts, reports 20 %, then holds until the test creates the file `release` in the task's
`traces` folder, so a test can kill its worker mid-task without racing the task's end. It leaves
traces a test can count: a file per start, a line per completion, one blob.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jobs.registry import register_handler
from tests.support.waiting import eventually

HOLD_S = 600.0


async def slow(parts: Any, task_id: str) -> None:
    if not await parts.tasks.start(task_id):
        return
    task = await parts.tasks.get(task_id)
    traces = Path(task.params["traces"])
    (traces / f"start-{os.getpid()}-{task.attempts}").touch()
    await parts.tasks.progress(task_id, 20)
    release = traces / "release"
    await eventually(release.exists, timeout=HOLD_S, what=f"{release} to appear")
    await parts.tasks.progress(task_id, 90)
    await parts.blobs.put(f"slow/{task_id}.bin", f"done by {os.getpid()}".encode(), "text/plain")
    if await parts.tasks.complete(task_id, {"pid": os.getpid()}):
        with (traces / "completions").open("a") as log:
            log.write(f"{os.getpid()}\n")


register_handler("slow", slow)
