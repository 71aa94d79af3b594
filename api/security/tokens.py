"""JWTs (joserfc, HS256): access tokens, refresh tokens, and document-scoped tokens.

Every token has a `typ`, so a refresh or document token is never accepted as an access token.
Access and refresh tokens carry their account's token generation (`gen`) and their session
(`fam`, the refresh family of one sign-in): the authenticator refuses a token whose generation
is behind the account's (password changed or reset, account disabled, "log out everywhere") or
whose session was revoked (`api/security/revocation.py`), both kept in SQL so they survive a
restart. An access token of no session (issued before sessions existed) is revoked by its id in
the key-value store instead (logout), until it would have expired anyway.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.kv.base import KeyValue

if TYPE_CHECKING:
    from joserfc.jwk import OctKey

ACCESS, REFRESH, DOCUMENT = "access", "refresh", "doc"
# Tokens whose signature was verified, kept with their claims: a client sends the same access
# token with every request for its lifetime, and checking a signature with joserfc costs ~40 µs
# of CPU (twice a request: the rate limit and the authenticator). Only verified tokens are
# kept, compared whole (signature included); the expiry and the kind are checked on every use.
VERIFIED_TOKENS_KEPT = 1024


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Claims:
    subject: int
    kind: str
    token_id: str
    expires_at: float
    family: str | None = None
    doc: str | None = None
    access: str | None = None
    generation: int = 0  # tokens from before generations existed count as generation 0

    @property
    def ends_with_its_session(self) -> bool:
        """An access token of a session (`fam`): refused once that session ends, read in SQL
        with the account. An access token of no session is revoked by its id in the key-value
        store instead (`revoke`, `is_revoked`); a document token by neither."""
        return self.kind == ACCESS and bool(self.family)


class TokenService:
    def __init__(
        self,
        secret: str,
        kv: KeyValue,
        *,
        access_ttl_s: int,
        refresh_ttl_s: int,
        doc_ttl_s: int,
    ) -> None:
        if not secret:
            raise ValueError("the secret that signs tokens must not be empty")
        self._secret = secret
        self._kv = kv
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.doc_ttl_s = doc_ttl_s
        self._verified: dict[str, Claims] = {}

    @functools.cached_property
    def _key(self) -> OctKey:
        # joserfc (with cryptography) loads at the first token, not with an idle server.
        from joserfc.jwk import OctKey

        return OctKey.import_key(self._secret)

    def _issue(self, claims: dict[str, Any], ttl_s: int) -> tuple[str, str]:
        from joserfc import jwt

        now = int(time.time())
        token_id = secrets.token_urlsafe(16)
        payload = {**claims, "jti": token_id, "iat": now, "exp": now + ttl_s}
        return jwt.encode({"alg": "HS256"}, payload, self._key), token_id

    def issue_access(self, user_id: int, *, generation: int = 0, family: str | None = None) -> str:
        claims: dict[str, Any] = {"sub": str(user_id), "typ": ACCESS, "gen": generation}
        if family is not None:
            claims["fam"] = family
        return self._issue(claims, self.access_ttl_s)[0]

    def issue_refresh(self, user_id: int, family: str, *, generation: int = 0) -> tuple[str, str]:
        claims = {"sub": str(user_id), "typ": REFRESH, "fam": family, "gen": generation}
        return self._issue(claims, self.refresh_ttl_s)

    def issue_document(self, user_id: int, doc: str, access: str) -> str:
        """A short-lived token that opens one document only (AI peers, embeds)."""
        claims = {"sub": str(user_id), "typ": DOCUMENT, "doc": doc, "acc": access}
        return self._issue(claims, self.doc_ttl_s)[0]

    def decode(self, token: str, kind: str) -> Claims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if claims.expires_at > time.time():  # an expired one is not kept (nor evicts one)
                if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                    self._verified.pop(next(iter(self._verified)), None)  # the oldest
                self._verified[token] = claims
        if claims.expires_at <= time.time():
            self._verified.pop(token, None)
            raise InvalidToken("token expired")
        if claims.kind != kind:
            raise InvalidToken(f"not an {kind} token")
        return claims

    def _verify(self, token: str) -> Claims:
        """The claims of `token` once its signature is checked: any kind, even expired."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            payload = jwt.decode(token, self._key, algorithms=["HS256"]).claims
        except (JoseError, ValueError) as exc:
            raise InvalidToken("malformed or forged token") from exc
        kind = payload.get("typ")
        if kind not in (ACCESS, REFRESH, DOCUMENT):
            raise InvalidToken("a token of no known kind")
        try:
            subject = int(payload["sub"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("token has no subject") from exc
        generation = payload.get("gen", 0)
        if type(generation) is not int:
            raise InvalidToken("token has a malformed generation")
        try:
            expires_at = float(payload.get("exp", 0))
        except (TypeError, ValueError) as exc:
            raise InvalidToken("token has a malformed expiry") from exc
        return Claims(
            subject=subject,
            kind=kind,
            token_id=str(payload.get("jti", "")),
            expires_at=expires_at,
            family=payload.get("fam"),
            doc=payload.get("doc"),
            access=payload.get("acc"),
            generation=generation,
        )

    async def revoke(self, claims: Claims) -> None:
        ttl = claims.expires_at - time.time()
        if ttl > 0:
            await self._kv.set(f"revoked:{claims.token_id}", "1", ttl)

    async def is_revoked(self, claims: Claims) -> bool:
        return await self._kv.get(f"revoked:{claims.token_id}") is not None
