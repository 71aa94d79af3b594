from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess
from tests.support.smtp import SmtpInbox, smtp_server


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
