"""An SQLite database at the newest migration, made once per test process and copied per test.

A test whose subject is not the schema starts from a copy instead of building one. An empty
database is built from the models (`storage/sql/fresh.py`); the Alembic revisions are run from
an empty database by `tests/storage/test_migrations.py` and `tests/storage/test_fresh_schema.py`
(which holds both ways to the same schema), and from older revisions by the tests that upgrade
one (`tests/test_startup_imports.py`, the restore's).
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
