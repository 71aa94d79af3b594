"""Sign-in with an OpenID Connect provider: authorization code flow with PKCE, state and nonce.

`begin` answers the provider's authorization URL and keeps what the callback needs (nonce, PKCE
verifier, where to go afterwards) in the key-value store under a random `state` for ten minutes.
`finish` spends that state once, trades the code at the token endpoint, verifies the ID token
(signature against the provider's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`), then finds or makes
the local user and starts one of our own sessions.

Authlib builds the OAuth requests (authorization URL, token request, client authentication, PKCE);
joserfc checks the ID token. Authlib's httpx integration is not used: on this Authlib it warns on
import (it wants `httpx2`), so requests go out through plain `httpx`.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.lookup import matches
from storage.kv.base import KeyValue
from storage.sql.database import Database
from storage.sql.models import AccountStatus, OidcIdentity, User, same_username

from ..errors import AppError, Err
from ..security.passwords import hash_password
from ..settings import Settings
from .accounts import Accounts, Session
from .usernames import USERNAME_MAX, clean_username, is_username, shortened

log = logging.getLogger(__name__)

STATE_TTL_S = 600
METADATA_TTL_S = 3600
HTTP_TIMEOUT_S = 10.0
LEEWAY_S = 60
CALLBACK_PATH = "/api/v1/auth/oidc/callback"
# Asymmetric algorithms only: a symmetric one would make the client secret a signing key.
ID_TOKEN_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


@dataclass(frozen=True, slots=True)
class SignIn:
    session: Session
    redirect: str


def safe_redirect(value: str | None) -> str:
    """A path on this site, or an error: never a way to send the browser elsewhere."""
    if not value:
        return "/"
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        raise AppError(Err.BAD_REQUEST, "redirect must be a path on this site, like /works")
    return value


def derive_username(claims: dict[str, Any]) -> str:
    """A username from what the provider tells (preferred_username, name, email), cleaned."""
    email = claims.get("email")
    candidates = [
        claims.get("preferred_username"),
        claims.get("nickname"),
        claims.get("name"),
        email.split("@", 1)[0] if isinstance(email, str) else None,
    ]
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        cleaned = clean_username(candidate)
        if is_username(cleaned):
            return cleaned
    return "user"


def _username_candidates(base: str) -> list[str]:
    names = [base]
    for n in range(2, 10):
        suffix = f"-{n}"
        names.append(shortened(base, USERNAME_MAX - len(suffix)) + suffix)
    suffix = f"-{secrets.token_hex(4)}"
    names.append(shortened(base, USERNAME_MAX - len(suffix)) + suffix)
    return [name for name in names if is_username(name)]


def _is_verified(claims: dict[str, Any]) -> bool:
    verified = claims.get("email_verified")
    # Some providers send the JSON string "true" rather than the boolean.
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


@functools.cache
def _tls() -> ssl.SSLContext:
    """Loading the CA bundle takes ~0.1 s: once per process, not once per request."""
    return httpx.create_ssl_context()


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, verify=_tls())


class OidcSignIn:
    def __init__(
        self, database: Database, kv: KeyValue, settings: Settings, accounts: Accounts
    ) -> None:
        self.database = database
        self.kv = kv
        self.settings = settings
        self.accounts = accounts
        if not settings.oidc_issuer:
            raise AppError(Err.NOT_FOUND, "sign-in with OpenID Connect is not configured")
        if not settings.oidc_client_id:
            raise AppError(Err.UPSTREAM, "INKWEAVE_OIDC_CLIENT_ID is not set")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + CALLBACK_PATH

    # ---- provider metadata -------------------------------------------------------------------

    async def _get_json(self, client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _Upstream(f"cannot read the provider's {what} at {url}: {exc}") from None
        if not isinstance(data, dict):
            raise _Upstream(f"the provider's {what} at {url} is not a JSON object")
        return data

    async def _metadata(self, client: httpx.AsyncClient) -> dict[str, Any]:
        key = f"oidc:meta:{self.issuer}"
        cached = await self.kv.get(key)
        if cached:
            return json.loads(cached)
        url = f"{self.issuer}/.well-known/openid-configuration"
        meta = await self._get_json(client, url, "discovery document")
        if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
            raise _Upstream(f"discovery names issuer {meta.get('issuer')!r}, not {self.issuer!r}")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(meta.get(field), str):
                raise _Upstream(f"discovery document has no {field}")
        await self.kv.set(key, json.dumps(meta), METADATA_TTL_S)
        return meta

    async def _jwks(
        self, client: httpx.AsyncClient, meta: dict[str, Any], *, fresh: bool = False
    ) -> KeySet:
        key = f"oidc:jwks:{self.issuer}"
        cached = None if fresh else await self.kv.get(key)
        data = json.loads(cached) if cached else None
        if data is None:
            data = await self._get_json(client, meta["jwks_uri"], "JWKS")
            await self.kv.set(key, json.dumps(data), METADATA_TTL_S)
        try:
            return KeySet.import_key_set(data)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _Upstream(f"the provider's JWKS cannot be read: {exc}") from None

    # ---- the flow ----------------------------------------------------------------------------

    async def begin(self, redirect: str | None) -> str:
        """The provider's authorization URL for a new sign-in."""
        redirect = safe_redirect(redirect)
        async with _http() as client:
            try:
                meta = await self._metadata(client)
            except _Upstream as exc:
                log.warning("OIDC discovery failed: %s", exc)
                raise AppError(Err.UPSTREAM, str(exc)) from None
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        pending = {"nonce": nonce, "verifier": verifier, "redirect": redirect, "iss": self.issuer}
        await self.kv.set(f"oidc:state:{state}", json.dumps(pending), STATE_TTL_S)
        return prepare_grant_uri(
            meta["authorization_endpoint"],
            self.client_id,
            "code",
            redirect_uri=self.redirect_uri,
            scope=self.settings.oidc_scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )

    async def _spend_state(self, state: str | None) -> dict[str, Any]:
        if not state:
            raise AppError(Err.BAD_REQUEST, "state is missing")
        key = f"oidc:state:{state}"
        raw = await self.kv.get(key)
        if raw is None:
            raise AppError(Err.BAD_REQUEST, "unknown or expired state: start the sign-in again")
        # `hit` counts atomically (also in Redis), so only one caller ever spends a state.
        uses, _left = await self.kv.hit(f"oidc:spent:{state}", STATE_TTL_S)
        await self.kv.delete(key)
        if uses > 1:
            raise AppError(Err.BAD_REQUEST, "this sign-in was already used: start it again")
        pending = json.loads(raw)
        if pending.get("iss") != self.issuer:
            raise AppError(Err.BAD_REQUEST, "this sign-in was started for another provider")
        return pending

    async def finish(
        self,
        code: str | None,
        state: str | None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> SignIn:
        pending = await self._spend_state(state)
        if error:
            detail = f"the provider refused the sign-in: {error}"
            if error_description:
                detail += f" ({error_description})"
            raise AppError(Err.UNAUTHENTICATED, detail)
        if not code:
            raise AppError(Err.BAD_REQUEST, "code is missing")
        async with _http() as client:
            try:
                meta = await self._metadata(client)
                tokens = await self._exchange(client, meta, code, pending["verifier"])
                claims = await self._verify_id_token(client, meta, tokens, pending["nonce"])
                if not claims.get("email"):
                    claims = await self._add_userinfo(client, meta, tokens, claims)
            except _Upstream as exc:
                log.warning("OIDC sign-in refused: %s", exc)
                raise AppError(Err.UNAUTHENTICATED, str(exc)) from None
        user = await self._user_for(claims)
        if user.status != AccountStatus.ACTIVE:
            raise AppError(Err.ACCOUNT_DISABLED)
        return SignIn(await self.accounts.start_session(user), pending["redirect"])

    async def _exchange(
        self, client: httpx.AsyncClient, meta: dict[str, Any], code: str, verifier: str
    ) -> dict[str, Any]:
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=verifier,
        )
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url, headers, body = ClientAuth(
            self.client_id, self.client_secret, self._auth_method(meta)
        ).prepare("POST", meta["token_endpoint"], headers, body)
        try:
            response = await client.post(url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise _Upstream(f"the token endpoint cannot be reached: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _Upstream(f"the token endpoint answered {response.status_code} without JSON")
        if response.status_code != 200 or "error" in data:
            reason = data.get("error", response.status_code)
            detail = f"the token endpoint refused the code: {reason}"
            if data.get("error_description"):
                detail += f" ({data['error_description']})"
            raise _Upstream(detail)
        if not isinstance(data.get("id_token"), str):
            raise _Upstream("the token endpoint answered without an id_token")
        return data

    def _auth_method(self, meta: dict[str, Any]) -> str:
        if not self.client_secret:
            return "none"  # a public client: PKCE is its proof
        supported = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in supported:
            return "client_secret_basic"
        if "client_secret_post" in supported:
            return "client_secret_post"
        raise _Upstream(f"the token endpoint supports no client secret method: {supported}")

    async def _verify_id_token(
        self, client: httpx.AsyncClient, meta: dict[str, Any], tokens: dict[str, Any], nonce: str
    ) -> dict[str, Any]:
        advertised = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in advertised if alg in ID_TOKEN_ALGORITHMS] or ["RS256"]
        id_token = tokens["id_token"]
        try:
            token = jwt.decode(id_token, await self._jwks(client, meta), algorithms=algorithms)
        except (JoseError, ValueError):
            # The provider may have rotated its keys: read the JWKS again, once.
            try:
                keys = await self._jwks(client, meta, fresh=True)
                token = jwt.decode(id_token, keys, algorithms=algorithms)
            except (JoseError, ValueError) as exc:
                raise _Upstream(f"the ID token does not verify: {_jose(exc)}") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        if isinstance(claims.get("iss"), str):
            # Issuer URLs are compared without a trailing slash, as configured.
            claims["iss"] = claims["iss"].rstrip("/")
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise _Upstream(f"the ID token is not valid here: {_jose(exc)}") from None
        if len(claims["sub"]) > 255:
            raise _Upstream("the ID token's sub is longer than 255 characters")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise _Upstream("the ID token has several audiences and another party (azp)")
        return claims

    async def _add_userinfo(
        self,
        client: httpx.AsyncClient,
        meta: dict[str, Any],
        tokens: dict[str, Any],
        claims: dict[str, Any],
    ) -> dict[str, Any]:
        """The email from the UserInfo endpoint, for providers that keep it out of ID tokens."""
        endpoint, access_token = meta.get("userinfo_endpoint"), tokens.get("access_token")
        if not isinstance(endpoint, str) or not isinstance(access_token, str):
            return claims
        try:
            response = await client.get(
                endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
            info = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            info = None
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            log.warning("OIDC userinfo unusable for sub %s; signing in without it", claims["sub"])
            return claims
        merged = {k: v for k, v in info.items() if k not in ("iss", "aud", "exp", "iat", "nonce")}
        return {**merged, **claims}

    # ---- local accounts ----------------------------------------------------------------------

    async def _user_for(self, claims: dict[str, Any]) -> User:
        subject = str(claims["sub"])
        email = claims.get("email")
        email = email.strip().lower() if isinstance(email, str) and email.strip() else None
        verified = email is not None and _is_verified(claims)
        secret_hash: str | None = None
        for _attempt in range(3):
            try:
                async with self.database.session() as session:
                    identity = await session.scalar(
                        select(OidcIdentity).where(
                            OidcIdentity.issuer == self.issuer, OidcIdentity.subject == subject
                        )
                    )
                    if identity is not None:
                        if email and identity.email != email[:255]:
                            identity.email = email[:255]
                        user = await session.get(User, identity.user_id)
                        if user is None:  # cannot be: the foreign key cascades
                            raise AppError(Err.INTERNAL, "identity without a user")
                        return user
                    owner = None
                    if email is not None and len(email) <= 100:
                        owner = await session.scalar(select(User).where(matches(User.email, email)))
                    if verified and owner is not None and await self._linkable(session, owner):
                        user = owner
                        log.info("OIDC sign-in linked user %s to %s", user.id, subject)
                    else:
                        secret_hash = secret_hash or await hash_password(secrets.token_urlsafe(32))
                        own_email = verified and owner is None and len(email or "") <= 100
                        user = User(
                            username=await self._free_username(session, derive_username(claims)),
                            email=email if own_email and email else _placeholder_email(),
                            password_hash=secret_hash,
                        )
                        session.add(user)
                        await session.flush()
                        log.info("OIDC sign-in created user %s for %s", user.id, subject)
                    session.add(
                        OidcIdentity(
                            user_id=user.id,
                            issuer=self.issuer,
                            subject=subject,
                            email=email[:255] if email else None,
                        )
                    )
                return user
            except IntegrityError:
                # Someone else signed in with this identity, or took the username, meanwhile.
                continue
        raise AppError(Err.CONFLICT, "the account changed while signing in: try again")

    async def _linkable(self, session: AsyncSession, user: User) -> bool:
        """Whether a verified email may link `user`: not if this provider names them already.

        A user who already has another identity at this provider is not taken over by a second
        one that happens to share the email address.
        """
        other = await session.scalar(
            select(OidcIdentity.id).where(
                OidcIdentity.user_id == user.id, OidcIdentity.issuer == self.issuer
            )
        )
        return other is None

    async def _free_username(self, session: AsyncSession, base: str) -> str:
        # One query per candidate, so that the database's own collation decides what is taken
        # (MariaDB's ignores case and accents; SQLite's does not: the case-folded key does).
        for name in _username_candidates(base):
            taken = await session.scalar(select(User.id).where(same_username(name)).limit(1))
            if taken is None:
                return name
        return f"user-{secrets.token_hex(8)}"


def _placeholder_email() -> str:
    """users.email is unique and required; an unverified address is not ours to claim."""
    return f"oidc-{secrets.token_hex(8)}@users.invalid"


class _Upstream(Exception):
    """The provider answered something we cannot accept."""


def _jose(exc: Exception) -> str:
    if isinstance(exc, JoseError):
        return f"{exc.error}: {exc.description}" if exc.description else exc.error
    return str(exc) or type(exc).__name__
