"""The composition root: settings in, a complete ASGI app out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from storage.docs.base import DocStore
from storage.docs.sql import SQLDocStore
from sync_server.auth import AllowAllAuthorizer, Authorizer, DenyAllAuthorizer
from sync_server.endpoint import EndpointLimits, SyncEndpoint
from sync_server.metrics import SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager

from .settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Components:
    settings: Settings
    store: DocStore
    rooms: RoomManager
    metrics: SyncMetrics


def build_components(settings: Settings, *, store: DocStore | None = None) -> Components:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics = SyncMetrics()
    store = store or SQLDocStore(
        settings.resolved_docs_url(),
        group_commit_window_s=settings.group_commit_window_ms / 1000,
        group_commit_max_batch=settings.group_commit_max_batch,
        on_append_batch=lambda size, _seconds: metrics.append_batch_size.observe(size),
    )
    rooms = RoomManager(
        store,
        metrics,
        policy=RoomPolicy(
            awareness_renewal_flush_s=settings.awareness_renewal_flush_s,
            sync_chunk_bytes=settings.sync_chunk_bytes,
            compact_after_updates=settings.compact_after_updates,
            compact_after_bytes=settings.compact_after_bytes,
        ),
        unload_grace_s=settings.room_unload_grace_s,
    )
    return Components(settings, store, rooms, metrics)


def _authorizer(settings: Settings) -> Authorizer:
    if settings.auth == "off":
        log.warning("INKWEAVE_AUTH=off: every socket may read and write every document")
        return AllowAllAuthorizer()
    return DenyAllAuthorizer()


def create_app(
    settings: Settings | None = None,
    *,
    authorizer: Authorizer | None = None,
    store: DocStore | None = None,
) -> FastAPI:
    """The whole app; `authorizer` and `store` replace the configured ones (tests, embedding)."""
    settings = settings or Settings()
    parts = build_components(settings, store=store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await parts.store.start()
        log.info("inkweave started", extra={"data_dir": str(settings.data_dir)})
        try:
            yield
        finally:
            await parts.rooms.close()
            await parts.store.close()

    app = FastAPI(title="Inkweave", version="0.1.0", lifespan=lifespan)
    app.state.components = parts

    endpoint = SyncEndpoint(
        parts.rooms,
        authorizer or _authorizer(settings),
        parts.metrics,
        EndpointLimits(
            max_message_bytes=settings.max_message_bytes,
            send_queue_limit=settings.send_queue_limit,
        ),
    )
    app.add_api_websocket_route("/sync/{doc:path}", endpoint)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            await parts.store.ping()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "docs": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "docs": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(parts.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return app
