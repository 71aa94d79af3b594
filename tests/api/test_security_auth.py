"""Sign-in, tokens and passwords hold against an attacker (issue 15: items 1, 4, 6 and 12).

- Sign-in throttling counts an attempt before its password is verified, so a burst of parallel
  attempts gets no more verifications than the limit.
- A refresh token is spent once, even by parallel refreshes on SQLite (no row locks).
- A password change or reset, disabling an account and "log out everywhere" end every session:
  access and refresh tokens issued before are refused, open sockets close. Logout without a body
  ends the session its access token belongs to. Revocations are kept in SQL and survive a
  restart of the embedded default (no Redis).
- Nothing tells a stranger whether an account exists: registration checks the code first, an
  unknown account costs one argon2 verification like a known one, a password reset answers
  alike for every email.

Real HTTP on SQLite and MariaDB; sockets are the Python y-websocket client and a plain WebSocket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets

from api.security import passwords
from api.settings import Settings
from storage.kv.memory import MemoryKeyValue
from tests.api.test_membership import make_admin
from tests.api.test_security_sockets import chapter_of, notification_socket, opened
from tests.api.test_works import ok, refused
from tests.support.api import PASSWORD, Account, Api, running_api
from tests.support.clock import ManualClock
from tests.support.waiting import DEADLINE_S, eventually
from tests.support.yclient import YClient

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a-brand-new-pass-7"


async def sign_in(api: Api, account: Account, password: str = PASSWORD) -> Account:
    """A second session of `account`: its own access and refresh tokens."""
    data = ok(await api.call("POST", LOGIN, json={"email": account.email, "password": password}))
    return Account(
        account.id, account.username, account.email, data["token"], data["refresh_token"]
    )


async def refresh(api: Api, refresh_token: str) -> httpx.Response:
    return await api.call("POST", REFRESH, json={"refresh_token": refresh_token})


async def assert_ended(api: Api, *sessions: Account) -> None:
    """Each session's access token and refresh token open nothing any more."""
    for session in sessions:
        refused(await api.call("GET", ME, session), 401, 40103)
        assert (await refresh(api, session.refresh_token)).status_code == 401


async def open_socket(api: Api, session: Account) -> YClient:
    owner_doc = await chapter_of(api, session)
    client = await opened(YClient(api.app.sync_url, owner_doc, token=session.token))
    assert client.synced.is_set(), client.close_reason
    return client


async def closed_unauthenticated(client: YClient) -> None:
    await eventually(client.closed.is_set, what="the socket closes")
    assert client.close_code == 4401, (client.close_code, client.close_reason)
    await client.close()


def answer(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    """What a response tells: its status and body, but for the timestamp."""
    body = response.json()
    body.pop("timestamp", None)
    return response.status_code, body


# 1. Throttling under concurrency -------------------------------------------------------------


async def test_parallel_failed_sign_ins_get_no_more_verifications_than_the_limit(
    api: Api,
) -> None:
    limit = api.app.adapters.settings.login_failures_per_15_min
    account = await api.sign_up()
    for _ in range(limit + 1):  # an attempt that succeeds gives its place back
        await sign_in(api, account)
    wrong = {"email": account.email, "password": "not-the-password"}
    burst = await asyncio.gather(*(api.call("POST", LOGIN, json=wrong) for _ in range(24)))
    statuses = sorted(response.status_code for response in burst)
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == 24 - limit, statuses
    right = await api.call("POST", LOGIN, json={"email": account.email, "password": PASSWORD})
    assert right.status_code == 429 and right.json()["code"] == 42902, "locked out"


# 4. Token lifecycle --------------------------------------------------------------------------


async def test_parallel_refreshes_with_one_token_let_exactly_one_through(api: Api) -> None:
    account = await api.sign_up()
    answers = await asyncio.gather(*(refresh(api, account.refresh_token) for _ in range(8)))
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [200] + [401] * 7, statuses
    # The losers reused a spent token: as with any reuse, the whole family ends.
    winner = next(response for response in answers if response.status_code == 200).json()["data"]
    late = Account(account.id, "", "", winner["token"], winner["refresh_token"])
    await assert_ended(api, late)


async def test_a_password_change_ends_every_session_and_closes_its_sockets(api: Api) -> None:
    account = await api.sign_up()
    other_device = await sign_in(api, account)
    socket = await open_socket(api, other_device)
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    ok(await api.call("PUT", "/api/v1/users/me/password", account, json=body))
    await closed_unauthenticated(socket)
    await assert_ended(api, account, other_device)
    again = await sign_in(api, account, NEW_PASSWORD)
    ok(await api.call("GET", ME, again))


async def test_disabling_an_account_ends_its_sessions_for_good(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    socket = await open_socket(api, writer)
    ok(await api.call("POST", f"/api/v1/admin/users/{writer.id}/disable", admin))
    await eventually(socket.closed.is_set, what="the disabled account's socket closes")
    await socket.close()
    ok(await api.call("POST", f"/api/v1/admin/users/{writer.id}/enable", admin))
    # Enabled again, the account signs in anew; nothing issued before the disabling works.
    await assert_ended(api, writer)
    ok(await api.call("GET", ME, await sign_in(api, writer)))


async def test_logout_everywhere_ends_every_session_and_closes_its_sockets(api: Api) -> None:
    account = await api.sign_up()
    laptop, phone = await sign_in(api, account), await sign_in(api, account)
    socket = await open_socket(api, phone)
    inbox = await notification_socket(api, phone)
    assert not isinstance(inbox, int)
    ok(await api.call("POST", "/api/v1/auth/logout-all", laptop))
    await closed_unauthenticated(socket)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:  # the hello's followers, if any, until the close
            await asyncio.wait_for(inbox.recv(), DEADLINE_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    await assert_ended(api, account, laptop, phone)
    ok(await api.call("GET", ME, await sign_in(api, account)))


async def test_logout_without_a_body_ends_the_session_of_its_access_token(api: Api) -> None:
    account = await api.sign_up()
    other_device = await sign_in(api, account)
    ok(await api.call("POST", "/api/v1/auth/logout", account))
    await assert_ended(api, account)
    ok(await api.call("GET", ME, other_device))
    assert (await refresh(api, other_device.refresh_token)).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_revocations_survive_a_restart_without_redis(settings: Settings) -> None:
    assert settings.redis_url is None
    async with running_api(settings) as api:
        account = await api.sign_up()
        logged_out = await sign_in(api, account)
        kept = await sign_in(api, account)
        body = {"refresh_token": logged_out.refresh_token}
        ok(await api.call("POST", "/api/v1/auth/logout", logged_out, json=body))
        await assert_ended(api, logged_out)
    async with running_api(settings) as restarted:  # the same data dir and database
        await assert_ended(restarted, logged_out)
        ok(await restarted.call("GET", ME, kept))
        ok(await restarted.call("POST", "/api/v1/auth/logout-all", kept))
    async with running_api(settings) as again:
        await assert_ended(again, account, kept)


# 6. No enumeration ----------------------------------------------------------------------------


async def test_registration_checks_the_code_before_saying_what_is_taken(api: Api) -> None:
    taken = await api.sign_up()
    wrong_code = "000000"
    for body in (
        {"username": "新来的人", "email": taken.email},  # a taken email
        {"username": taken.username, "email": "new-one@example.com"},  # a taken name
    ):
        attempt = {**body, "password": PASSWORD, "code": wrong_code}
        response = await api.call("POST", "/api/v1/auth/register", json=attempt)
        refused(response, 400, 40002)


class CountingHasher:
    """The app's argon2 hasher, counting its verifications."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return self.inner.verify(password_hash, password)

    def hash(self, password: str) -> str:
        return self.inner.hash(password)


async def test_an_unknown_account_costs_one_argon2_verification_like_a_known_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await api.sign_up()
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    known = await api.call("POST", LOGIN, json={"email": account.email, "password": "nope-nope"})
    assert hasher.verified == 1
    unknown = await api.call(
        "POST", LOGIN, json={"email": "nobody@example.com", "password": "nope-nope"}
    )
    assert hasher.verified == 2, "the unknown account's password was verified too"
    assert answer(known) == answer(unknown)


# 12. Password reset ---------------------------------------------------------------------------


@asynccontextmanager
async def api_on(settings: Settings, clock: ManualClock) -> AsyncIterator[Api]:
    """An app whose key-value store runs on `clock`: code windows end when the test says."""
    async with running_api(settings, kv=MemoryKeyValue(clock=clock)) as api:
        yield api


async def reset(api: Api, email: str, code: str) -> httpx.Response:
    body = {"email": email, "code": code, "new_password": NEW_PASSWORD}
    return await api.call("POST", "/api/v1/auth/password-reset", json=body)


async def ask_code(api: Api, email: str) -> httpx.Response:
    return await api.call(
        "POST", "/api/v1/auth/code", json={"email": email, "purpose": "reset_password"}
    )


async def test_a_password_reset_by_emailed_code_ends_every_session(settings: Settings) -> None:
    clock = ManualClock()
    async with api_on(settings, clock) as api:
        account = await api.sign_up()
        other_device = await sign_in(api, account)
        socket = await open_socket(api, other_device)
        clock.advance(60)  # the sign-up code's minute is over

        stranger = "nobody-here@example.com"
        asked = await ask_code(api, account.email)
        assert (
            answer(asked)
            == answer(await ask_code(api, stranger))
            == (
                200,
                {"code": 0, "message": "success", "data": {"sent": True}},
            )
        )
        again = await ask_code(api, account.email)
        assert answer(again) == answer(await ask_code(api, stranger))
        assert again.status_code == 429, "one code per minute, as for sign-up"

        code = api.last_code(account.email)
        wrong = "000000" if code != "000000" else "111111"
        refused(await reset(api, account.email, wrong), 400, 40002)
        assert answer(await reset(api, account.email, wrong)) == answer(
            await reset(api, stranger, wrong)
        )
        ok(await api.call("GET", ME, account))  # nothing changed yet

        done = await reset(api, account.email, code)
        ok(done)
        assert answer(done) == answer(await reset(api, stranger, api.last_code(stranger)))
        await closed_unauthenticated(socket)
        await assert_ended(api, account, other_device)
        refused(await reset(api, account.email, code), 400, 40002)  # a code is spent once
        old = {"email": account.email, "password": PASSWORD}
        refused(await api.call("POST", LOGIN, json=old), 401, 40102)
        ok(await api.call("GET", ME, await sign_in(api, account, NEW_PASSWORD)))
