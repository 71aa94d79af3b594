"""Process plumbing shared by the benchmark scripts.

A free loopback port, a registry of every process a script started (`stop_all` on exit), one
bounded readiness wait, and `InkweaveNode`: `python -m api serve` on its own data dir.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

HOST = "127.0.0.1"

PROCESSES: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; forget the process."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ValueError):
        PROCESSES.remove(proc)


def stop_all(timeout: float = 10) -> None:
    """Stop every registered process, the latest started first."""
    for proc in PROCESSES[::-1]:  # a copy: stop_process removes from the list
        with contextlib.suppress(Exception):
            stop_process(proc, timeout)


def log_tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file; empty when it cannot be read."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_ready(
    proc: subprocess.Popen[bytes], url: str, *, name: str, log_path: Path, timeout: float
) -> None:
    """Poll `url` until it answers 200; raise if `proc` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} not ready in {timeout} s:\n{log_tail(log_path)}")


class ServerProcess:
    """One server process on a free loopback port, logging to `<log_dir>/<name>-<port>.log`.

    Subclasses say how to start it (`command`, `env`, `cwd`) and when it is ready (`ready_url`).
    """

    name = "server"

    def __init__(self, log_dir: Path, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.log_dir = log_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    @property
    def cwd(self) -> Path | None:
        return None

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ready_url(self) -> str:
        return f"{self.http_url}/"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30) -> None:
        with self.log_path.open("ab") as log_file:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.cwd,
                env=self.env(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        PROCESSES.append(self.proc)
        wait_ready(
            self.proc, self.ready_url, name=self.name, log_path=self.log_path, timeout=timeout
        )

    def stop(self, timeout: float = 10) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout)
            self.proc = None

    def log_tail(self) -> str:
        return log_tail(self.log_path)


ServerT = TypeVar("ServerT", bound=ServerProcess)


@contextlib.contextmanager
def running(server: ServerT) -> Iterator[ServerT]:
    """Start `server`; stop it when the block ends, whatever the way out."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


class InkweaveNode(ServerProcess):
    """`python -m api serve` on a free loopback port with its own data dir.

    The node's environment is the caller's without any INKWEAVE_* variable, then auth off, log
    level WARNING and no socket limit per address (every load client is on 127.0.0.1), then
    `env` (which may override them). `pythonpath` (another source tree)
    goes first on PYTHONPATH. It runs in the data dir's parent, not the repo root: a developer's
    `.env` must not leak in.
    """

    name = "inkweave"

    def __init__(
        self,
        python: str,
        data_dir: Path,
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        pythonpath: Path | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(log_dir, name)
        self.python = python
        self.data_dir = data_dir
        self.extra_env = dict(env or {})
        self.pythonpath = pythonpath

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "api",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INKWEAVE_")}
        if self.pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.pythonpath), *filter(None, [env.get("PYTHONPATH")])]
            )
        return {
            **env,
            "INKWEAVE_AUTH": "off",
            "INKWEAVE_LOG_LEVEL": "WARNING",
            "INKWEAVE_WS_CONNECTIONS_PER_ADDRESS": "0",
            "INKWEAVE_WORKERS": "1",  # one process unless a scenario asks for more
            **self.extra_env,
        }

    @property
    def cwd(self) -> Path:
        return self.data_dir.parent

    @property
    def ready_url(self) -> str:
        return f"{self.http_url}/readyz"

    @property
    def sync_url(self) -> str:
        return f"ws://{HOST}:{self.port}/sync"

    @property
    def metrics_url(self) -> str:
        return f"{self.http_url}/metrics"

    def start(self, timeout: float = 30) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)  # the node's working directory
        super().start(timeout)
