"""Exports and imports on the request side: permissions, quotas, task rows, download links.

Download links are capabilities: `base64url(payload).base64url(HMAC-SHA256)` signed with the
app's secret over the blob key, file name, media type and expiry, so any node can check one
without a lookup, a changed byte makes it invalid (403) and an old one expired (410). With an S3
blob store the link is the store's own presigned URL instead, with the same expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import select

from jobs.exports import FORMATS, content_disposition
from jobs.import_task import upload_key
from jobs.imports import PARSERS
from jobs.tasks import COMPLETED
from storage.sql.models import Chapter, Task, User, Work

from ..app_parts import Components
from ..errors import AppError, Err
from .membership import effective_level, live_works
from .works import role_or_404

EXPORT, IMPORT = "export", "import"
_LINK_CONTEXT = b"inkweave download link v1\x00"


# Signed links ---------------------------------------------------------------------------------


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


def download_link(parts: Components, result: dict[str, Any], base_url: str) -> tuple[str, str]:
    """A fresh link to a finished export's file, and when it expires (ISO 8601, UTC)."""
    expires_at = int(time.time()) + parts.settings.download_link_ttl_s
    grant = DownloadGrant(result["blob_key"], result["filename"], result["media_type"], expires_at)
    presign = getattr(parts.blobs, "presigned_get", None)
    if presign is not None:
        url = presign(
            grant.key,
            parts.settings.download_link_ttl_s,
            content_disposition=content_disposition(grant.filename),
            content_type=grant.media_type,
        )
    else:
        token = sign_download(parts.settings.resolved_secret_key(), grant)
        url = f"{base_url.rstrip('/')}/api/v1/export/download/{token}"
    return url, datetime.fromtimestamp(expires_at, UTC).isoformat().replace("+00:00", "Z")


# Task views -----------------------------------------------------------------------------------


def task_view(parts: Components, task: Task, base_url: str) -> dict[str, Any]:
    result = task.result if isinstance(task.result, dict) else {}
    view: dict[str, Any] = {
        "task_id": task.id,
        "type": task.kind,
        "status": task.status,
        "progress": task.progress,
        "error": task.error,
        "work_id": task.work_id,
        "attempts": task.attempts,
        "created_at": task.created_at.isoformat(),
        "finished_at": task.finished_at.isoformat() if task.finished_at else None,
    }
    if task.kind == EXPORT:
        view.update(format=task.type, filename=result.get("filename"), size=result.get("size"))
        view["download_url"] = view["expire_at"] = None
        if task.status == COMPLETED and result.get("removed"):
            view["error"] = "the file was deleted after INKWEAVE_EXPORT_RETENTION_S: export again"
        elif task.status == COMPLETED and result.get("blob_key"):
            view["download_url"], view["expire_at"] = download_link(parts, result, base_url)
    else:
        view.update(
            filename=task.params.get("filename"),
            chapters=result.get("chapters"),
            title=result.get("title"),
        )
    return view


class Transfers:
    """Asking for exports and imports; reading their tasks."""

    def __init__(self, parts: Components) -> None:
        self.parts = parts

    async def visible(self, user: User, task_id: str, kind: str) -> Task:
        task = await self.parts.tasks.get(task_id)
        if task is None or task.user_id != user.id or task.kind != kind:
            raise AppError(Err.NOT_FOUND, f"no {kind} task {task_id}")
        return task

    async def request_export(
        self,
        user: User,
        work_id: int,
        fmt: str,
        options: dict[str, Any],
        chapter_ids: list[int] | None,
    ) -> Task:
        await role_or_404(self.parts, user.id, work_id)  # any member may export what they read
        async with self.parts.database.session() as session:
            work = await session.get(Work, work_id)
            assert work is not None
            if chapter_ids:
                found = set(
                    await session.scalars(
                        select(Chapter.id).where(
                            Chapter.work_id == work_id, Chapter.id.in_(chapter_ids)
                        )
                    )
                )
                missing = sorted(set(chapter_ids) - found)
                if missing:
                    raise AppError(Err.NOT_FOUND, f"work {work_id} has no chapters {missing}")
        if FORMATS[fmt].scripts_only and work.type != "script":
            raise AppError(Err.FORMAT_NOT_FOR_WORK, f"{fmt} is for scripts; this is a {work.type}")
        level = effective_level(user.member_level, user.member_expire_at, datetime.now(UTC))
        await self.parts.quotas.use_export(user.id, level)
        params = {"format": fmt, "options": options, "chapter_ids": chapter_ids or None}
        task = await self.parts.tasks.create(user.id, EXPORT, fmt, work_id=work_id, params=params)
        await self.parts.runner.submit(EXPORT, task.id)
        return task

    async def request_import(
        self, user: User, filename: str, data: bytes, title: str | None
    ) -> Task:
        extension = PurePath(filename).suffix.lower()
        if extension not in PARSERS:
            known = ", ".join(PARSERS)
            raise AppError(
                Err.UNSUPPORTED_FILE, f"cannot import {extension or filename!r}: {known}"
            )
        if not data.strip():
            raise AppError(Err.IMPORT_REFUSED, "the file is empty")
        level = effective_level(user.member_level, user.member_expire_at, datetime.now(UTC))
        limit = self.parts.quotas.limits(level).works
        if limit is not None:
            async with self.parts.database.session() as session:
                if await live_works(session, user.id) >= limit:
                    raise AppError(Err.WORKS_LIMIT, f"level {level} may keep {limit} works")
        params = {"filename": PurePath(filename).name[:200], "title": title, "size": len(data)}
        task = await self.parts.tasks.create(user.id, IMPORT, extension.lstrip("."), params=params)
        await self.parts.blobs.put(upload_key(task.id), data, "application/octet-stream")
        await self.parts.runner.submit(IMPORT, task.id)
        return task
