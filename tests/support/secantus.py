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
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

URL_VARIABLE = "INKWEAVE_TEST_MONGO_URL"
_START_TIMEOUT_S = 30.0
_LISTENING = re.compile(rb"listening on ([\d.]+):(\d+)")


class _SecantusProcess:
    def __init__(self) -> None:
        executable = Path(sys.executable).with_name("secantusd-py")
        if not executable.exists():
            found = shutil.which("secantusd-py")
            if found is None:
                # A missing test server must fail, not skip: the dev extra installs it.
                pytest.fail("SecantusDB is not installed: pip install -e '.[dev]'")
            executable = Path(found)
        self.directory = Path(tempfile.mkdtemp(prefix="inkweave-secantus-"))
        self.log_path = self.directory / "secantusd.log"
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                [
                    str(executable),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--storage-path",
                    str(self.directory / "data"),
                    "--log-level",
                    "INFO",
                ],
                # The journal is off (the server's data dies with the session anyway): a
                # third faster. The store still asks for j=True; SECANTUS_FORCE_DURABLE=1 in
                # the environment turns the journal back on.
                env={**os.environ, "SECANTUS_TEST_FAST_STORAGE": "1"},
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.url = self._wait_for_port()

    def _wait_for_port(self) -> str:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log_path.read_bytes())
            if match:
                host, port = match.group(1).decode(), match.group(2).decode()
                return f"mongodb://{host}:{port}/?directConnection=true"
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        output = self.log_path.read_text(errors="replace")[-4000:]
        self.stop()
        raise RuntimeError(f"SecantusDB did not start:\n{output}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies (even by `kill -9`)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


_server: _SecantusProcess | None = None


def mongo_url() -> str:
    """The test server's URL; SecantusDB is started on first use and stopped at exit."""
    global _server
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    if _server is None:
        _server = _SecantusProcess()
        atexit.register(_server.stop)
    return _server.url


@asynccontextmanager
async def mongo_database() -> AsyncIterator[tuple[str, str]]:
    """Yield `(url, database name)` of a fresh database, dropped afterwards."""
    url = mongo_url()
    name = f"inkweave_test_{secrets.token_hex(6)}"
    try:
        yield url, name
    finally:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
        try:
            await client.drop_database(name)
        finally:
            await client.close()
