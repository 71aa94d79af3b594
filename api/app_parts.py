"""The parts of a running app, built once from settings and handed to every layer."""

from __future__ import annotations

from dataclasses import dataclass

from storage.blobs.base import BlobStore
from storage.blobs.local import LocalBlobStore
from storage.docs.base import DocStore
from storage.docs.sql import SQLDocStore
from storage.kv.base import KeyValue
from storage.kv.memory import MemoryKeyValue
from storage.sql.database import Database
from sync_server.metrics import SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager

from .security.tokens import TokenService
from .services.mail import Mailer, OutboxMailer
from .settings import Settings


@dataclass(slots=True)
class Components:
    settings: Settings
    database: Database
    kv: KeyValue
    tokens: TokenService
    blobs: BlobStore
    mailer: Mailer
    store: DocStore
    rooms: RoomManager
    metrics: SyncMetrics


def build_components(settings: Settings, *, store: DocStore | None = None) -> Components:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics = SyncMetrics()
    kv = MemoryKeyValue()
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
    tokens = TokenService(
        settings.resolved_secret_key(),
        kv,
        access_ttl_s=settings.access_token_ttl_s,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        doc_ttl_s=settings.doc_token_ttl_s,
    )
    return Components(
        settings=settings,
        database=Database(settings.resolved_database_url()),
        kv=kv,
        tokens=tokens,
        blobs=LocalBlobStore(settings.data_dir / "blobs"),
        mailer=OutboxMailer(settings.data_dir / "outbox.jsonl"),
        store=store,
        rooms=rooms,
        metrics=metrics,
    )
