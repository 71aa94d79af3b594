"""A MariaDB server of a test's own, for tests that stop, kill and restart it.

Unlike the shared service (`tests/support/mariadb.py`), which nobody may disturb, this one has
its own data directory, port and socket under a temporary directory. `pause` and `resume` stop
and continue the process (SIGSTOP, SIGCONT: its connections stay open and go silent), `kill` is a
`kill -9`, and `start` again runs it on the same data: a crash and a recovery. `root` connects
over TCP without a password, as `mariadb-install-db` sets it up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncmy

from .secantus import _die_with_parent
from .server import free_port
from .waiting import eventually_sync

BINARIES = ("mariadb-install-db", "mariadbd")
# Small files and buffers: a test server that installs and starts in about a second.
_INNODB = ("--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M")
# Run by root, the server would refuse to start without being told to stay root.
_AS_ROOT = ("--user=root",) if os.geteuid() == 0 else ()


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if _binary(name) is None]


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )


class OwnMariaDB:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="inkweave-mariadb-"))
        self.data = self.directory / "data"
        self.socket = self.directory / "mysqld.sock"
        self.log_path = self.directory / "error.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def install(self) -> OwnMariaDB:
        installer = _binary("mariadb-install-db")
        assert installer is not None, "mariadb-install-db is not installed"
        done = subprocess.run(
            [
                installer,
                "--no-defaults",
                f"--datadir={self.data}",
                *_AS_ROOT,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *_INNODB,
            ],
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        return self

    def start(self) -> OwnMariaDB:
        server = _binary("mariadbd")
        assert server is not None, "mariadbd is not installed"
        self.log_path.write_bytes(b"")  # a restart's "ready for connections" is the one to find
        self.process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                f"--pid-file={self.directory / 'mysqld.pid'}",
                f"--log-error={self.log_path}",
                *_AS_ROOT,
                "--skip-name-resolve",
                *_INNODB,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        eventually_sync(self._ready, what="own MariaDB ready for connections")
        return self

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, (
            "mariadbd exited:\n" + self.log_path.read_text(errors="replace")[-3000:]
        )
        return b"ready for connections" in self.log_path.read_bytes()

    def url(self, database: str) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/{database}?charset=utf8mb4"

    async def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        connection = await asyncmy.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            connection.close()
        return self.url(name)

    def pause(self) -> None:
        """Stopped, not dead: its sockets stay open and nothing answers on them."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """`kill -9`: no shutdown, InnoDB recovers from its redo log at the next start."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
