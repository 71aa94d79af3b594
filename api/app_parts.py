"""The parts of a running app, built once from settings and handed to every layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_agents.providers.router import Router
from ai_agents.safety import SensitiveWords, load_sensitive_words
from jobs.runner import NoRunner, TaskRunner
from jobs.tasks import TaskStore
from storage.ai_histories.base import AiHistories
from storage.ai_histories.mongo import MongoAiHistories
from storage.ai_histories.sql import SQLAiHistories
from storage.blobs.base import BlobStore
from storage.blobs.local import LocalBlobStore
from storage.bus.base import Bus
from storage.bus.redis import RedisBus
from storage.docs.base import DocStore
from storage.docs.mongo import MongoDocStore
from storage.docs.sql import SQLDocStore
from storage.kv.base import KeyValue
from storage.kv.memory import MemoryKeyValue
from storage.kv.redis import RedisKeyValue
from storage.sql.database import Database
from sync_server.metrics import SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager

from .quotas import Quotas, limits_table
from .security.tokens import TokenService
from .services.mail import Mailer, OutboxMailer, SMTPMailer
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
    tasks: TaskStore
    runner: TaskRunner
    quotas: Quotas
    ai: Router
    safety: SensitiveWords
    ai_histories: AiHistories | None = None
    bus: Bus | None = None
    # Where this server's /sync is reachable, once it listens (set by `serve` and test harnesses).
    sync_url: str | None = field(default=None)


def build_components(
    settings: Settings, *, store: DocStore | None = None, kv: KeyValue | None = None
) -> Components:
    """Every part from `settings`; `store` and `kv` replace the configured ones (tests)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics = SyncMetrics()
    bus: Bus | None
    if settings.redis_url:
        kv = kv or RedisKeyValue(settings.redis_url, prefix=settings.redis_prefix)
        bus = RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    else:
        kv, bus = kv or MemoryKeyValue(), None
    store = store or _document_store(settings, metrics)
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
        bus=bus,
    )
    tokens = TokenService(
        settings.resolved_secret_key(),
        kv,
        access_ttl_s=settings.access_token_ttl_s,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        doc_ttl_s=settings.doc_token_ttl_s,
    )
    database = Database(settings.resolved_database_url())
    ai_histories: AiHistories = (
        MongoAiHistories(settings.mongo_url, settings.mongo_database)
        if settings.mongo_url
        else SQLAiHistories(database)
    )
    return Components(
        settings=settings,
        database=database,
        kv=kv,
        tokens=tokens,
        blobs=blob_store(settings),
        mailer=(
            SMTPMailer(settings.smtp_url, settings.mail_from)
            if settings.smtp_url
            else OutboxMailer(settings.data_dir / "outbox.jsonl")
        ),
        store=store,
        rooms=rooms,
        metrics=metrics,
        bus=bus,
        ai_histories=ai_histories,
        tasks=TaskStore(database),
        runner=NoRunner(),
        quotas=Quotas(kv, limits_table(settings.quotas)),
        ai=Router.from_settings(settings, ai_histories),
        safety=load_sensitive_words(settings.sensitive_words_file),
    )


def blob_store(settings: Settings) -> BlobStore:
    """S3-compatible when a bucket is configured (production), else files under data_dir."""
    if settings.s3_bucket:
        from storage.blobs.s3 import S3BlobStore

        return S3BlobStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            prefix=settings.s3_prefix,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )
    return LocalBlobStore(settings.data_dir / "blobs")


def _document_store(settings: Settings, metrics: SyncMetrics) -> DocStore:
    """MongoDB when configured (production), else SQL (SQLite by default, or MySQL)."""
    batching = {
        "group_commit_window_s": settings.group_commit_window_ms / 1000,
        "group_commit_max_batch": settings.group_commit_max_batch,
        "on_append_batch": lambda size, _seconds: metrics.append_batch_size.observe(size),
    }
    if settings.mongo_url:
        return MongoDocStore(settings.mongo_url, settings.mongo_database, **batching)
    return SQLDocStore(settings.resolved_docs_url(), **batching)


async def start_parts(parts: Components) -> None:
    """Open every store the parts hold (after migrations), in dependency order."""
    if parts.settings.should_migrate():
        await parts.database.migrate()
    await parts.store.start()
    if parts.bus is not None:
        await parts.bus.start()
    if parts.ai_histories is not None:
        await parts.ai_histories.start()


async def stop_parts(parts: Components) -> None:
    """Close what `start_parts` opened, rooms first (their last edits reach the store)."""
    await parts.runner.close()
    await parts.ai.aclose()
    await parts.rooms.close()
    if parts.bus is not None:
        await parts.bus.close()
    await parts.store.close()
    if parts.ai_histories is not None:
        await parts.ai_histories.close()
    await parts.database.close()
    await parts.kv.close()
