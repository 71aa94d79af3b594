"""Whether a database's schema is already at the newest migration, told without Alembic.

Loading Alembic costs a server start more CPU and memory than everything it does when there is
nothing to upgrade, which is every start but the first. So `Database.migrate` asks here first and
hands over to Alembic whenever the answer is not a plain yes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSIONS = Path(__file__).with_name("migrations") / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps

_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def head_revision(versions: Path = VERSIONS) -> str | None:
    """The newest revision among the migration files: the one no other revises. None when that
    is not plain (several heads, a file whose revision lines this reader does not know)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        revised.update(_QUOTED.findall(down.group(1)))  # None, "0001" or ("0003", "0004")
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def at_head(connection: Connection) -> bool:
    """Whether the database behind `connection` records exactly the newest revision."""
    head = head_revision()
    if head is None or not inspect(connection).has_table(VERSION_TABLE):
        return False
    recorded = connection.execute(text("SELECT version_num FROM alembic_version"))
    return list(recorded.scalars()) == [head]
