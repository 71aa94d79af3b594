"""The machine the benchmark runs on: what it is, and how busy other work keeps it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paths import BENCH, REPO
from progress import log

NODE_PACKAGES = (
    "yjs",
    "y-websocket",
    "ws",
    "@y/websocket-server",
    "@hocuspocus/server",
    "@hocuspocus/provider",
)


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (/proc/stat; 0 where unreadable)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / 100


def busy_share(cpu_s: float, wall_s: float) -> float:
    """`cpu_s` CPU seconds spent in `wall_s` seconds, as a percentage of the whole machine."""
    return 100 * cpu_s / max(1e-9, wall_s * (os.cpu_count() or 1))


def noise_pct(runs: Sequence[Mapping[str, Any]]) -> float:
    """The share of the machine that other processes used during `runs`.

    Each run carries `wall_s` and `others_cpu_s`.
    """
    return busy_share(sum(r["others_cpu_s"] for r in runs), sum(r["wall_s"] for r in runs))


def wait_quiet(limit_s: float, threshold: float = 0.10) -> None:
    """Wait (at most `limit_s`) until the machine has been under `threshold` busy for 3 s."""
    if limit_s <= 0:
        return
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + limit_s
    quiet = 0
    while time.monotonic() < deadline:
        before = machine_busy()
        time.sleep(1)
        share = (machine_busy() - before) / cores
        quiet = quiet + 1 if share < threshold else 0
        if quiet >= 3:
            return
    log(f"machine still busy after {limit_s:.0f} s of waiting; measuring anyway")


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    """CPU, interpreter and package versions, and the repo's commit, for the raw results."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {}
    with contextlib.suppress(OSError, ValueError):
        lock = json.loads((BENCH / "package-lock.json").read_text())
        for pkg in NODE_PACKAGES:
            versions[pkg] = lock["packages"][f"node_modules/{pkg}"]["version"]
    return {
        "inkweave_commit": _git("rev-parse", "--short", "HEAD"),
        "inkweave_tree_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "node": node,
        "packages": versions,
    }
