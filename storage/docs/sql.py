"""Document store on SQLAlchemy 2 async: SQLite (embedded default) and MySQL/MariaDB (asyncmy).

Tables: `ydoc_updates` (the write-ahead log), `ydoc_snapshots` (one merged state per document,
with a generation number for compare-and-swap), `ydoc_versions` (named states).

Compaction reads the snapshot and log, merges outside any write transaction, then in one short
transaction swaps the snapshot (only if its generation is unchanged) and deletes exactly the log
rows it merged. Appends that arrive meanwhile are other rows and survive; a concurrent compaction
makes the swap fail and this one retries.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..sql.engine import DriverTimeouts, make_engine, sqlite_file, unreachable
from .base import (
    Compaction,
    SnapshotConflict,
    StoredDoc,
    StoreUnavailable,
    VersionInfo,
    VersionNotFound,
    compact_with_retries,
)
from .group_commit import GroupCommitter
from .merge import merged_state, merged_state_off_loop
from .sqlite_thread import SQLiteThread, immediate

log = logging.getLogger(__name__)

_Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
_DOC_NAME_LENGTH = 255
_CREATE_TRIES = 5
_CREATE_PAUSE_S = 0.1


def _lost_a_creation_race(exc: DBAPIError) -> bool:
    """A table another process created meanwhile (SQLite, MySQL 1050), or a new SQLite file
    that process is still switching to WAL."""
    message = str(exc.orig).lower()
    return "already exists" in message or "database is locked" in message


metadata = MetaData()

updates_table = Table(
    "ydoc_updates",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("doc", String(_DOC_NAME_LENGTH), nullable=False, index=True),
    Column("data", _Blob, nullable=False),
    Column("size", Integer, nullable=False),
)

snapshots_table = Table(
    "ydoc_snapshots",
    metadata,
    Column("doc", String(_DOC_NAME_LENGTH), primary_key=True),
    Column("data", _Blob, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

versions_table = Table(
    "ydoc_versions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("doc", String(_DOC_NAME_LENGTH), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("author", String(100), nullable=True),
    Column("data", _Blob, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SQLDocStore:
    def __init__(
        self,
        url: str,
        *,
        group_commit_window_s: float = 0.0,
        group_commit_max_batch: int = 256,
        on_append_batch: Callable[[int, float], None] | None = None,
        timeouts: DriverTimeouts | None = None,
    ) -> None:
        """`timeouts` bound each call to a database server (MySQL/MariaDB)."""
        self._url = url
        self._engine: AsyncEngine = make_engine(url, timeouts=timeouts)
        self._committer: GroupCommitter[tuple[str, bytes]] = GroupCommitter(
            self._write_batch,
            window_s=group_commit_window_s,
            max_batch=group_commit_max_batch,
            on_batch=on_append_batch,
        )
        # On a SQLite file, appends and loads have a thread and a connection each (`sqlite_thread`).
        path = sqlite_file(url)
        self._appends = None if path is None else SQLiteThread(path, "doc-appends")
        self._loads = None if path is None else SQLiteThread(path, "doc-loads")

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def start(self) -> None:
        await self._create_tables()
        for thread in self._threads():
            await thread.start()
        self._committer.start()

    async def _create_tables(self) -> None:
        """Create the tables that are missing. Processes starting together on one new database
        race here: the loser's CREATE finds the table made (or, on a new SQLite file, the file
        locked while the winner switches it to WAL, which SQLite does not wait for); after a
        pause, looking again finds everything there. Any other error is raised at once."""
        for attempt in range(1, _CREATE_TRIES + 1):
            try:
                async with self._engine.begin() as conn:
                    await conn.run_sync(metadata.create_all)
                return
            except (OperationalError, ProgrammingError) as exc:
                if attempt == _CREATE_TRIES or not _lost_a_creation_race(exc):
                    raise
                log.info("another process is creating the document tables; looking again")
                await asyncio.sleep(_CREATE_PAUSE_S * attempt)

    async def close(self) -> None:
        try:
            await self._committer.close()
        finally:
            for thread in self._threads():
                await thread.close()
            await self._engine.dispose()

    def _threads(self) -> list[SQLiteThread]:
        return [thread for thread in (self._appends, self._loads) if thread is not None]

    async def ping(self) -> None:
        with _reachable():
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def append(self, doc: str, *updates: bytes) -> None:
        _check_name(doc)
        if updates:
            await self._committer.submit([(doc, update) for update in updates])

    async def _write_batch(self, batch: list[tuple[str, bytes]]) -> None:
        with _reachable():
            if self._appends is not None:
                rows = [(doc, data, len(data)) for doc, data in batch]
                await self._appends.run(immediate, _SQLITE_APPEND, rows)
                return
            # One hop into SQLAlchemy's sync side per batch: begin, insert and commit inside it.
            async with self._engine.connect() as conn:
                await conn.run_sync(_insert_updates, batch)

    async def load(self, doc: str) -> StoredDoc:
        # One statement: the snapshot and the log as one consistent read (a compaction that
        # commits meanwhile is seen wholly or not at all), in one round trip.
        with _reachable():
            if self._loads is not None:
                rows = await self._loads.run(_read_parts, doc)
            else:
                async with self._engine.connect() as conn:
                    result = await conn.execute(_LOAD, {"doc": doc})
                    rows = [(row.part, row.data) for row in result]
        snapshot = next((data for part, data in rows if part == _SNAPSHOT_PART), None)
        return StoredDoc(snapshot, [data for part, data in rows if part != _SNAPSHOT_PART])

    async def compact(self, doc: str) -> Compaction | None:
        return await compact_with_retries(self._compact_once, doc)

    async def _compact_once(self, doc: str) -> Compaction | None:
        async with self._engine.connect() as conn:
            snapshot_row = (
                await conn.execute(
                    select(snapshots_table.c.data, snapshots_table.c.generation).where(
                        snapshots_table.c.doc == doc
                    )
                )
            ).one_or_none()
            log_rows = (
                await conn.execute(
                    select(updates_table.c.id, updates_table.c.data)
                    .where(updates_table.c.doc == doc)
                    .order_by(updates_table.c.id)
                )
            ).all()
        if not log_rows:
            return None
        old_snapshot = snapshot_row.data if snapshot_row else None
        stored = StoredDoc(snapshot=old_snapshot, updates=[row.data for row in log_rows])
        merged = await merged_state_off_loop(stored, name=doc)
        merged_ids = [row.id for row in log_rows]
        async with self._engine.begin() as conn:
            if snapshot_row is None:
                try:
                    await conn.execute(
                        insert(snapshots_table).values(
                            doc=doc, data=merged, generation=1, updated_at=_now()
                        )
                    )
                except IntegrityError as exc:
                    raise SnapshotConflict(doc) from exc
            else:
                swapped = await conn.execute(
                    update(snapshots_table)
                    .where(
                        snapshots_table.c.doc == doc,
                        snapshots_table.c.generation == snapshot_row.generation,
                    )
                    .values(
                        data=merged,
                        generation=snapshot_row.generation + 1,
                        updated_at=_now(),
                    )
                )
                if swapped.rowcount != 1:
                    raise SnapshotConflict(doc)
            for start in range(0, len(merged_ids), 500):
                await conn.execute(
                    delete(updates_table).where(
                        updates_table.c.id.in_(merged_ids[start : start + 500])
                    )
                )
        before = (len(old_snapshot) if old_snapshot else 0) + stored.log_bytes
        return Compaction(len(merged_ids), before, len(merged))

    async def compaction_candidates(self, min_updates: int, min_bytes: int) -> list[str]:
        query = (
            select(updates_table.c.doc)
            .group_by(updates_table.c.doc)
            .having(
                or_(
                    func.count() >= min_updates,
                    func.sum(updates_table.c.size) >= min_bytes,
                )
            )
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def create_version(self, doc: str, name: str, author: str | None = None) -> VersionInfo:
        _check_name(doc)
        state = merged_state(await self.load(doc), name=doc)
        created_at = _now()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(versions_table).values(
                    doc=doc, name=name, author=author, data=state, created_at=created_at
                )
            )
            (version_id,) = result.inserted_primary_key or (None,)
        return VersionInfo(int(version_id), doc, name, author, created_at, len(state))

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        query = (
            select(
                versions_table.c.id,
                versions_table.c.name,
                versions_table.c.author,
                versions_table.c.created_at,
                func.length(versions_table.c.data).label("size"),
            )
            .where(versions_table.c.doc == doc)
            .order_by(versions_table.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            VersionInfo(row.id, doc, row.name, row.author, _aware(row.created_at), row.size)
            for row in rows
        ]

    async def read_version(self, doc: str, version_id: int) -> bytes:
        query = select(versions_table.c.data).where(
            versions_table.c.doc == doc, versions_table.c.id == version_id
        )
        async with self._engine.connect() as conn:
            data = (await conn.execute(query)).scalar_one_or_none()
        if data is None:
            raise VersionNotFound(f"{doc!r} has no version {version_id}")
        return data

    async def documents(self) -> list[str]:
        names = union(
            select(snapshots_table.c.doc),
            select(updates_table.c.doc),
            select(versions_table.c.doc),
        )
        async with self._engine.connect() as conn:
            return sorted((await conn.execute(names)).scalars())

    async def put_version(self, version: VersionInfo, state: bytes) -> None:
        _check_name(version.doc)
        # An explicit id moves MySQL's AUTO_INCREMENT and SQLite's next rowid past it.
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(versions_table).values(
                    id=version.id,
                    doc=version.doc,
                    name=version.name,
                    author=version.author,
                    data=state,
                    created_at=version.created_at,
                )
            )


_INSERT_UPDATE = insert(updates_table)
# The same insert for the store's own sqlite3 connection: positional (doc, data, size).
_SQLITE_APPEND = str(
    insert(updates_table)
    .values(doc=bindparam("doc"), data=bindparam("data"), size=bindparam("size"))
    .compile(dialect=sqlite.dialect())
)
_SNAPSHOT_PART = 0
_LOAD_PARTS = union_all(
    select(
        literal_column(str(_SNAPSHOT_PART)).label("part"),
        snapshots_table.c.data.label("data"),
        literal_column("0").label("n"),
    ).where(snapshots_table.c.doc == bindparam("doc")),
    select(literal_column("1"), updates_table.c.data, updates_table.c.id).where(
        updates_table.c.doc == bindparam("doc")
    ),
)
_LOAD = _LOAD_PARTS.order_by(_LOAD_PARTS.selected_columns.part, _LOAD_PARTS.selected_columns.n)


_SQLITE_LOAD = str(_LOAD.compile(dialect=sqlite.dialect()))  # positional: the doc, twice


def _read_parts(connection: sqlite3.Connection, doc: str) -> list[tuple[int, bytes]]:
    return [(part, data) for part, data, _n in connection.execute(_SQLITE_LOAD, (doc, doc))]


def _insert_updates(conn: Connection, batch: list[tuple[str, bytes]]) -> None:
    rows = [{"doc": doc, "data": data, "size": len(data)} for doc, data in batch]
    with conn.begin():
        conn.execute(_INSERT_UPDATE, rows)


@contextmanager
def _reachable() -> Iterator[None]:
    """A database out of reach, as the contract's `StoreUnavailable`."""
    try:
        yield
    except DBAPIError as exc:
        if unreachable(exc):
            raise StoreUnavailable(f"document database unreachable: {exc.orig}") from exc
        raise


def _check_name(doc: str) -> None:
    if not doc or len(doc) > _DOC_NAME_LENGTH:
        raise ValueError(f"document names are 1 to {_DOC_NAME_LENGTH} characters")
