from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from storage.docs.sql import SQLDocStore
from tests.support.gated_store import GatedStore

Store = TypeVar("Store", bound=SQLDocStore)


@asynccontextmanager
async def started(kind: type[Store], tmp_path: Path) -> AsyncIterator[Store]:
    docs = kind(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    await docs.start()
    try:
        yield docs
    finally:
        await docs.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLDocStore]:
    """A fresh SQLite document store for rooms built by the test itself."""
    async with started(SQLDocStore, tmp_path) as docs:
        yield docs


@pytest.fixture
async def gated_store(tmp_path: Path) -> AsyncIterator[GatedStore]:
    """The same, with appends the test can hold back (`gate`)."""
    async with started(GatedStore, tmp_path) as docs:
        yield docs
