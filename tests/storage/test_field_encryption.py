"""Sensitive columns encrypted at rest (AES-256-GCM): round trips (CJK too), a value bound to
its column, rotation (old keys still decrypt; `inkweave rotate-keys` re-encrypts, plaintext rows
of before included), keyed lookup hashes, and raw rows that hold no plaintext."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text

from api.cli import main
from storage.crypto.fields import (
    FieldKeyError,
    Keyring,
    derived_key,
    new_key_text,
    parse_key,
    use_keyring,
)
from storage.sql.database import Database
from storage.sql.models import OidcIdentity, Order, User

OLD, NEW = new_key_text("k1"), new_key_text("k2")
EMAIL = "黛玉.lin@例子.中国"
REF = "cs_live_a1B2c3D4e5F6"


def test_values_round_trip_and_are_bound_to_their_column() -> None:
    keyring = Keyring([parse_key(NEW)])
    stored = keyring.encrypt(EMAIL, "oidc_identities.email")
    assert stored.startswith("enc1:k2:") and EMAIL not in stored
    assert keyring.decrypt(stored, "oidc_identities.email") == EMAIL
    assert keyring.encrypt(EMAIL, "oidc_identities.email") != stored  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        keyring.decrypt(stored, "orders.provider_ref")
    assert keyring.decrypt("plain@example.com", "users.email") == "plain@example.com"


def test_an_old_key_still_decrypts_and_lookup_hashes_match_under_every_key() -> None:
    before = Keyring([parse_key(OLD)])
    stored = before.encrypt(REF, "orders.provider_ref")
    rotated = Keyring([parse_key(NEW), parse_key(OLD)])
    assert rotated.decrypt(stored, "orders.provider_ref") == REF
    assert rotated.needs_rotation(stored) and not rotated.needs_rotation(
        rotated.encrypt(REF, "orders.provider_ref")
    )
    assert before.lookup_hash(REF) in rotated.lookup_hashes(REF)
    assert rotated.lookup_hash(REF) != before.lookup_hash(REF)
    with pytest.raises(FieldKeyError, match="no field key 'k1'"):
        Keyring([parse_key(NEW)]).decrypt(stored, "orders.provider_ref")
    with pytest.raises(FieldKeyError):
        parse_key("k3:dG9vIHNob3J0")  # not 32 bytes
    assert derived_key("a").key_id != derived_key("b").key_id


async def add_rows(database: Database) -> None:
    async with database.session() as session:
        user = User(username="黛玉", email="d@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        session.add(OidcIdentity(user_id=user.id, issuer="https://id", subject="s", email=EMAIL))
        session.add(
            Order(
                user_id=user.id,
                order_no="IW1",
                level="basic",
                plan_type="month",
                amount=Decimal("9.90"),
                currency="CNY",
                payment_method="stripe",
                provider_ref=REF,
            )
        )


async def raw_values(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        emails = (await connection.execute(text("SELECT email FROM oidc_identities"))).scalars()
        found = list(emails)
        refs = (await connection.execute(text("SELECT provider_ref FROM orders"))).scalars()
        return found + list(refs)


async def readable(database: Database) -> tuple[str | None, str | None]:
    async with database.session() as session:
        email = await session.scalar(select(OidcIdentity.email))
        ref = await session.scalar(select(Order.provider_ref))
    return email, ref


async def test_raw_rows_hold_no_plaintext_and_rotate_keys_re_encrypts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    database = Database(url)
    await database.migrate()
    use_keyring(Keyring([parse_key(OLD)]))
    try:
        await add_rows(database)
        stored = await raw_values(database)
        assert all(value.startswith("enc1:k1:") for value in stored), stored
        assert not any(EMAIL in value or REF in value for value in stored)
        assert await readable(database) == (EMAIL, REF)
        # A row from before the column was encrypted: plaintext, read as it is until rotated.
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE orders SET provider_ref = 'cs_legacy_1'"))
        assert (await readable(database))[1] == "cs_legacy_1"
    finally:
        await database.close()

    monkeypatch.setenv("INKWEAVE_DATABASE_URL", url)
    monkeypatch.setenv("INKWEAVE_FIELD_KEYS", json.dumps([NEW, OLD]))
    await asyncio.to_thread(main, ["rotate-keys", "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert "oidc_identities.email: 1 re-encrypted" in out
    assert "orders.provider_ref: 1 re-encrypted" in out

    database = Database(url)
    try:
        stored = await raw_values(database)
        assert all(value.startswith("enc1:k2:") for value in stored), stored
        assert not any("cs_legacy_1" in value for value in stored)
        use_keyring(Keyring([parse_key(NEW)]))  # the old key can go now
        assert await readable(database) == (EMAIL, "cs_legacy_1")
    finally:
        await database.close()
