from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.docs.sql import SQLDocStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLDocStore]:
    """A fresh SQLite document store for rooms built by the test itself."""
    docs = SQLDocStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    await docs.start()
    yield docs
    await docs.close()
