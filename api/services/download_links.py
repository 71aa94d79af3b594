"""Download links to an export's file: signed, expiring, and bound to the member who asked.

A link is `base64url(payload).base64url(HMAC-SHA256)` signed with the app's secret over the blob
key, file name, media type, expiry, the requesting user and the export's work, so a changed byte
makes it invalid (403) and an old one expired (410). Opening one re-checks that the user is still
a member of the work (any role): a link minted before the member was removed stops working at
once (403), not when it expires. With an S3 blob store the link is still ours; once checked it
redirects to the store's own presigned URL, valid for `REDIRECT_TTL_S` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobs.exports import content_disposition
from storage.blobs.base import BlobStore
from storage.sql.database import Database

from ..errors import AppError, Err
from ..security.roles import role_on_work

_LINK_CONTEXT = b"inkweave download link v1\x00"
REDIRECT_TTL_S = 60  # the store's presigned URL behind a checked link: long enough to follow


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    key: str
    filename: str
    media_type: str
    expires_at: int
    user_id: int  # who asked for the link; it works while they may read `work_id`
    work_id: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _LINK_CONTEXT + payload, hashlib.sha256).digest()


def sign_download(secret: str, grant: DownloadGrant) -> str:
    payload = json.dumps(
        {
            "k": grant.key,
            "n": grant.filename,
            "t": grant.media_type,
            "e": grant.expires_at,
            "u": grant.user_id,
            "w": grant.work_id,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def open_download(secret: str, token: str, *, now: float | None = None) -> DownloadGrant:
    """The grant a token carries; 403 when it was not signed by us (or altered), 410 when old."""
    try:
        encoded, signature = token.split(".")
        payload, mac = _unb64(encoded), _unb64(signature)
    except ValueError:
        raise AppError(Err.DOWNLOAD_LINK_INVALID, "malformed download link") from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise AppError(Err.DOWNLOAD_LINK_INVALID, "the link's signature does not match")
    fields = json.loads(payload)
    if "u" not in fields or "w" not in fields:  # signed before links named their requester
        raise AppError(Err.DOWNLOAD_LINK_INVALID, "an old link: get a new one")
    grant = DownloadGrant(
        fields["k"], fields["n"], fields["t"], int(fields["e"]), int(fields["u"]), int(fields["w"])
    )
    if grant.expires_at <= (time.time() if now is None else now):
        expired = datetime.fromtimestamp(grant.expires_at, UTC).isoformat()
        raise AppError(Err.DOWNLOAD_LINK_EXPIRED, f"the link expired at {expired}")
    return grant


@dataclass(frozen=True, slots=True)
class DownloadLinks:
    """Links to exports' files in `blobs`, valid for `ttl_s`, signed with `secret`, honoured
    while their requester may read the export's work in `database`."""

    blobs: BlobStore
    secret: str
    ttl_s: int
    database: Database

    def link(
        self, result: dict[str, Any], base_url: str, *, user_id: int, work_id: int
    ) -> tuple[str, str]:
        """A fresh link for `user_id` to a finished export's file of work `work_id`, and when
        it expires (ISO 8601, UTC)."""
        expires_at = int(time.time()) + self.ttl_s
        grant = DownloadGrant(
            result["blob_key"],
            result["filename"],
            result["media_type"],
            expires_at,
            user_id,
            work_id,
        )
        token = sign_download(self.secret, grant)
        url = f"{base_url.rstrip('/')}/api/v1/export/download/{token}"
        return url, datetime.fromtimestamp(expires_at, UTC).isoformat().replace("+00:00", "Z")

    async def open(self, token: str) -> DownloadGrant:
        """The grant a link of ours carries: 403 when forged or altered, or when its requester
        is no longer a member of the work; 410 when expired."""
        grant = open_download(self.secret, token)
        if await role_on_work(self.database, grant.user_id, grant.work_id) is None:
            raise AppError(Err.FORBIDDEN, "whoever got this link is no longer a member of the work")
        return grant

    def store_url(self, grant: DownloadGrant) -> str | None:
        """Where the blob store itself serves the file for a moment (S3), or None (local files:
        the API sends it)."""
        return self.blobs.presigned_get(
            grant.key,
            REDIRECT_TTL_S,
            content_disposition=content_disposition(grant.filename),
            content_type=grant.media_type,
        )
