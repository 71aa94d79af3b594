"""A MongoDB-compatible server for the tests: SecantusDB, started once per test session.

SecantusDB (PyPI `secantusdb`, GPL-2.0-only) is a test-time dependency only: it runs as a separate
`secantusd-py` process (its own interpreter, so its threads do not share the tests' GIL), and
nothing here imports it. Set `INKWEAVE_TEST_MONGO_URL` to test against another server instead (a
real `mongod` replica set, say). Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from .waiting import eventually_sync

URL_VARIABLE = "INKWEAVE_TEST_MONGO_URL"
_LISTENING = re.compile(rb"listening on ([\d.]+):(\d+)")


class SecantusServer:
    """One `secantusd-py` process on a data directory of its own.

    `journal=False` is the fast test mode (SECANTUS_TEST_FAST_STORAGE: no checkpoints, no
    per-commit fsync unless a write asks for j=True). `journal=True` is how production runs it:
    SECANTUS_FORCE_DURABLE=1 (journal + checkpoints) and `--sync-on-commit` (every commit
    fsyncs the journal before it is acknowledged). `kill` and `start` again on the same
    directory and port: a crash and a recovery.
    """

    def __init__(self, *, journal: bool = False, port: int = 0) -> None:
        executable = Path(sys.executable).with_name("secantusd-py")
        if not executable.exists():
            found = shutil.which("secantusd-py")
            if found is None:
                # A missing test server must fail, not skip: the dev extra installs it.
                pytest.fail("SecantusDB is not installed: pip install -e '.[dev]'")
            executable = Path(found)
        self.executable = executable
        self.journal = journal
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="inkweave-secantus-"))
        self.log_path = self.directory / "secantusd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> SecantusServer:
        env = {**os.environ}
        if self.journal:
            env.pop("SECANTUS_TEST_FAST_STORAGE", None)
            env["SECANTUS_FORCE_DURABLE"] = "1"
        else:
            env["SECANTUS_TEST_FAST_STORAGE"] = "1"
        command = [
            str(self.executable),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.directory / "data"),
            "--log-level",
            "INFO",
        ]
        if self.journal:
            command.append("--sync-on-commit")
        self.log_path.write_bytes(b"")  # a restart's "listening" line is the one to find
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        try:
            host, port = eventually_sync(self._listening, what="SecantusDB listening")
        except AssertionError:
            output = self.log_path.read_text(errors="replace")[-4000:]
            self.stop()
            raise RuntimeError(f"SecantusDB did not start:\n{output}") from None
        self.port = int(port)
        self.url = f"mongodb://{host}:{port}/?directConnection=true"
        return self

    def _listening(self) -> tuple[str, str] | None:
        match = _LISTENING.search(self.log_path.read_bytes())
        if match:
            return match.group(1).decode(), match.group(2).decode()
        assert self.process is not None and self.process.poll() is None, "SecantusDB exited"
        return None

    def kill(self) -> None:
        """`kill -9`: the server gets no chance to checkpoint or flush anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies (even by `kill -9`)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


_servers: dict[bool, SecantusServer] = {}


def mongo_url(*, journal: bool = False) -> str:
    """The shared test server's URL; SecantusDB is started on first use and stopped at exit.

    `journal=True` gives a second shared server that runs with its journal on (see
    `SecantusServer`), for the durability tests. `INKWEAVE_TEST_MONGO_URL` replaces both.
    """
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    if journal not in _servers:
        server = SecantusServer(journal=journal).start()
        _servers[journal] = server
        atexit.register(server.remove)
    return _servers[journal].url


@asynccontextmanager
async def mongo_database(*, journal: bool = False) -> AsyncIterator[tuple[str, str]]:
    """Yield `(url, database name)` of a fresh database, dropped afterwards."""
    url = mongo_url(journal=journal)
    name = f"inkweave_test_{secrets.token_hex(6)}"
    try:
        yield url, name
    finally:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
        try:
            await client.drop_database(name)
        finally:
            await client.close()
