"""A throwaway MariaDB database and password user per test session.

Connects as root over the unix socket (or, failing that, over TCP with an empty password) only to
create them; the code under test then uses TCP with the password user, like production.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncmy

SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")
HOST = os.environ.get("INKWEAVE_TEST_MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("INKWEAVE_TEST_MYSQL_PORT", "3306"))


async def _admin_connection() -> asyncmy.Connection:
    errors = []
    for sock in SOCKETS:
        if Path(sock).exists():
            try:
                return await asyncmy.connect(unix_socket=sock, user="root")
            except Exception as exc:
                errors.append(f"{sock}: {exc}")
    try:
        return await asyncmy.connect(host=HOST, port=PORT, user="root", password="")
    except Exception as exc:
        errors.append(f"{HOST}:{PORT}: {exc}")
    raise RuntimeError("MariaDB is not reachable as root: " + "; ".join(errors))


@asynccontextmanager
async def mariadb_database() -> AsyncIterator[str]:
    """Yield a `mysql+asyncmy://` URL of a fresh database, dropped afterwards."""
    suffix = secrets.token_hex(4)
    name, user, password = f"inkweave_test_{suffix}", f"iw_{suffix}", secrets.token_hex(12)
    admin = await _admin_connection()
    try:
        async with admin.cursor() as cur:
            await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            for host in ("127.0.0.1", "localhost"):
                await cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
                await cur.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'{host}'")
        yield f"mysql+asyncmy://{user}:{password}@{HOST}:{PORT}/{name}?charset=utf8mb4"
    finally:
        async with admin.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            for host in ("127.0.0.1", "localhost"):
                await cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()
