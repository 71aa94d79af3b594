"""`inkweave serve` freezes what its start-up made and collects less often (`api/gc_tuning.py`);
its threads share two glibc heaps (`jobs.memory.limit_heaps`).

In a child process: freezing would keep a test worker's own garbage for good.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api.gc_tuning import OLDER_THRESHOLDS, YOUNG_THRESHOLD
from tests.support.heaps import default_allocator_environment

# `uvicorn.Server.run` replaced by: start the app's lifespan, report, stop it.
SERVE_AND_REPORT = """
import asyncio, gc, json, sys
import uvicorn
from api.cli import main
from tests.support.heaps import glibc_heaps

def run(server, sockets=None):
    app = server.config.app
    before = gc.get_freeze_count()

    async def lifespan():
        async with app.router.lifespan_context(app):
            report = {
                "threshold": gc.get_threshold(),
                "frozen_before": before,
                "frozen_after": gc.get_freeze_count(),
                "heaps": glibc_heaps(),
            }
        print(json.dumps(report))

    asyncio.run(lifespan())

uvicorn.Server.run = run
main(["serve", "--data-dir", sys.argv[1], "--workers", "1", "--port", "0"])
"""


def serve_and_report(tmp_path: Path, **allocator: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_REPORT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=default_allocator_environment(**allocator),
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_serve_freezes_what_start_up_made_collects_less_often_and_shares_two_heaps(
    tmp_path: Path,
) -> None:
    report = serve_and_report(tmp_path)
    assert tuple(report["threshold"]) == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    # The lifespan's own objects (engines, pools, caches it filled) are frozen too.
    assert report["frozen_after"] > report["frozen_before"] > 0
    if report["heaps"] is not None:  # glibc
        assert report["heaps"] <= 2


def test_the_operators_own_glibc_heap_setting_wins(tmp_path: Path) -> None:
    report = serve_and_report(tmp_path, MALLOC_ARENA_MAX="4")
    if report["heaps"] is None:
        pytest.skip("not glibc")
    assert report["heaps"] == 4, "serve's threads make more than two heaps; glibc allows four"
