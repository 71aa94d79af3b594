from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.mariadb import mariadb_database
from tests.support.schema import migrated_sqlite
from tests.support.server import ServerProcess
from tests.support.smtp import SmtpInbox, smtp_server

DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A test that asks for it runs twice: on SQLite and on a fresh MariaDB database (dropped
    afterwards). `pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)` keeps one
    test on SQLite alone where SQL is not its subject. Either database starts at the newest
    migration (made without running the revisions again), or empty if the test is marked
    `unmigrated`."""
    migrated = request.node.get_closest_marker("unmigrated") is None
    if request.param == "sqlite":
        path = tmp_path / "inkweave.sqlite3"
        yield migrated_sqlite(path) if migrated else f"sqlite+aiosqlite:///{path}"
    else:
        async with mariadb_database(migrated=migrated) as url:
            yield url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `inkweave serve` process with auth off, on a fresh data dir."""
    proc = ServerProcess(tmp_path / "data", migrated=True).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A local SMTP server: its inbox and port."""
    with smtp_server() as running:
        yield running


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker saves its coverage data as soon as its tests are done.

    Coverage otherwise writes it at interpreter exit, after every non-daemon thread a test left
    behind has been joined; xdist kills a worker that has not exited 10 s after being told to
    (`execnet` `Group.terminate`), and a worker killed then loses everything it measured: on a
    busy machine a whole worker's share of the suite went missing from the report.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        import coverage
    except ImportError:
        return
    measuring = coverage.Coverage.current()
    if measuring is not None:
        measuring.save()
