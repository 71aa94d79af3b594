"""A test-only task kind, `slow`, for `inkweave worker` subprocesses (imported before `main`).

It leaves traces a test can count: a file per start, a line per completion, one blob.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jobs.registry import register_handler


async def slow(parts: Any, task_id: str) -> None:
    if not await parts.tasks.start(task_id):
        return
    task = await parts.tasks.get(task_id)
    traces = Path(task.params["traces"])
    (traces / f"start-{os.getpid()}-{task.attempts}").touch()
    steps = int(task.params.get("steps", 20))
    for step in range(1, steps + 1):
        await asyncio.sleep(float(task.params.get("step_s", 0.2)))
        await parts.tasks.progress(task_id, 90 * step // steps)
    await parts.blobs.put(f"slow/{task_id}.bin", f"done by {os.getpid()}".encode(), "text/plain")
    if await parts.tasks.complete(task_id, {"pid": os.getpid()}):
        with (traces / "completions").open("a") as log:
            log.write(f"{os.getpid()}\n")


register_handler("slow", slow)
