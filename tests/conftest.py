from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.mariadb import mariadb_database
from tests.support.server import ServerProcess
from tests.support.smtp import SmtpInbox, smtp_server

DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A test that asks for it runs twice: on SQLite and on a fresh MariaDB database (dropped
    afterwards). `pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)` keeps one
    test on SQLite alone where SQL is not its subject."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    else:
        async with mariadb_database() as url:
            yield url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `inkweave serve` process with auth off, on a fresh data dir."""
    proc = ServerProcess(tmp_path / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A local SMTP server: its inbox and port."""
    with smtp_server() as running:
        yield running
