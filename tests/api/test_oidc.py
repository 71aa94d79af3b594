"""Sign-in with OpenID Connect against a real (local) provider, on SQLite and MariaDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.services.oidc import STATE_TTL_S, _username_candidates, derive_username, safe_redirect
from api.services.usernames import is_username
from api.settings import Settings
from storage.kv.memory import MemoryKeyValue
from storage.sql.models import OidcIdentity, User
from tests.support.api import Api
from tests.support.clock import ManualClock
from tests.support.inprocess import RunningApp, running_app
from tests.support.oidc_provider import Misbehaviour, OidcProvider, ProviderUser, running_provider

LOGIN = "/api/v1/auth/oidc/login"
CALLBACK = "/api/v1/auth/oidc/callback"


@dataclass
class World:
    app: RunningApp
    provider: OidcProvider
    http: httpx.AsyncClient
    api: Api

    async def authorize(self, redirect: str = "/works") -> httpx.URL:
        """Login, then the provider's approval: the callback URL the browser is sent to."""
        login = await self.http.get(LOGIN, params={"redirect": redirect})
        assert login.status_code == 302, login.text
        approved = await self.http.get(login.headers["location"])
        assert approved.status_code == 302, approved.text
        return httpx.URL(approved.headers["location"])

    async def sign_in(self) -> httpx.Response:
        return await self.http.get(await self.authorize())

    async def counts(self) -> tuple[int, int]:
        async with self.app.adapters.database.session() as session:
            users = await session.scalar(select(func.count()).select_from(User))
            identities = await session.scalar(select(func.count()).select_from(OidcIdentity))
        return users or 0, identities or 0


@asynccontextmanager
async def oidc_world(
    settings: Settings, provider: OidcProvider | None = None, *, clock: ManualClock | None = None
) -> AsyncIterator[World]:
    """The app signed in through `provider`; with `clock`, its key-value store runs on it."""
    async with running_provider(provider) as provider:
        configured = settings.model_copy(
            update={
                "oidc_issuer": provider.issuer,
                "oidc_client_id": provider.client_id,
                "oidc_client_secret": provider.client_secret,
            }
        )
        kv = MemoryKeyValue(clock=clock) if clock is not None else None
        async with running_app(configured, kv=kv) as app:
            # The app's port is only known now: this is where browsers reach it.
            app.adapters.settings.public_url = app.http_url
            provider.redirect_uris.add(f"{app.http_url}{CALLBACK}")
            async with httpx.AsyncClient(base_url=app.http_url, timeout=30) as http:
                api = Api(app)
                try:
                    yield World(app, provider, http, api)
                finally:
                    await api.close()


def _data(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0, body
    return body["data"]


async def _me(world: World, token: object) -> dict[str, object]:
    me = await world.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    return _data(me)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_full_flow_signs_in_with_working_tokens(settings: Settings, auth_method: str) -> None:
    provider = OidcProvider(auth_methods=(auth_method,))
    async with oidc_world(settings, provider) as world:
        login = await world.http.get(LOGIN, params={"redirect": "/works/7"})
        assert login.status_code == 302
        location = httpx.URL(login.headers["location"])
        assert str(location).startswith(f"{provider.issuer}/authorize?")
        query = location.params
        assert query["response_type"] == "code"
        assert query["client_id"] == provider.client_id
        assert query["redirect_uri"] == f"{world.app.http_url}{CALLBACK}"
        assert set(query["scope"].split()) == {"openid", "email", "profile"}
        assert query["code_challenge_method"] == "S256"
        assert query["state"] and query["nonce"] and query["code_challenge"]
        assert "code_verifier" not in query  # the verifier stays on the server

        approved = await world.http.get(location)
        assert approved.status_code == 302
        callback = httpx.URL(approved.headers["location"])
        assert callback.path == CALLBACK and callback.params["state"] == query["state"]

        data = _data(await world.http.get(callback))
        assert set(data) == {
            "user_id",
            "username",
            "member_level",
            "token",
            "refresh_token",
            "expires_in",
            "redirect",
        }
        assert data["redirect"] == "/works/7"
        assert data["username"] == "alice"
        assert world.provider.token_requests[-1].auth_method == auth_method
        assert world.provider.token_requests[-1].form["code_verifier"]

        me = await _me(world, data["token"])
        assert me["id"] == data["user_id"]
        assert me["email"] == "alice@example.org"
        refreshed = await world.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": data["refresh_token"]}
        )
        assert _data(refreshed)["user_id"] == data["user_id"]
        assert await world.counts() == (1, 1)


async def test_second_sign_in_maps_to_the_same_user(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        first = _data(await world.sign_in())
        world.provider.user.email = "alice.new@example.org"  # the address changed upstream
        world.provider.user.preferred_username = "someone-else"
        second = _data(await world.sign_in())
        assert second["user_id"] == first["user_id"]
        assert second["username"] == first["username"]
        assert second["token"] != first["token"]
        assert await world.counts() == (1, 1)
        async with world.app.adapters.database.session() as session:
            identity = await session.scalar(select(OidcIdentity))
        assert identity is not None
        assert identity.issuer == world.provider.issuer
        assert identity.subject == world.provider.user.sub
        assert identity.email == "alice.new@example.org"


async def test_existing_user_with_verified_email_gets_linked(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        account = await world.api.sign_up("ada")
        world.provider.user = ProviderUser(
            sub="ada-at-idp", email=account.email.upper(), email_verified=True
        )
        data = _data(await world.sign_in())
        assert data["user_id"] == account.id
        assert data["username"] == "ada"
        assert (await _me(world, data["token"]))["id"] == account.id
        assert await world.counts() == (1, 1)
        # ...and from then on the identity alone finds the account.
        world.provider.user.email = None
        assert _data(await world.sign_in())["user_id"] == account.id


async def test_unverified_email_does_not_link(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        account = await world.api.sign_up("bob")
        world.provider.user = ProviderUser(
            sub="mallory", email=account.email, email_verified=False, preferred_username="bob"
        )
        data = _data(await world.sign_in())
        assert data["user_id"] != account.id
        assert data["username"] != "bob" and data["username"].startswith("bob")
        me = await _me(world, data["token"])
        assert me["email"] != account.email  # not the unverified address either
        assert await world.counts() == (2, 1)


async def test_new_user_without_email_gets_a_clean_unique_name(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        world.provider.user = ProviderUser(
            sub="x1", email=None, preferred_username=None, name="Zhang San 张三!"
        )
        first = _data(await world.sign_in())
        assert first["username"] == "Zhang_San_张三"
        world.provider.user = ProviderUser(
            sub="x2", email=None, preferred_username=None, name="Zhang San 张三!"
        )
        second = _data(await world.sign_in())
        assert second["username"] == "Zhang_San_张三-2"
        assert await world.counts() == (2, 2)


async def test_email_from_userinfo_when_the_id_token_has_none(settings: Settings) -> None:
    provider = OidcProvider(email_in_userinfo_only=True)
    async with oidc_world(settings, provider) as world:
        account = await world.api.sign_up("carol")
        provider.user = ProviderUser(sub="carol-idp", email=account.email, email_verified=True)
        assert _data(await world.sign_in())["user_id"] == account.id


async def test_replayed_unknown_and_expired_state_refused(settings: Settings) -> None:
    clock = ManualClock()
    async with oidc_world(settings, clock=clock) as world:
        callback = await world.authorize()
        assert _data(await world.http.get(callback))["user_id"]
        replay = await world.http.get(callback)
        assert replay.status_code == 400, replay.text
        assert "already used" in replay.json()["error"] or "unknown" in replay.json()["error"]

        unknown = await world.http.get(CALLBACK, params={"code": "abc", "state": "made-up"})
        assert unknown.status_code == 400
        assert "state" in unknown.json()["error"]
        missing = await world.http.get(CALLBACK, params={"code": "abc"})
        assert missing.status_code == 400

        # The state lives server-side in the key-value store for STATE_TTL_S; then it is refused.
        kv = world.app.adapters.kv
        expiring = await world.authorize()
        key = f"oidc:state:{expiring.params['state']}"
        clock.advance(STATE_TTL_S - 1)
        pending = await kv.get(key)
        assert pending is not None and "verifier" in pending
        clock.advance(1)
        expired = await world.http.get(expiring)
        assert expired.status_code == 400 and "expired" in expired.json()["error"]

        # Two callbacks racing with one state: exactly one wins.
        racing = await world.authorize()
        both = await asyncio.gather(world.http.get(racing), world.http.get(racing))
        assert sorted(r.status_code for r in both) == [200, 400]

        # A state is spent even when the sign-in fails: it cannot be retried.
        world.provider.misbehave = Misbehaviour.WRONG_NONCE
        failing = await world.authorize()
        assert (await world.http.get(failing)).status_code == 401
        world.provider.misbehave = None
        assert (await world.http.get(failing)).status_code == 400
        assert await world.counts() == (1, 1)


async def test_login_refuses_redirects_off_site(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        for target in ("https://evil.example/", "//evil.example/x", "works", "/\\evil.example"):
            response = await world.http.get(LOGIN, params={"redirect": target})
            assert response.status_code == 400, (target, response.text)
        assert (await world.http.get(LOGIN)).status_code == 302


EXPECTED_DETAIL = {
    Misbehaviour.TOKEN_ERROR: "invalid_grant",
    Misbehaviour.ACCESS_DENIED: "access_denied",
    Misbehaviour.WRONG_AUDIENCE: "aud",
    Misbehaviour.WRONG_ISSUER: "iss",
    Misbehaviour.WRONG_NONCE: "nonce",
    Misbehaviour.NO_NONCE: "nonce",
    Misbehaviour.EXPIRED: "expired",
    Misbehaviour.BAD_SIGNATURE: "signature",
    Misbehaviour.UNKNOWN_KEY: "does not verify",
    Misbehaviour.UNSIGNED: "does not verify",
    Misbehaviour.NO_ID_TOKEN: "id_token",
}


async def test_every_misbehaviour_is_refused_and_creates_no_user(settings: Settings) -> None:
    assert set(EXPECTED_DETAIL) == set(Misbehaviour)
    async with oidc_world(settings) as world:
        for misbehaviour, expected in EXPECTED_DETAIL.items():
            world.provider.misbehave = misbehaviour
            response = await world.sign_in()
            assert response.status_code == 401, (misbehaviour, response.text)
            body = response.json()
            assert body["code"] == 40101, (misbehaviour, body)
            assert expected in body["error"], (misbehaviour, body["error"])
            assert "token" not in body
        assert await world.counts() == (0, 0)
        # The same provider, behaving again, is fine.
        world.provider.misbehave = None
        assert _data(await world.sign_in())["username"] == "alice"


async def test_wrong_client_secret_is_refused(settings: Settings) -> None:
    async with oidc_world(settings) as world:
        world.app.adapters.settings.oidc_client_secret = "not-the-secret"
        response = await world.sign_in()
        assert response.status_code == 401
        assert "invalid_client" in response.json()["error"]
        assert await world.counts() == (0, 0)


async def test_disabled_when_not_configured(api: Api) -> None:
    for path in ("/api/v1/auth/oidc", LOGIN, f"{CALLBACK}?code=a&state=b"):
        response = await api.http.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == 40401


async def test_config_names_the_provider(settings: Settings) -> None:
    settings = settings.model_copy(update={"oidc_name": "Keycloak"})
    async with oidc_world(settings) as world:
        data = _data(await world.http.get("/api/v1/auth/oidc"))
        assert data == {"name": "Keycloak", "login_url": LOGIN}


def test_redirect_and_username_helpers() -> None:
    assert safe_redirect(None) == "/"
    assert safe_redirect("/works?tab=1#x") == "/works?tab=1#x"
    assert derive_username({"email": "j.doe+x@example.org"}) == "j_doe_x"
    assert derive_username({"preferred_username": "x"}) == "user"
    assert derive_username({"preferred_username": "李白"}) == "李白"
    assert len(derive_username({"name": "n" * 80})) == 50


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
@example("··", "")  # nothing but punctuation
@example("林\u200d", "")  # a joiner left at the end
@example("林" * 46 + "\u0928\u200d\u0937林", "")  # a joiner where a variant is cut
def test_a_derived_username_and_each_of_its_variants_keep_to_the_rule(
    preferred: str, name: str
) -> None:
    """Whatever a provider sends: the name made from it, and each one tried when it is taken,
    is one a user could have chosen (`services/usernames.py`)."""
    derived = derive_username({"preferred_username": preferred, "name": name})
    assert is_username(derived)
    assert all(is_username(candidate) for candidate in _username_candidates(derived))
