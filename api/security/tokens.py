"""JWTs (joserfc, HS256): access tokens, refresh tokens, and document-scoped tokens.

Every token has a `typ`, so a refresh or document token is never accepted as an access token.
Access tokens can be revoked before they expire (logout): their id goes into the key-value store
until the token would have expired anyway.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from storage.kv.base import KeyValue

ACCESS, REFRESH, DOCUMENT = "access", "refresh", "doc"


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
        self._key = OctKey.import_key(secret)
        self._kv = kv
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.doc_ttl_s = doc_ttl_s

    def _issue(self, claims: dict[str, Any], ttl_s: int) -> tuple[str, str]:
        now = int(time.time())
        token_id = secrets.token_urlsafe(16)
        payload = {**claims, "jti": token_id, "iat": now, "exp": now + ttl_s}
        return jwt.encode({"alg": "HS256"}, payload, self._key), token_id

    def issue_access(self, user_id: int) -> str:
        return self._issue({"sub": str(user_id), "typ": ACCESS}, self.access_ttl_s)[0]

    def issue_refresh(self, user_id: int, family: str) -> tuple[str, str]:
        return self._issue({"sub": str(user_id), "typ": REFRESH, "fam": family}, self.refresh_ttl_s)

    def issue_document(self, user_id: int, doc: str, access: str) -> str:
        """A short-lived token that opens one document only (AI peers, embeds)."""
        claims = {"sub": str(user_id), "typ": DOCUMENT, "doc": doc, "acc": access}
        return self._issue(claims, self.doc_ttl_s)[0]

    def decode(self, token: str, kind: str) -> Claims:
        try:
            payload = jwt.decode(token, self._key, algorithms=["HS256"]).claims
        except (JoseError, ValueError) as exc:
            raise InvalidToken("malformed or forged token") from exc
        if payload.get("typ") != kind:
            raise InvalidToken(f"not an {kind} token")
        expires_at = float(payload.get("exp", 0))
        if expires_at <= time.time():
            raise InvalidToken("token expired")
        try:
            subject = int(payload["sub"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("token has no subject") from exc
        return Claims(
            subject=subject,
            kind=kind,
            token_id=str(payload.get("jti", "")),
            expires_at=expires_at,
            family=payload.get("fam"),
            doc=payload.get("doc"),
            access=payload.get("acc"),
        )

    async def revoke(self, claims: Claims) -> None:
        ttl = claims.expires_at - time.time()
        if ttl > 0:
            await self._kv.set(f"revoked:{claims.token_id}", "1", ttl)

    async def is_revoked(self, claims: Claims) -> bool:
        return await self._kv.get(f"revoked:{claims.token_id}") is not None
