"""`inkweave worker` as a real subprocess, for the tests that run jobs in another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.waiting import eventually_sync

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("inkweave")
"""The console script `pip install -e .` made: the very command a deployment runs."""


def worker_argv() -> list[str]:
    """`inkweave worker`."""
    return [str(CLI), "worker"]


def slow_worker_argv() -> list[str]:
    """`inkweave worker` that also runs the test-only `slow` tasks (`tests.jobs.slow_worker`)."""
    return [sys.executable, "-m", "tests.jobs.slow_worker"]


def settings_env(values: Mapping[str, object]) -> dict[str, str]:
    """`{"data_dir": ...}` as the `INKWEAVE_*` variables a worker reads its settings from."""
    return {f"INKWEAVE_{key.upper()}": str(value) for key, value in values.items()}


class WorkerProcess:
    def __init__(self, argv: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        logged = {"INKWEAVE_LOG_FORMAT": "text", "INKWEAVE_LOG_LEVEL": "INFO"}
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **logged, **env},
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_started(self) -> None:
        def started() -> bool:
            if self.proc.poll() is not None:  # fail at once, not at the deadline
                raise RuntimeError(f"the worker exited:\n{self.log()}")
            return "worker started" in self.log()

        eventually_sync(started, what=f"`inkweave worker` to start ({self.log_path})")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
