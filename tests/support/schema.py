"""An SQLite database at the newest migration, made once per test process and copied per test.

Migrating a fresh file runs every Alembic revision (about half a second of CPU, twice that under
coverage); a test whose subject is not the migrations starts from a copy instead. The migrations
themselves are tested from an empty database (`tests/storage/test_migrations.py`, and tests
marked `unmigrated`).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storage.sql.database import migrate_blocking

_lock = threading.Lock()
_template: Path | None = None


def _migrated_template() -> Path:
    global _template
    with _lock:
        if _template is None:
            directory = Path(tempfile.mkdtemp(prefix="inkweave-schema-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "inkweave.sqlite3"
            # In a thread of its own: the caller may be inside a running event loop.
            with ThreadPoolExecutor(1) as thread:
                thread.submit(migrate_blocking, f"sqlite+aiosqlite:///{path}").result()
            leftovers = [p.name for p in directory.iterdir() if p != path]
            assert not leftovers, f"the template's journal was not folded in: {leftovers}"
            _template = path
        return _template


def migrated_sqlite(path: Path) -> str:
    """Put a database at the newest migration at `path`; its `sqlite+aiosqlite` URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_template(), path)
    return f"sqlite+aiosqlite:///{path}"
