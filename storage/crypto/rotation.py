"""Re-encrypt every encrypted column under the keyring's newest key (`inkweave rotate-keys`).

Rows are read and written as stored (the column type is bypassed), a batch per transaction, so
a rotation can stop and start again; a value already under the newest key is left alone, and a
plaintext one (written before its column was encrypted) is encrypted. A column with a lookup
hash (`storage.crypto.lookup`) gets it remade under the newest key too, where it differs (rows
hashed under an older key, or not at all: written before migration 0015).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, String, Table, select, type_coerce, update

from storage.crypto.fields import EncryptedString, Keyring
from storage.crypto.lookup import HASH_SUFFIX
from storage.sql.database import Database
from storage.sql.models import Base

BATCH = 500


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    table: Table
    column: Column[str]
    hash_column: Column[str] | None = None  # its lookup hash, if it has one

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    return [
        EncryptedColumn(
            table,
            column,
            table.columns[column.name + HASH_SUFFIX] if column.type.lookup is not None else None,
        )
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedString)
    ]


async def rotate(
    database: Database, keyring: Keyring, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-encrypt what needs it; how many values changed, per column. `progress(column, n)`
    hears each batch."""
    changed: dict[str, int] = {}
    for target in encrypted_columns():
        changed[target.name] = await _rotate_column(database, keyring, target, progress)
    return changed


async def _rotate_column(
    database: Database,
    keyring: Keyring,
    target: EncryptedColumn,
    progress: Callable[[str, int], None] | None,
) -> int:
    (key,) = target.table.primary_key.columns
    column_type = target.column.type
    assert isinstance(column_type, EncryptedString)
    raw = type_coerce(target.column, String)
    hashed = target.hash_column
    done, after = 0, None
    while True:
        async with database.session() as session:
            query = select(key, raw, hashed if hashed is not None else raw)
            query = query.where(target.column.is_not(None)).order_by(key).limit(BATCH)
            if after is not None:
                query = query.where(key > after)
            rows = (await session.execute(query)).all()
            if not rows:
                return done
            after = rows[-1][0]
            batch = 0
            for row_id, stored, stored_hash in rows:
                values: dict[str, object] = {}
                plain: str | None = None
                if keyring.needs_rotation(stored):
                    plain = keyring.decrypt(stored, column_type.context)
                    fresh = keyring.encrypt(plain, column_type.context)
                    values[target.column.name] = type_coerce(fresh, String)
                if hashed is not None:
                    if plain is None:
                        plain = keyring.decrypt(stored, column_type.context)
                    fresh_hash = keyring.lookup_hash(column_type.lookup_key(plain))
                    if stored_hash != fresh_hash:
                        values[hashed.name] = fresh_hash
                if not values:
                    continue
                await session.execute(update(target.table).where(key == row_id).values(values))
                batch += 1
        done += batch
        if progress is not None and batch:
            progress(target.name, batch)
