"""Finding rows by the value of an encrypted column, through its keyed hash `<column>_hash`.

The hash is the keyring's HMAC-SHA256 of the value as lookups compare it
(`EncryptedString.lookup_key`: emails lower-cased, as the services always compared them), under
the newest key. A lookup matches the hash under every configured key, so rows hashed before a
rotation are still found; `inkweave rotate-keys` re-hashes them under the newest key.

A row written before its column was encrypted (migration 0015 adds the hash columns empty: a
migration has no keys) holds its plaintext and no hash: a lookup compares that plaintext
directly, until `rotate-keys` encrypts and hashes the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, Table, and_, func, or_, type_coerce
from sqlalchemy.orm import InstrumentedAttribute

from .fields import EncryptedString, keyring

HASH_SUFFIX = "_hash"
HASH_CHARS = 64  # hex HMAC-SHA256


def _encrypted_type(attribute: InstrumentedAttribute[Any]) -> EncryptedString:
    column_type = attribute.expression.type
    if not isinstance(column_type, EncryptedString) or column_type.lookup is None:
        raise TypeError(f"{attribute} is not an encrypted column with a lookup hash")
    return column_type


def lookup_hash(attribute: InstrumentedAttribute[Any], value: str | None) -> str | None:
    """The hash a row stores for `value` in `attribute` (None for None): for writes that bypass
    the models' `keep_hash`, such as a bulk UPDATE."""
    if value is None:
        return None
    return keyring().lookup_hash(_encrypted_type(attribute).lookup_key(value))


def matches(attribute: InstrumentedAttribute[Any], value: str) -> ColumnElement[bool]:
    """The rows whose encrypted `attribute` holds `value` (as lookups compare it)."""
    column_type = _encrypted_type(attribute)
    key = column_type.lookup_key(value)
    hashed = getattr(attribute.class_, attribute.key + HASH_SUFFIX)
    raw = type_coerce(attribute, String)  # the stored text, not encrypted as a parameter
    plain = func.lower(raw) == key if column_type.lookup == "lower" else raw == key
    return or_(hashed.in_(keyring().lookup_hashes(key)), and_(hashed.is_(None), plain))


def keep_hash(instance: Any, field: str, value: str | None) -> str | None:
    """For a model's `@validates`: whenever `field` is set, set `<field>_hash` to match."""
    column_type = instance.__table__.columns[field].type
    assert isinstance(column_type, EncryptedString) and column_type.lookup is not None
    hashed = None if value is None else keyring().lookup_hash(column_type.lookup_key(value))
    setattr(instance, field + HASH_SUFFIX, hashed)
    return value


def hashed_columns(table: Table) -> dict[str, EncryptedString]:
    """The table's encrypted columns that have a lookup hash, by name."""
    return {
        column.name: column.type
        for column in table.columns
        if isinstance(column.type, EncryptedString) and column.type.lookup is not None
    }


def with_hashes(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """`row` (plaintext values) with its lookup hashes made under this process's keys: a row
    restored from a backup may come from a database with other keys."""
    for name, column_type in hashed_columns(table).items():
        if name in row:
            value = row[name]
            row[name + HASH_SUFFIX] = (
                None if value is None else keyring().lookup_hash(column_type.lookup_key(value))
            )
    return row


def plain_before_hashes(table: Table) -> None:
    """Make a table of a schema from before migration 0015 (no hash column yet) store those
    columns' values as they are: that migration expects plaintext rows (a restore of an older
    archive migrates its schema afterwards)."""
    for name in hashed_columns(table):
        if name + HASH_SUFFIX not in table.columns:
            table.columns[name].type = String()
