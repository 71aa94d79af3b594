"""`inkweave serve` as a real subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from .schema import migrated_sqlite
from .waiting import DEADLINE_S, eventually_sync


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        env: dict[str, str] | None = None,
        migrated: bool = False,
        measured: bool = True,
    ) -> None:
        """`migrated`: a new data dir starts with its database at the newest migration (a copy,
        `tests.support.schema`) rather than migrated by the server as it starts. `measured`:
        under `make test` the server's lines count towards coverage; a load test whose paths
        other tests cover turns it off (tracing doubled such a server's CPU)."""
        self.data_dir = data_dir
        self.migrated = migrated
        self.measured = measured
        self.port = free_port()
        self.env = {
            "INKWEAVE_AUTH": "off",
            "INKWEAVE_LOG_LEVEL": "WARNING",
            "INKWEAVE_WORKERS": "1",  # one process unless a test is about several
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sync_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sync"

    def start(self, timeout: float = DEADLINE_S) -> ServerProcess:
        env = {**os.environ, **self.env}
        if not self.measured:
            env.pop("COVERAGE_PROCESS_CONFIG", None)  # what coverage's `patch = subprocess` sets
        database = self.data_dir / "inkweave.sqlite3"
        if self.migrated and "INKWEAVE_DATABASE_URL" not in env and not database.exists():
            migrated_sqlite(database)
        log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            eventually_sync(self._ready, timeout=timeout, interval=0.1, what="server ready")
        except AssertionError:
            raise TimeoutError(
                f"server did not become ready:\n{self.log_path.read_text()}"
            ) from None
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{self.http_url}/readyz", timeout=10) as response:
                return response.status == 200
        except OSError:  # not listening yet, or 503 while its stores start
            return False

    def kill(self) -> None:
        """`kill -9`: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.http_url}/metrics", timeout=5) as response:
            return response.read().decode()
