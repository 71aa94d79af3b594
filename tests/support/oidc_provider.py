"""A small but real OpenID Connect provider for tests, under uvicorn in the test's event loop.

It serves discovery, an authorization endpoint that approves `provider.user` at once, a token
endpoint that checks the client, the code, the redirect URI and the PKCE verifier and issues an
RS256 ID token signed with a key made for this provider, the JWKS, and UserInfo.

Set `provider.misbehave` to make it lie in one way (see `Misbehaviour`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .asgi import serving
from .server import free_port


class Misbehaviour(StrEnum):
    TOKEN_ERROR = "token_error"  # the token endpoint answers 400 invalid_grant
    ACCESS_DENIED = "access_denied"  # the authorization endpoint sends back error=access_denied
    WRONG_AUDIENCE = "wrong_audience"  # aud is another client
    WRONG_ISSUER = "wrong_issuer"  # iss is another provider
    WRONG_NONCE = "wrong_nonce"  # nonce is not the one asked for
    NO_NONCE = "no_nonce"  # nonce left out
    EXPIRED = "expired"  # exp an hour ago
    BAD_SIGNATURE = "bad_signature"  # signed by another key under the published key's kid
    UNKNOWN_KEY = "unknown_key"  # signed by a key the JWKS does not have
    UNSIGNED = "unsigned"  # alg "none"
    NO_ID_TOKEN = "no_id_token"  # a plain OAuth answer without id_token


@dataclass
class ProviderUser:
    sub: str = "alice-0001"
    email: str | None = "alice@example.org"
    email_verified: bool | str = True
    preferred_username: str | None = "alice"
    name: str | None = "Alice Liddell"


@dataclass
class TokenRequest:
    """What a client sent to the token endpoint: for assertions."""

    auth_method: str
    form: dict[str, str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class OidcProvider:
    client_id: str = "inkweave-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    user: ProviderUser = field(default_factory=ProviderUser)
    #: Leave email and email_verified out of the ID token; only UserInfo tells them.
    email_in_userinfo_only: bool = False
    misbehave: Misbehaviour | None = None
    redirect_uris: set[str] = field(default_factory=set)
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: _signing_key("test-key-1"))
    token_requests: list[TokenRequest] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _access_tokens: dict[str, ProviderUser] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks),
                Route("/userinfo", self._userinfo),
            ]
        )

    # ---- endpoints ---------------------------------------------------------------------------

    async def _discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": list(self.auth_methods),
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
            }
        )

    async def _jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        # Errors about the client or redirect URI are shown, not redirected (RFC 6749 4.1.2.1).
        if q.get("client_id") != self.client_id:
            return _oauth_error("invalid_request", "unknown client_id")
        if redirect_uri not in self.redirect_uris:
            return _oauth_error("invalid_request", f"unregistered redirect_uri {redirect_uri}")
        state = q.get("state")
        problem = None
        if q.get("response_type") != "code":
            problem = "response_type must be code"
        elif "openid" not in q.get("scope", "").split():
            problem = "scope must include openid"
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problem = "PKCE with S256 is required"
        elif not state or not q.get("nonce"):
            problem = "state and nonce are required"
        if problem:
            return _back(
                redirect_uri, error="invalid_request", error_description=problem, state=state
            )
        if self.misbehave == Misbehaviour.ACCESS_DENIED:
            return _back(redirect_uri, error="access_denied", state=state)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "redirect_uri": redirect_uri,
            "code_challenge": q["code_challenge"],
            "nonce": q["nonce"],
            "user": ProviderUser(**asdict(self.user)),
            "expires": time.time() + 60,
        }
        return _back(redirect_uri, code=code, state=state)

    async def _token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        method, client_id, client_secret = self._client_auth(request, form)
        self.token_requests.append(TokenRequest(method, form))
        if method not in self.auth_methods:
            return _oauth_error("invalid_client", f"{method} is not accepted", 401)
        if client_id != self.client_id or client_secret != self.client_secret:
            return _oauth_error("invalid_client", "wrong client credentials", 401)
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", form.get("grant_type", ""))
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant["expires"] < time.time():
            return _oauth_error("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _oauth_error("invalid_grant", "redirect_uri differs from the authorization")
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]:
            return _oauth_error("invalid_grant", "PKCE verification failed")
        if self.misbehave == Misbehaviour.TOKEN_ERROR:
            return _oauth_error("invalid_grant", "the code was revoked")
        user: ProviderUser = grant["user"]
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = user
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "openid email profile",
        }
        if self.misbehave != Misbehaviour.NO_ID_TOKEN:
            body["id_token"] = self.id_token(user, grant["nonce"])
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        user = self._access_tokens.get(header.removeprefix("Bearer ").strip())
        if user is None:
            return _oauth_error("invalid_token", "unknown access token", 401)
        return JSONResponse({k: v for k, v in asdict(user).items() if v is not None})

    # ---- helpers -----------------------------------------------------------------------------

    def _client_auth(self, request: Request, form: dict[str, str]) -> tuple[str, str, str]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return "client_secret_basic", unquote(client_id), unquote(secret)
        if "client_secret" in form:
            return "client_secret_post", form.get("client_id", ""), form["client_secret"]
        return "none", form.get("client_id", ""), ""

    def id_token(self, user: ProviderUser, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": nonce,
        }
        if not self.email_in_userinfo_only:
            claims.update(email=user.email, email_verified=user.email_verified)
        claims.update(preferred_username=user.preferred_username, name=user.name)
        claims = {k: v for k, v in claims.items() if v is not None}
        key, kid = self.key, self.key.kid
        match self.misbehave:
            case Misbehaviour.WRONG_AUDIENCE:
                claims["aud"] = "some-other-client"
            case Misbehaviour.WRONG_ISSUER:
                claims["iss"] = "https://impostor.example"
            case Misbehaviour.WRONG_NONCE:
                claims["nonce"] = secrets.token_urlsafe(16)
            case Misbehaviour.NO_NONCE:
                del claims["nonce"]
            case Misbehaviour.EXPIRED:
                claims.update(iat=now - 7200, exp=now - 3600, auth_time=now - 7200)
            case Misbehaviour.BAD_SIGNATURE:
                key = _other_key()
            case Misbehaviour.UNKNOWN_KEY:
                key, kid = _other_key(), "not-published"
            case Misbehaviour.UNSIGNED:
                header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
                return f"{header}.{_b64url(json.dumps(claims).encode())}."
        return jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)


_OTHER_KEY: list[RSAKey] = []


def _other_key() -> RSAKey:
    """A key nobody publishes: made once, on first use."""
    if not _OTHER_KEY:
        _OTHER_KEY.append(_signing_key("other"))
    return _OTHER_KEY[0]


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _back(redirect_uri: str, **params: str | None) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


@asynccontextmanager
async def running_provider(provider: OidcProvider | None = None) -> AsyncIterator[OidcProvider]:
    """Serve `provider` (a new one by default) on 127.0.0.1 until the block ends."""
    provider = provider or OidcProvider()
    async with serving(provider.app(), provider.port):
        yield provider
