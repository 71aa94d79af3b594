"""A throwaway MariaDB database and password user per test session.

Connects as root over the unix socket (or, failing that, over TCP with an empty password) only to
create them; the code under test then uses TCP with the password user, like production.

`mariadb_database(migrated=True)` creates the tables of the newest migration directly, from the
`SHOW CREATE TABLE` of a database `Database.migrate` built once in this process (from the models,
as on any empty database; tests/storage/test_fresh_schema.py holds that to what the Alembic
revisions build): building it again cost each test about a second under coverage.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncmy

from storage.sql.database import Database

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


_schema: list[str] | None = None  # statements that build the newest schema in the current database


async def _newest_schema() -> list[str]:
    global _schema
    if _schema is None:
        async with mariadb_database() as url:
            database = Database(url)
            try:
                await database.migrate()
            finally:
                await database.close()
            name = url.rsplit("/", 1)[1].split("?")[0]
            admin = await _admin_connection()
            try:
                async with admin.cursor() as cur:
                    await cur.execute(
                        "SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                        (name,),
                    )
                    tables = sorted(row[0] for row in await cur.fetchall())
                    statements = []
                    for table in tables:
                        await cur.execute(f"SHOW CREATE TABLE `{name}`.`{table}`")
                        statements.append((await cur.fetchone())[1])
                    await cur.execute(f"SELECT version_num FROM `{name}`.alembic_version")
                    for (version,) in await cur.fetchall():
                        statements.append(
                            f"INSERT INTO alembic_version (version_num) VALUES ('{version}')"
                        )
            finally:
                admin.close()
        _schema = statements
    return _schema


@asynccontextmanager
async def mariadb_database(*, migrated: bool = False) -> AsyncIterator[str]:
    """Yield a `mysql+asyncmy://` URL of a fresh database, dropped afterwards: empty, or with
    the tables of the newest migration (`migrated`)."""
    schema = await _newest_schema() if migrated else []
    suffix = secrets.token_hex(4)
    name, user, password = f"inkweave_test_{suffix}", f"iw_{suffix}", secrets.token_hex(12)
    admin = await _admin_connection()
    try:
        async with admin.cursor() as cur:
            await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            if schema:
                await cur.execute(f"USE `{name}`")
                await cur.execute("SET FOREIGN_KEY_CHECKS = 0")  # tables in any order
                for statement in schema:
                    await cur.execute(statement)
                await cur.execute("SET FOREIGN_KEY_CHECKS = 1")
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
