"""CPU seconds of the server, the watcher, this process and the machine over a measured window."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil
from machine import busy_share, machine_busy


@dataclass
class CpuSnapshot:
    """CPU seconds so far, at monotonic time `at`."""

    at: float
    server: float
    watcher: float
    bench: float
    machine_busy: float


class Cpu:
    """CPU seconds of the server, the watcher, this process and the whole machine."""

    def __init__(self, server_pid: int, watcher_pid: int) -> None:
        self.server = psutil.Process(server_pid)
        self.watcher = psutil.Process(watcher_pid)
        self.bench = psutil.Process()

    @staticmethod
    def _seconds(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    def snapshot(self) -> CpuSnapshot:
        return CpuSnapshot(
            time.monotonic(),
            self._seconds(self.server),
            self._seconds(self.watcher),
            self._seconds(self.bench),
            machine_busy(),
        )


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Server CPU, and the machine's CPU spent by anything else (noise) as a share of it."""
    wall = after.at - before.at
    ours = sum(
        getattr(after, name) - getattr(before, name) for name in ("server", "watcher", "bench")
    )
    others = max(0.0, after.machine_busy - before.machine_busy - ours)
    return {
        "wall_s": wall,
        "server_cpu_s": after.server - before.server,
        "watcher_cpu_s": after.watcher - before.watcher,
        "bench_cpu_s": after.bench - before.bench,
        "others_cpu_s": others,
        "noise_pct": busy_share(others, wall),
    }
