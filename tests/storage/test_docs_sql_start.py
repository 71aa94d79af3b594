"""Processes starting together on one new database: each creates the document tables it finds
missing, and one that loses the race to another still starts."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import event

from api.settings import Settings
from api.supervisor import prepare_once
from storage.docs.sql import SQLDocStore


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


async def test_a_store_whose_tables_another_process_creates_meanwhile_still_starts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "docs.sqlite3"
    store = SQLDocStore(f"sqlite+aiosqlite:///{path}")
    raced: list[str] = []

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def another_process_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Between this store's look and its CREATE, another process creates the same table.
        if statement.lstrip().startswith("CREATE TABLE") and not raced:
            raced.append(statement)
            with closing(sqlite3.connect(path)) as other:
                other.execute(statement)
                other.commit()

    await store.start()
    try:
        assert raced, "the race was not staged"
        await store.append("第一章", b"\x01")
        assert (await store.load("第一章")).updates == [b"\x01"]
    finally:
        await store.close()
    assert {"ydoc_updates", "ydoc_snapshots", "ydoc_versions"} <= _tables(path)


async def test_the_supervisor_creates_the_document_store_before_its_workers_start(
    tmp_path: Path,
) -> None:
    """N workers creating one new SQLite file together fail: the switch to WAL is not waited
    for. The supervisor makes it once, as it migrates the schema once."""
    settings = Settings(data_dir=tmp_path / "data")
    await prepare_once(settings)
    path = tmp_path / "data" / "docs.sqlite3"
    assert {"ydoc_updates", "ydoc_snapshots", "ydoc_versions"} <= _tables(path)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
