"""`inkweave migrate --check [--wait S]`: whether the database's schema is at the newest migration,
told without migrating (a Kubernetes initContainer waits on it until the migrate Job is done)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from storage.sql.database import Database
from storage.sql.engine import DriverTimeouts
from storage.sql.revision import at_head, head_revision

log = logging.getLogger("inkweave")

POLL_S = 2.0  # between two looks while waiting


async def schema_at_head(url: str, timeouts: DriverTimeouts | None = None) -> bool:
    database = Database(url, timeouts=timeouts)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(at_head)
    finally:
        await database.close()


def wait_for_head(
    url: str,
    *,
    wait_s: float,
    timeouts: DriverTimeouts | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether the schema is at head, looking again every `POLL_S` for up to `wait_s` (0: once).
    A database that cannot be reached counts as "not yet"."""
    deadline = clock() + wait_s
    while True:
        try:
            if asyncio.run(schema_at_head(url, timeouts)):
                log.info("database schema is at the newest migration (%s)", head_revision())
                return True
            log.info("database schema is not at the newest migration (%s) yet", head_revision())
        except Exception as exc:
            log.warning("could not read the schema's revision: %s", exc)
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(POLL_S, remaining))
