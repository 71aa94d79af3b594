"""Accounts: codes, registration, sign-in, refresh rotation, logout, tampering, limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import OctKey

from api.schemas import LOCALIZED_REASONS
from api.services.accounts import LOGIN_WINDOW_S
from api.services.oidc import derive_username
from api.settings import Settings
from storage.kv.memory import MemoryKeyValue
from storage.sql.models import User
from tests.support.api import PASSWORD, Api, running_api
from tests.support.clock import ManualClock
from tests.support.images import image_bytes, opened


async def test_register_with_an_emailed_code_then_sign_in_by_email_or_username(api: Api) -> None:
    account = await api.sign_up("林黛玉")
    me = await api.call("GET", "/api/v1/users/me", account)
    assert me.status_code == 200
    body = me.json()
    assert body["code"] == 0 and body["message"] == "success"
    assert body["data"]["username"] == "林黛玉"
    assert body["data"]["member_level"] == "free"
    for identity in (account.email, account.username, account.email.upper()):
        login = await api.call(
            "POST", "/api/v1/auth/login", json={"email": identity, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert login.json()["data"]["user_id"] == account.id


async def test_a_username_is_2_to_50_word_characters_hyphens_or_middle_dots(api: Api) -> None:
    """Letters of every script with their marks (composed or not), digits, `_`, `-`, `·` and the
    zero-width joiners between letters that join: the same rule on registration, on a rename, and
    for the names an OpenID Connect sign-in derives (`services/usernames.py`). Nothing that
    displays as nothing, so that no name passes for another."""
    kept = [
        "林·黛玉",
        "Ann-Marie_2",
        "राहुल",  # Devanagari vowel signs are marks
        "สมศักดิ์",
        "مُحَمَّد",
        "Zoe\u0308",  # a decomposed accent
        "می\u200cخواهم",  # a zero-width non-joiner between Persian letters
        "क\u200dष",  # a zero-width joiner inside a Devanagari word
        "林\U00031350",  # CJK extension H: newer than Python 3.11's character database
        "ⒶⒷ",
    ]
    refused = [
        *("a", "a b", "林" * 51, "x@y", "名字!", "ab²", "①②", "__", "··"),
        *("林\n黛玉", "林黛玉\n", "\n林黛玉"),
        *("ad\u200dmin", "林\u200d黛玉", "admin\ufe0f", "ad\u034fmin", "\u3164\u3164"),
        *("\u200d\u200d", "林\u200d"),
    ]
    for username in kept:
        await api.sign_up(username)
    for username in refused:
        await api.call("POST", "/api/v1/auth/code", json={"email": "rule@example.com"})
        body = {
            "username": username,
            "email": "rule@example.com",
            "password": PASSWORD,
            "code": api.last_code("rule@example.com"),
        }
        answer = await api.call("POST", "/api/v1/auth/register", json=body)
        assert answer.status_code == 422, username
        assert answer.json()["fields"][0]["field"] == "username", answer.text
    account = await api.sign_up("राहुल_कुमार")
    for username in refused:
        patch = await api.call("PATCH", "/api/v1/users/me", account, json={"username": username})
        assert patch.status_code == 422, username
    refusal = patch.json()
    assert refusal["fields"] == [{"field": "username", "reason": LOCALIZED_REASONS["username"][0]}]
    assert derive_username({"preferred_username": "Alice 👩\u200d💻"}) == "Alice"
    for candidate in ["李 四!", "Zoë Smith", "Zoe\u0308 Smith", "名·字-x", "राहुल कुमार", "ab²c"]:
        derived = derive_username({"preferred_username": candidate})
        rename = await api.call("PATCH", "/api/v1/users/me", account, json={"username": derived})
        assert rename.status_code == 200, (candidate, derived, rename.text)


async def test_a_name_chosen_under_an_older_rule_does_not_stop_a_profile_save(api: Api) -> None:
    """The web client sends the name with every profile change: one the rule now refuses is
    kept as it is, and only a change of it is checked."""
    account = await api.sign_up()
    async with api.app.adapters.database.session() as session:
        user = await session.get(User, account.id)
        assert user is not None
        user.username = "ad\u034fmin"
    saved = await api.call(
        "PATCH",
        "/api/v1/users/me",
        account,
        json={"username": "ad\u034fmin", "phone": "13800138000"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["phone"] == "13800138000"
    assert saved.json()["data"]["username"] == "ad\u034fmin"
    other = await api.call("PATCH", "/api/v1/users/me", account, json={"username": "ad\ufe0fmin"})
    assert other.status_code == 422


async def test_registration_refuses_a_wrong_code_and_duplicates(api: Api) -> None:
    await api.call("POST", "/api/v1/auth/code", json={"email": "dup@example.com"})
    body = {
        "username": "贾宝玉",
        "email": "dup@example.com",
        "password": PASSWORD,
        "code": "000000",
    }
    if api.last_code("dup@example.com") == "000000":
        body["code"] = "111111"
    wrong = await api.call("POST", "/api/v1/auth/register", json=body)
    assert wrong.status_code == 400 and wrong.json()["code"] == 40002
    body["code"] = api.last_code("dup@example.com")
    assert (await api.call("POST", "/api/v1/auth/register", json=body)).status_code == 201
    spent = await api.call("POST", "/api/v1/auth/register", json=body)
    assert spent.status_code == 400 and spent.json()["code"] == 40002, "the code was spent"
    # A name is said to be taken only to someone who proved an email (test_security_auth).
    await api.call("POST", "/api/v1/auth/code", json={"email": "dup2@example.com"})
    body |= {"email": "dup2@example.com", "code": api.last_code("dup2@example.com")}
    again = await api.call("POST", "/api/v1/auth/register", json=body)
    assert again.status_code == 409 and again.json()["code"] == 40902
    assert (await api.call("POST", "/api/v1/auth/register", json=body)).json()["code"] == 40902


async def test_a_code_is_spent_once_and_wrong_guesses_run_out(api: Api) -> None:
    email = "guess@example.com"
    await api.call("POST", "/api/v1/auth/code", json={"email": email})
    code = api.last_code(email)
    wrong = "000000" if code != "000000" else "111111"
    body = {"username": "猜谜", "email": email, "password": PASSWORD, "code": wrong}
    for _ in range(5):
        assert (await api.call("POST", "/api/v1/auth/register", json=body)).status_code == 400
    body["code"] = code
    exhausted = await api.call("POST", "/api/v1/auth/register", json=body)
    assert exhausted.status_code == 400, "five wrong guesses burn the code"


async def test_validation_errors_name_the_field_in_the_callers_language(api: Api) -> None:
    body = {"username": "x", "email": "not-an-email", "password": "short", "code": "12"}
    zh = await api.call("POST", "/api/v1/auth/register", json=body)
    assert zh.status_code == 422
    payload = zh.json()
    assert payload["code"] == 42201 and payload["message"] == "参数校验失败"
    assert {f["field"] for f in payload["fields"]} >= {"username", "email", "password", "code"}
    assert "email" in payload["error"]
    en = await api.call(
        "POST", "/api/v1/auth/register", json=body, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    assert en.json()["message"] == "Validation failed"


async def test_wrong_password_and_unknown_account_look_the_same(api: Api) -> None:
    account = await api.sign_up()
    wrong = await api.call(
        "POST", "/api/v1/auth/login", json={"email": account.email, "password": "nope-nope"}
    )
    unknown = await api.call(
        "POST", "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == 40102


async def test_refresh_rotates_and_reusing_a_spent_token_revokes_the_family(api: Api) -> None:
    account = await api.sign_up()
    first = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert first.status_code == 200
    second_token = first.json()["data"]["refresh_token"]
    assert second_token != account.refresh_token
    reuse = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert reuse.status_code == 401 and reuse.json()["code"] == 40104
    # The thief's reuse killed the whole family, including the legitimate newer token.
    after = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": second_token})
    assert after.status_code == 401
    # A fresh sign-in starts a new family that works.
    login = await api.call(
        "POST", "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    fresh = login.json()["data"]["refresh_token"]
    assert (
        await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": fresh})
    ).status_code == 200


async def test_logout_revokes_the_access_token_and_the_refresh_family(api: Api) -> None:
    account = await api.sign_up()
    out = await api.call(
        "POST", "/api/v1/auth/logout", account, json={"refresh_token": account.refresh_token}
    )
    assert out.status_code == 200
    me = await api.call("GET", "/api/v1/users/me", account)
    assert me.status_code == 401 and me.json()["code"] == 40103
    refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401


async def test_a_session_logged_out_cannot_log_out_again(api: Api) -> None:
    account = await api.sign_up()
    assert (await api.call("POST", "/api/v1/auth/logout", account)).status_code == 200
    again = await api.call("POST", "/api/v1/auth/logout", account)
    assert again.status_code == 401 and again.json()["code"] == 40103


async def test_tampered_expired_and_wrong_kind_tokens_are_refused(api: Api) -> None:
    account = await api.sign_up()
    header, payload, signature = account.token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    forged = jwt.encode(
        {"alg": "HS256"},
        {"sub": str(account.id), "typ": "access", "exp": int(time.time()) + 60, "jti": "x"},
        OctKey.import_key("not-the-server-secret-at-all-00000000"),
    )
    secret = api.app.adapters.settings.resolved_secret_key()
    expired = jwt.encode(
        {"alg": "HS256"},
        {"sub": str(account.id), "typ": "access", "exp": int(time.time()) - 5, "jti": "y"},
        OctKey.import_key(secret),
    )
    for token in (tampered, forged, expired, account.refresh_token, "garbage"):
        response = await api.call(
            "GET", "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
        assert response.json()["code"] in (40101, 40103)
    assert (await api.call("GET", "/api/v1/users/me")).status_code == 401


async def test_profile_update_password_change_and_avatar(api: Api) -> None:
    account = await api.sign_up()
    other = await api.sign_up()
    taken = await api.call("PATCH", "/api/v1/users/me", account, json={"username": other.username})
    assert taken.status_code == 409
    renamed = await api.call("PATCH", "/api/v1/users/me", account, json={"username": "薛宝钗"})
    assert renamed.json()["data"]["username"] == "薛宝钗"

    wrong = await api.call(
        "PUT",
        "/api/v1/users/me/password",
        account,
        json={"old_password": "wrong-one", "new_password": "another-pass-1"},
    )
    assert wrong.status_code == 400
    changed = await api.call(
        "PUT",
        "/api/v1/users/me/password",
        account,
        json={"old_password": PASSWORD, "new_password": "another-pass-1"},
    )
    assert changed.status_code == 200
    old = await api.call(
        "POST", "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert old.status_code == 401
    refresh = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401, "a password change ends every session"
    login = await api.call(
        "POST", "/api/v1/auth/login", json={"email": account.email, "password": "another-pass-1"}
    )
    account.token = login.json()["data"]["token"]

    png = image_bytes("PNG", (64, 48))
    upload = await api.call(
        "POST", "/api/v1/users/me/avatar", account, files={"file": ("头像.png", png, "image/png")}
    )
    assert upload.status_code == 200, upload.text
    url = upload.json()["data"]["avatar_url"]
    fetched = await api.call("GET", url)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "image/webp"  # re-encoded: see test_security_uploads
    assert opened(fetched.content).size == (64, 48)
    bad = await api.call(
        "POST", "/api/v1/users/me/avatar", account, files={"file": ("x.txt", b"hi", "text/plain")}
    )
    assert bad.status_code == 415 and bad.json()["code"] == 41502


# Limits in time -------------------------------------------------------------------------------
# Windows live in the key-value store; these apps get a memory store on a hand-moved clock, so
# each window is checked at its exact end. Code and token expiry read the wall clock in this
# process, which `time_machine` moves (frozen: nothing elapses unless the test shifts it).

NOON = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@asynccontextmanager
async def app_on(settings: Settings, clock: ManualClock, **changes: Any) -> AsyncIterator[Api]:
    configured = settings.model_copy(update=changes)
    async with running_api(configured, kv=MemoryKeyValue(clock=clock)) as client:
        yield client


async def test_requests_over_the_per_user_limit_get_429_until_the_minute_is_over(
    settings: Settings,
) -> None:
    clock = ManualClock()
    async with app_on(settings, clock, rate_limit_user_per_min=5) as client:
        account = await client.sign_up()
        statuses = [
            (await client.call("GET", "/api/v1/users/me", account)).status_code for _ in range(5)
        ]
        assert statuses == [200] * 5
        limited = await client.call("GET", "/api/v1/users/me", account)
        assert limited.status_code == 429
        assert limited.json()["code"] == 42901
        assert limited.headers["Retry-After"] == "60"
        other = await client.sign_up()
        assert (await client.call("GET", "/api/v1/users/me", other)).status_code == 200
        clock.advance(59.5)
        still = await client.call("GET", "/api/v1/users/me", account)
        assert still.status_code == 429 and still.headers["Retry-After"] == "1"
        clock.advance(0.5)
        assert (await client.call("GET", "/api/v1/users/me", account)).status_code == 200


class CountingKeyValue(MemoryKeyValue):
    """The memory store, counting the calls a request makes to it (each a round trip to Redis
    or to the hub of `serve --workers`)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.calls = 0

    async def hit(self, key: str, window_s: float) -> tuple[int, float]:
        self.calls += 1
        return await super().hit(key, window_s)

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        self.calls += 1
        return [await super(CountingKeyValue, self).hit(key, w) for key, w in hits]


async def test_a_signed_in_request_checks_both_limits_in_one_round_trip(
    settings: Settings,
) -> None:
    kv = CountingKeyValue(ManualClock())
    configured = settings.model_copy(update={"rate_limit_user_per_min": 2})
    async with running_api(configured, kv=kv) as client:
        account = await client.sign_up()
        kv.calls = 0
        assert (await client.call("GET", "/api/v1/users/me", account)).status_code == 200
        assert kv.calls == 1
        assert await kv.get(f"rl:user:{account.id}") == "1"
        assert (await client.call("GET", "/api/v1/users/me", account)).status_code == 200
        refused = await client.call("GET", "/api/v1/users/me", account)
        assert refused.status_code == 429 and kv.calls == 3


async def test_a_request_the_address_refuses_does_not_count_against_the_user(
    settings: Settings,
) -> None:
    kv = MemoryKeyValue(clock=ManualClock())
    configured = settings.model_copy(update={"rate_limit_ip_per_min": 8})
    async with running_api(configured, kv=kv) as client:
        account = await client.sign_up()
        statuses = [
            (await client.call("GET", "/api/v1/users/me", account)).status_code for _ in range(8)
        ]
        assert statuses[-1] == 429, statuses
        served = statuses.count(200)
        assert await kv.get(f"rl:user:{account.id}") == str(served)


async def test_requests_over_the_per_address_limit_get_429_until_the_minute_is_over(
    settings: Settings,
) -> None:
    clock = ManualClock()
    async with app_on(settings, clock, rate_limit_ip_per_min=3) as client:
        statuses = [(await client.call("GET", "/api/v1/users/me")).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        clock.advance(60)
        assert (await client.call("GET", "/api/v1/users/me")).status_code == 401


@pytest.mark.parametrize("identity", ["account", "address"])
async def test_repeated_failed_sign_ins_are_throttled_for_fifteen_minutes(
    settings: Settings, identity: str
) -> None:
    clock = ManualClock()
    async with app_on(settings, clock, login_failures_per_15_min=3) as client:
        account = await client.sign_up()
        right = {"email": account.email, "password": PASSWORD}
        for attempt in range(3):
            target = account.email if identity == "account" else f"nobody{attempt}@example.com"
            bad = await client.call(
                "POST", "/api/v1/auth/login", json={"email": target, "password": "bad"}
            )
            assert bad.status_code == 401
        blocked = await client.call("POST", "/api/v1/auth/login", json=right)
        assert blocked.status_code == 429 and blocked.json()["code"] == 42902
        assert int(blocked.headers["Retry-After"]) == LOGIN_WINDOW_S
        clock.advance(LOGIN_WINDOW_S - 1)
        assert (await client.call("POST", "/api/v1/auth/login", json=right)).status_code == 429
        clock.advance(1)
        assert (await client.call("POST", "/api/v1/auth/login", json=right)).status_code == 200


async def test_one_code_per_address_per_minute(settings: Settings) -> None:
    clock = ManualClock()
    async with app_on(settings, clock) as client:
        body = {"email": "once@example.com"}
        assert (await client.call("POST", "/api/v1/auth/code", json=body)).status_code == 200
        again = await client.call("POST", "/api/v1/auth/code", json=body)
        assert again.status_code == 429 and again.headers["Retry-After"] == "60"
        other = await client.call("POST", "/api/v1/auth/code", json={"email": "b@example.com"})
        assert other.status_code == 200
        clock.advance(60)
        assert (await client.call("POST", "/api/v1/auth/code", json=body)).status_code == 200


async def test_a_code_expires_after_code_ttl_s(api: Api) -> None:
    ttl = api.app.adapters.settings.code_ttl_s
    emails = ("early@example.com", "late@example.com")
    with time_machine.travel(NOON, tick=False) as traveller:
        codes = {}
        for email in emails:
            await api.call("POST", "/api/v1/auth/code", json={"email": email})
            codes[email] = api.last_code(email)

        async def register(email: str) -> int:
            body = {"username": email[:4], "email": email, "password": PASSWORD}
            answer = await api.call(
                "POST", "/api/v1/auth/register", json={**body, "code": codes[email]}
            )
            return answer.status_code

        traveller.shift(ttl - 1)
        assert await register("early@example.com") == 201
        traveller.shift(1)
        assert await register("late@example.com") == 400


async def test_an_access_token_expires_after_access_token_ttl_s(api: Api) -> None:
    ttl = api.app.adapters.settings.access_token_ttl_s
    with time_machine.travel(NOON, tick=False) as traveller:
        account = await api.sign_up()
        traveller.shift(ttl - 1)
        assert (await api.call("GET", "/api/v1/users/me", account)).status_code == 200
        traveller.shift(1)
        expired = await api.call("GET", "/api/v1/users/me", account)
        assert expired.status_code == 401 and expired.json()["code"] == 40101
