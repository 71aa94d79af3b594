"""The adapters of a running process: the outside world (databases, stores, bus, mail, model
providers) and the in-process machinery shared by every use case (rooms, projection, quotas).

Built once from settings by `build_adapters`, opened by `start_adapters`, closed by
`stop_adapters`. Only the composition roots (`api.composition`, `api.app`, `api.jobs_setup`, the
CLI) see this bundle; every service is handed the few adapters it uses."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ai_agents.moderation import (
    LiveWords,
    ModerationChain,
    Moderator,
    WordListModerator,
    model_moderator,
)
from ai_agents.providers.configs import provider_configs
from ai_agents.providers.router import CallObserver, Router
from ai_agents.safety import load_sensitive_words
from jobs.runner import TaskRunner
from jobs.tasks import TaskStore
from storage.ai_histories.base import AiHistories
from storage.ai_histories.sql import SQLAiHistories
from storage.blobs.base import BlobStore
from storage.blobs.local import LocalBlobStore
from storage.bus.base import Bus
from storage.bus.memory import MemoryBus
from storage.docs.base import DocStore
from storage.docs.sql import SQLDocStore
from storage.hub.client import HubBus, HubConnection, HubKeyValue
from storage.kv.base import KeyValue
from storage.kv.memory import MemoryKeyValue
from storage.sql.database import Database
from storage.sql.engine import DriverTimeouts, PoolLimits
from sync_server.fan_out import BusFanOut
from sync_server.hooks import RoomHooks
from sync_server.limits import SocketLimits
from sync_server.metrics import RoomMetrics, SyncMetrics
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager

from .ai_marks_hook import AiMarksHook
from .authorship_hook import AuthorshipRecorder
from .business_metrics import AiCallMetrics
from .field_keys import install_keyring
from .projection import Projector
from .quotas import Quotas, limits_table
from .security.tokens import TokenService
from .services.mail import Mailer, OutboxMailer, SMTPMailer
from .settings import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


@dataclass(frozen=True, slots=True)
class Adapters:
    settings: Settings
    database: Database
    kv: KeyValue
    tokens: TokenService
    blobs: BlobStore
    mailer: Mailer
    store: DocStore
    bus: Bus
    rooms: RoomManager
    projection: Projector
    metrics: SyncMetrics
    tasks: TaskStore
    runner: TaskRunner
    quotas: Quotas
    ai: Router
    safety: LiveWords  # the word list, changed by administrators at runtime
    moderator: Moderator  # the word list, then the model check when it is on
    ai_histories: AiHistories
    sockets: SocketLimits  # open sockets per user and address, on this node


def build_adapters(
    settings: Settings,
    *,
    runner: TaskRunner,
    store: DocStore | None = None,
    kv: KeyValue | None = None,
    clock: Callable[[], float] = time.monotonic,
    tracer: Tracer | None = None,
) -> Adapters:
    """Every part from `settings`; `store` and `kv` replace the configured ones (tests).

    `runner` queues tasks: the job system's (`api.jobs_setup.build_job_system`).

    `clock` measures the rooms' and the projection's delays (a test moves it by hand).

    `tracer`: rooms and AI calls make spans with it (`api.tracing`); None: tracing is off."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    install_keyring(settings)  # before anything reads or writes an encrypted column
    metrics = SyncMetrics()
    bus: Bus
    if settings.redis_url:
        # Each production adapter is imported only where settings choose it: its client library
        # (redis, pymongo, boto3) costs memory and start-up time that a one-node server never uses.
        from storage.bus.redis import RedisBus
        from storage.kv.redis import RedisKeyValue

        kv = kv or RedisKeyValue(settings.redis_url, prefix=settings.redis_prefix)
        bus = RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    elif settings.local_hub:
        hub = HubConnection(settings.local_hub, on_lost=on_hub_lost)
        kv, bus = kv or HubKeyValue(hub), HubBus(hub)
    else:
        kv, bus = kv or MemoryKeyValue(), MemoryBus()
    store = store or document_store(settings, metrics)
    database = Database(
        settings.resolved_database_url(), database_pool(settings), driver_timeouts(settings)
    )
    projection = Projector(database, store, debounce_s=settings.projection_debounce_s, clock=clock)
    # One process on its own memory bus has nobody to fan out to: no work on every update for it.
    fan_out = [BusFanOut(bus, store)] if settings.redis_url or settings.local_hub else []
    traced_rooms: list[RoomHooks] = []
    ai_observers: list[CallObserver] = [AiCallMetrics(metrics.registry)]
    if tracer is not None:
        from .tracing import AiCallTracing, RoomTracing

        traced_rooms.append(RoomTracing(tracer))
        ai_observers.append(AiCallTracing(tracer))
    rooms = RoomManager(
        store,
        policy=RoomPolicy(
            awareness_renewal_flush_s=settings.awareness_renewal_flush_s,
            sync_chunk_bytes=settings.sync_chunk_bytes,
            compact_after_updates=settings.compact_after_updates,
            compact_after_bytes=settings.compact_after_bytes,
            shared_store=bool(fan_out),
        ),
        unload_grace_s=settings.room_unload_grace_s,
        hooks=[
            AuthorshipRecorder(database),
            *fan_out,
            projection,
            AiMarksHook(),
            RoomMetrics(metrics),
            *traced_rooms,
        ],
        clock=clock,
    )
    tokens = TokenService(
        settings.resolved_secret_key(),
        kv,
        access_ttl_s=settings.access_token_ttl_s,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        doc_ttl_s=settings.doc_token_ttl_s,
    )
    ai_histories: AiHistories = SQLAiHistories(database)
    if settings.mongo_url:
        from storage.ai_histories.mongo import MongoAiHistories

        ai_histories = MongoAiHistories(
            settings.mongo_url, settings.mongo_database, timeouts=driver_timeouts(settings)
        )
    safety = LiveWords(load_sensitive_words(settings.sensitive_words_file))
    moderator = build_moderator(settings, safety)
    return Adapters(
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
        bus=bus,
        rooms=rooms,
        projection=projection,
        metrics=metrics,
        ai_histories=ai_histories,
        tasks=TaskStore(database),
        runner=runner,
        quotas=Quotas(kv, limits_table(settings.quotas)),
        ai=Router.from_settings(
            settings, ai_histories, moderator=moderator, observers=ai_observers
        ),
        safety=safety,
        moderator=moderator,
        sockets=SocketLimits(
            # With auth off every socket is the same "anonymous": only addresses tell apart.
            per_principal=0 if settings.auth == "off" else settings.ws_connections_per_user,
            per_address=settings.ws_connections_per_address,
        ),
    )


def build_moderator(settings: Settings, words: LiveWords) -> ModerationChain:
    """The word list; with `moderation_model_check`, then the first configured provider."""
    configs = provider_configs(settings) if settings.moderation_model_check else []
    models = (
        [
            model_moderator(
                configs[0],
                openai_model=settings.moderation_openai_model,
                timeout_s=settings.ai_call_timeout_s,
            )
        ]
        if configs
        else []
    )
    return ModerationChain(WordListModerator(words), models)


def on_hub_lost() -> None:
    """The supervising process is gone: stop this worker (uvicorn stops gracefully on SIGTERM)."""
    os.kill(os.getpid(), signal.SIGTERM)


def database_pool(settings: Settings) -> PoolLimits:
    return PoolLimits(
        size=settings.database_pool_size,
        overflow=settings.database_pool_overflow,
        timeout_s=settings.database_pool_timeout_s,
    )


def driver_timeouts(settings: Settings) -> DriverTimeouts:
    return DriverTimeouts(
        connect_s=settings.database_connect_timeout_s, read_s=settings.database_read_timeout_s
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
            create_bucket=settings.s3_create_bucket,
        )
    return LocalBlobStore(settings.data_dir / "blobs")


def document_store(settings: Settings, metrics: SyncMetrics | None = None) -> DocStore:
    """MongoDB when configured (production), else SQL (SQLite by default, or MySQL). `metrics`
    observe the size of each batch of appends written."""
    timeouts = driver_timeouts(settings)
    batching = {
        "group_commit_window_s": settings.group_commit_window_ms / 1000,
        "group_commit_max_batch": settings.group_commit_max_batch,
        "on_append_batch": None
        if metrics is None
        else lambda size, _seconds: metrics.append_batch_size.observe(size),
    }
    if settings.mongo_url:
        from storage.docs.mongo import MongoDocStore

        return MongoDocStore(
            settings.mongo_url, settings.mongo_database, timeouts=timeouts, **batching
        )
    return SQLDocStore(settings.resolved_docs_url(), timeouts=timeouts, **batching)


async def start_adapters(adapters: Adapters) -> None:
    """Open every store (after migrations), in dependency order."""
    if adapters.settings.should_migrate():
        await adapters.database.migrate()
    await adapters.store.start()
    await adapters.bus.start()
    await adapters.blobs.start()
    await adapters.ai_histories.start()


async def stop_adapters(adapters: Adapters) -> None:
    """Close what `start_adapters` opened, rooms first (their last edits reach the store)."""
    await adapters.projection.close()
    await adapters.ai.aclose()
    await adapters.rooms.close()
    await adapters.bus.close()
    await adapters.blobs.close()
    await adapters.store.close()
    await adapters.ai_histories.close()
    await adapters.database.close()
    await adapters.kv.close()
