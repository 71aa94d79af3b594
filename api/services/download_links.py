"""Download links to an export's file: capabilities any node can check without a lookup.

A link is `base64url(payload).base64url(HMAC-SHA256)` signed with the app's secret over the blob
key, file name, media type and expiry, so a changed byte makes it invalid (403) and an old one
expired (410). With an S3 blob store the link is the store's own presigned URL instead, with the
same expiry.
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

from ..errors import AppError, Err

_LINK_CONTEXT = b"inkweave download link v1\x00"


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    key: str
    filename: str
    media_type: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _LINK_CONTEXT + payload, hashlib.sha256).digest()


def sign_download(secret: str, grant: DownloadGrant) -> str:
    payload = json.dumps(
        {"k": grant.key, "n": grant.filename, "t": grant.media_type, "e": grant.expires_at},
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
    grant = DownloadGrant(fields["k"], fields["n"], fields["t"], int(fields["e"]))
    if grant.expires_at <= (time.time() if now is None else now):
        expired = datetime.fromtimestamp(grant.expires_at, UTC).isoformat()
        raise AppError(Err.DOWNLOAD_LINK_EXPIRED, f"the link expired at {expired}")
    return grant


@dataclass(frozen=True, slots=True)
class DownloadLinks:
    """Links to exports' files in `blobs`, valid for `ttl_s`, signed with `secret`."""

    blobs: BlobStore
    secret: str
    ttl_s: int

    def link(self, result: dict[str, Any], base_url: str) -> tuple[str, str]:
        """A fresh link to a finished export's file, and when it expires (ISO 8601, UTC)."""
        expires_at = int(time.time()) + self.ttl_s
        grant = DownloadGrant(
            result["blob_key"], result["filename"], result["media_type"], expires_at
        )
        url = self.blobs.presigned_get(
            grant.key,
            self.ttl_s,
            content_disposition=content_disposition(grant.filename),
            content_type=grant.media_type,
        )
        if url is None:
            token = sign_download(self.secret, grant)
            url = f"{base_url.rstrip('/')}/api/v1/export/download/{token}"
        return url, datetime.fromtimestamp(expires_at, UTC).isoformat().replace("+00:00", "Z")

    def open(self, token: str) -> DownloadGrant:
        """The grant a link of ours carries (403 when forged or altered, 410 when expired)."""
        return open_download(self.secret, token)
