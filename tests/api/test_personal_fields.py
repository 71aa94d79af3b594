"""The account's email and phone, invitation and code emails, and payment ids are stored
encrypted (AES-256-GCM) and found through keyed lookup hashes: the raw rows hold no plaintext,
and sign-up uniqueness (also in another case), sign-in, password reset, invitations claimed at
sign-up, OIDC linking, the admin search and `inkweave set-level` all find them, under keys
rotated without `rotate-keys` (hashes under every key match) and after it. Rows from before
migration 0015 (plaintext, no hash) are found by their plaintext until `rotate-keys` encrypts
and hashes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.cli import main
from api.settings import Settings
from storage.crypto.fields import Keyring, new_key_text, parse_key
from tests.api.test_invitations import invite, register_as
from tests.api.test_membership import buy, make_admin, sandbox
from tests.api.test_oidc import _data, oidc_world
from tests.api.test_works import make_work, ok, refused
from tests.support.api import PASSWORD, Api, running_api
from tests.support.oidc_provider import ProviderUser

OLD, NEW = new_key_text("p1"), new_key_text("p2")
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PERSONAL = ("users", "work_invitations", "verification_codes")
PHONE = "+8613800138000"
DAIYU = "Lin.DaiYu@example.com"  # registers after being invited
BAOCHAI = "Bao.Chai@example.com"  # invited, registers after the keys changed
XIANGYUN = "湘云@例子.中国"  # invited, never registers


def keyed(settings: Settings, *keys: str) -> Settings:
    return settings.model_copy(update={"field_keys": list(keys)})


async def raw_cells(api: Api, tables: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of `tables` as stored, without the models' types."""
    found = {}
    async with api.app.adapters.database.engine.connect() as connection:
        for table in tables:
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).mappings()
            found[table] = [dict(row) for row in rows]
    return found


def plaintexts(cells: dict[str, list[dict[str, Any]]], secrets: Iterable[str]) -> list[str]:
    folded = [secret.lower() for secret in secrets]
    return [
        f"{table}.{column}={value!r}"
        for table, rows in cells.items()
        for row in rows
        for column, value in row.items()
        if isinstance(value, str) and any(secret in value.lower() for secret in folded)
    ]


async def login(api: Api, account: str, password: str = PASSWORD) -> int:
    body = {"email": account, "password": password}
    return (await api.call("POST", "/api/v1/auth/login", json=body)).status_code


async def send_code(api: Api, email: str, purpose: str = "register") -> None:
    # One code a minute per address: this test asks again at once, so the window goes first.
    await api.app.adapters.kv.delete(f"code:{email.lower()}")
    ok(await api.call("POST", "/api/v1/auth/code", json={"email": email, "purpose": purpose}))


async def refused_sign_up(api: Api, username: str, email: str) -> dict[str, Any]:
    await send_code(api, email)
    body = {"username": username, "email": email, "password": PASSWORD}
    body["code"] = api.last_code(email)
    return refused(await api.call("POST", "/api/v1/auth/register", json=body), 409)


async def reset_password(api: Api, email: str, new: str) -> None:
    await send_code(api, email, "reset_password")
    body = {"email": email, "code": api.last_code(email), "new_password": new}
    ok(await api.call("POST", "/api/v1/auth/password-reset", json=body))


async def admin_finds(api: Api, admin: Any, q: str) -> list[int]:
    found = ok(await api.call("GET", "/api/v1/admin/users", admin, params={"q": q}))
    return [item["id"] for item in found["items"]]


async def member_ids(api: Api, owner: Any, work_id: int) -> set[int]:
    members = ok(await api.call("GET", f"/api/v1/works/{work_id}/members", owner))
    return {member["user_id"] for member in members}


async def inkweave(settings: Settings, keys: list[str], *args: str) -> None:
    """A CLI command on the test's database, with these field keys (`main` reads the env)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INKWEAVE_DATABASE_URL", str(settings.database_url))
        env.setenv("INKWEAVE_FIELD_KEYS", json.dumps(keys))
        await asyncio.to_thread(main, [*args, "--data-dir", str(settings.data_dir)])


async def test_personal_fields_are_encrypted_and_found_across_a_key_rotation(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_api(keyed(settings, OLD)) as api:
        admin, owner = await make_admin(api), await api.sign_up()
        ok(await api.call("PATCH", "/api/v1/users/me", owner, json={"phone": PHONE}))
        work_id = (await make_work(api, owner))["id"]
        for email in (DAIYU, BAOCHAI, XIANGYUN):
            assert (await invite(api, owner, work_id, email, "editor")).status_code == 202
        daiyu = await register_as(api, "黛玉", DAIYU)
        assert daiyu.id in await member_ids(api, owner, work_id)  # the invitation was claimed
        assert (await refused_sign_up(api, "黛玉二", "LIN.DAIYU@example.com"))["code"] == 40903
        assert await login(api, DAIYU.lower()) == 200
        assert await admin_finds(api, admin, DAIYU.upper()) == [daiyu.id]
        assert await admin_finds(api, admin, PHONE) == [owner.id]
        assert await admin_finds(api, admin, "daiyu") == []  # whole addresses only
        refused(await api.call("PATCH", "/api/v1/users/me", daiyu, json={"phone": PHONE}), 409)

        cells = await raw_cells(api, PERSONAL)
        assert len(cells["work_invitations"]) == 2 and len(cells["verification_codes"]) >= 3
        assert plaintexts(cells, [DAIYU, BAOCHAI, XIANGYUN, owner.email, PHONE]) == []
        emails = [row["email"] for table in PERSONAL for row in cells[table]]
        assert all(email.startswith("enc1:p1:") for email in emails), emails

    async with running_api(keyed(settings, NEW, OLD)) as api:  # a new key, not yet rotated
        assert await login(api, DAIYU) == 200
        baochai = await register_as(api, "宝钗", BAOCHAI)  # its invitation was hashed under p1
        assert baochai.id in await member_ids(api, owner, work_id)
        assert (await refused_sign_up(api, "黛玉三", DAIYU.lower()))["code"] == 40903
        await reset_password(api, DAIYU, "new-password-8")
        assert await login(api, DAIYU, "new-password-8") == 200
        assert await admin_finds(api, admin, DAIYU) == [daiyu.id]

    capsys.readouterr()
    await inkweave(settings, [NEW, OLD], "rotate-keys")
    assert "users.email: " in capsys.readouterr().out

    async with running_api(keyed(settings, NEW)) as api:  # the old key is gone
        cells = await raw_cells(api, PERSONAL)
        assert plaintexts(cells, [DAIYU, BAOCHAI, XIANGYUN, owner.email, PHONE]) == []
        emails = [row["email"] for table in PERSONAL for row in cells[table]]
        assert all(email.startswith("enc1:p2:") for email in emails), emails
        new_hash = Keyring([parse_key(NEW)]).lookup_hash
        hashes = {row["id"]: row["email_hash"] for row in cells["users"]}
        assert hashes[daiyu.id] == new_hash(DAIYU.lower())

        assert await login(api, DAIYU.upper(), "new-password-8") == 200
        assert await login(api, BAOCHAI) == 200
        assert (await refused_sign_up(api, "黛玉四", DAIYU))["code"] == 40903
        assert await admin_finds(api, admin, DAIYU) == [daiyu.id]
        assert await admin_finds(api, admin, PHONE) == [owner.id]
        again = await invite(api, owner, work_id, XIANGYUN, "viewer")  # found: updated, not added
        assert again.status_code == 202
        listed = ok(await api.call("GET", f"/api/v1/works/{work_id}/invitations", owner))
        assert [(item["email"], item["role"]) for item in listed] == [(XIANGYUN, "viewer")]
        await reset_password(api, DAIYU, "newer-password-9")
        assert await login(api, DAIYU, "newer-password-9") == 200

    await inkweave(settings, [NEW], "set-level", DAIYU.upper(), "premium")
    assert capsys.readouterr().out.strip() == "黛玉 is now premium"


@SQLITE_ONLY
async def test_oidc_links_an_account_whose_email_was_hashed_under_an_older_key(
    settings: Settings,
) -> None:
    async with running_api(keyed(settings, OLD)) as api:
        account = await api.sign_up("ada")
    async with oidc_world(keyed(settings, NEW, OLD)) as world:
        world.provider.user = ProviderUser(
            sub="ada-at-idp", email=account.email.upper(), email_verified=True
        )
        assert _data(await world.sign_in())["user_id"] == account.id
        assert await world.counts() == (1, 1)


@SQLITE_ONLY
async def test_rows_from_before_encryption_are_found_until_rotate_keys_encrypts_them(
    settings: Settings,
) -> None:
    legacy = "Legacy.Reader@example.com"
    async with running_api(keyed(settings, OLD)) as api:
        reader = await api.sign_up()
        async with api.app.adapters.database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE users SET email = :email, email_hash = NULL WHERE id = :id"),
                {"email": legacy.lower(), "id": reader.id},
            )
        assert await login(api, legacy) == 200
        assert (await refused_sign_up(api, "后来者", legacy))["code"] == 40903
    await inkweave(settings, [OLD], "rotate-keys")
    async with running_api(keyed(settings, OLD)) as api:
        (row,) = [r for r in (await raw_cells(api, ["users"]))["users"] if r["id"] == reader.id]
        assert row["email"].startswith("enc1:p1:") and legacy.lower() not in row["email"]
        assert row["email_hash"] == Keyring([parse_key(OLD)]).lookup_hash(legacy.lower())
        assert await login(api, legacy) == 200


@SQLITE_ONLY
async def test_a_refund_finds_its_order_by_the_encrypted_payment_id(settings: Settings) -> None:
    async with running_api(keyed(settings, OLD)) as api:
        buyer = await api.sign_up()
        order = await buy(api, buyer)
        payment_id = f"sbpay_{order['order_no']}"
        (row,) = (await raw_cells(api, ["orders"]))["orders"]
        assert row["provider_payment_id"].startswith("enc1:p1:")
        assert payment_id not in row["provider_payment_id"]
        # A refund that names the payment only (its order number is not ours).
        event = json.loads(
            sandbox(api).event_body(
                order["order_no"], order["amount"], order["currency"], type="payment.refunded"
            )
        )
        event["data"]["order_no"] = "IW-NOT-OURS"
        body = json.dumps(event).encode()
        delivered = await api.http.post(
            "/api/v1/payments/webhooks/sandbox", content=body, headers=sandbox(api).sign(body)
        )
        assert _outcome(delivered) == "refunded"


def _outcome(response: httpx.Response) -> str:
    return str(ok(response)["outcome"])
