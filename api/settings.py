"""The one settings object: `INKWEAVE_*` environment variables and `.env`.

Built once in the composition root (`api.app.create_app`) and handed down; nothing below `api`
reads the environment.
"""

from __future__ import annotations

import json
import secrets
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ai_agents.providers.base import ProviderConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INKWEAVE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where embedded stores keep their files.")
    auth: Literal["on", "off"] = Field(
        "on", description="`off` lets every socket write every document: development only."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the relational database; default: SQLite in data_dir.",
    )
    database_pool_size: int = Field(
        5, gt=0, description="Connections to the relational database kept open per process."
    )
    database_pool_overflow: int = Field(
        10, ge=0, description="Extra connections opened under load, above the pool size."
    )
    database_pool_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Longest wait for a free connection; then the request gets 503 (overloaded).",
    )
    database_connect_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Longest wait for a database server (MySQL/MariaDB, MongoDB) to accept a "
        "connection (MongoDB: to be found at all); then the call fails as unavailable.",
    )
    database_read_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Longest wait for the next bytes of a database server's answer (one that "
        "was stopped, or cut off); then the call fails as unavailable.",
    )
    http_max_in_flight: int = Field(
        0,
        ge=0,
        description="REST requests worked on at once per process; 0: the database pool's size "
        "plus overflow, so that an admitted request never waits for a connection.",
    )
    http_queue_limit: int = Field(
        100,
        ge=0,
        description="REST requests waiting for a turn; one more is answered 503 at once.",
    )
    http_queue_wait_s: float = Field(
        1.0,
        gt=0,
        description="Longest a REST request waits for a turn; then it is answered 503.",
    )
    http_max_hold_s: float = Field(
        2.0,
        gt=0,
        description="A REST request still running after this gives its turn to the next: it "
        "waits on a model, a payment provider or a slow upload, not on this node.",
    )
    secret_key: str | None = Field(
        None,
        description="Signs tokens. Default: generated once into data_dir/secret.key.",
    )
    field_keys: list[str] = Field(
        default_factory=list,
        description="JSON list of `id:base64` AES-256 keys (32 bytes each) that encrypt the "
        "sensitive columns, newest first: the first encrypts, all decrypt "
        "(`inkweave rotate-keys`). Default: one key derived from the secret key.",
    )
    access_token_ttl_s: int = Field(7 * 24 * 3600, gt=0, description="Brief §6.1.1: 7 days.")
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, gt=0)
    doc_token_ttl_s: int = Field(600, gt=0, description="Tokens scoped to one document.")
    code_ttl_s: int = Field(600, gt=0, description="How long an emailed code stays valid.")
    rate_limit_user_per_min: int = Field(100, gt=0, description="Brief §6.3.1.")
    rate_limit_ip_per_min: int = Field(1000, gt=0, description="Brief §6.3.1.")
    login_failures_per_15_min: int = Field(10, gt=0, description="Per account and per IP.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies in front of this server, "
        "comma-separated (or a JSON list). Only a request whose peer is one of them is taken to "
        "come from the address in its X-Forwarded-For (the rightmost not itself a trusted "
        "proxy) or X-Real-IP. Default: none, every peer is the client.",
    )
    ws_connections_per_user: int = Field(
        20,
        ge=0,
        description="Open sockets (`/sync` and notifications together) per user on one node; "
        "0: no limit. Not applied with `auth=off`, where every socket is the same anonymous user.",
    )
    ws_connections_per_address: int = Field(
        60, ge=0, description="Open sockets per client address on one node; 0: no limit."
    )
    membership_recheck_s: float = Field(
        2.0, gt=0, description="How often open sockets re-check their user's role."
    )
    projection_debounce_s: float = Field(
        1.0, ge=0, description="Wait after the last edit before updating the text in SQL."
    )
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer URL; sign-in with it is on when this is set."
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_name: str = Field("oidc", description="Shown to users, e.g. the provider's name.")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Where browsers reach this server (OIDC redirects)."
    )
    smtp_url: str | None = Field(
        None,
        description="smtp://user:pw@host:587?starttls=true or smtps://...; default: the outbox "
        "file data_dir/outbox.jsonl (and the log).",
    )
    mail_from: str = Field("Inkweave <no-reply@inkweave.local>", description="Sender address.")
    mongo_url: str | None = Field(
        None,
        description="MongoDB for the document store and AI histories; default: the SQL store.",
    )
    mongo_database: str = "inkweave"
    redis_url: str | None = Field(
        None,
        description="Redis for cross-node fan-out, rate limits and revoked tokens; "
        "default: in-process (one node).",
    )
    redis_prefix: str = Field("inkweave:", description="Prefix of every Redis key and channel.")
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes `inkweave serve` runs on one port; 0: one per CPU core. Without "
        "Redis they share a local hub (bus and counters) run by the supervising process.",
    )
    local_hub: Path | None = Field(
        None,
        description="Set by `inkweave serve --workers` for its processes: the Unix socket of "
        "the hub they share. Not for operators.",
    )
    worker_index: int = Field(
        0,
        ge=0,
        description="Set by `inkweave serve --workers`: which of its processes this is (0 "
        "resubmits unfinished tasks at start). Not for operators.",
    )
    docs_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the document store; default: SQLite file in data_dir.",
    )
    auto_migrate: bool | None = Field(
        None,
        description="Upgrade the schema on start. Default: yes on SQLite; elsewhere run "
        "`inkweave migrate` once, so that nodes starting together do not race.",
    )
    quotas: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="JSON overriding the limits per member level (see `api/quotas.py`), e.g. "
        '`{"free": {"works": 5, "ai_per_day": 50}}`.',
    )
    # Membership and payments (api/services/membership.py, api/payments)
    plan_prices: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="JSON overriding plan prices per level and period, exact decimals as strings, "
        'merged over the defaults, e.g. `{"premium": {"monthly": "45.00", "yearly": "398.00"}}`.',
    )
    plan_currency: str = Field(
        "CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of every plan price."
    )
    order_ttl_s: int = Field(
        1800, ge=60, description="An unpaid order is cancelled this long after it was created."
    )
    payment_sandbox: bool | None = Field(
        None,
        description="Offer the `sandbox` provider (a pay page that grants membership for free). "
        "Default: on unless a real provider (Stripe) is configured. Never on in production.",
    )
    stripe_secret_key: str | None = Field(
        None, description="Stripe API key (`sk_...`); Stripe Checkout is offered when set."
    )
    stripe_webhook_secret: str | None = Field(
        None, description="Signing secret of the Stripe webhook endpoint (`whsec_...`)."
    )
    stripe_api_base: str = Field("https://api.stripe.com", description="Stripe's API root.")
    stripe_webhook_tolerance_s: int = Field(
        300, gt=0, description="Oldest (or furthest ahead) a signed webhook timestamp may be."
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    docs_enabled: bool = Field(
        True,
        description="Serve the OpenAPI schema (`/openapi.json`) and its Swagger page (`/docs`). "
        "Off: both answer 404.",
    )
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1"],
        description="Addresses or networks (CIDR) that may read `/metrics`, comma-separated (or a "
        "JSON list); others get 403. Default: loopback only.",
    )
    metrics_token: str | None = Field(
        None,
        description="A bearer token that opens `/metrics` from any address (Prometheus' "
        "`authorization: {credentials: ...}`).",
    )
    metrics_counts_cache_s: float = Field(
        30.0,
        ge=0,
        description="How long the counts on `/metrics` read from the database (users, works, "
        "orders, exports) are reused before a scrape reads them again.",
    )
    otlp_endpoint: str | None = Field(
        None,
        description="OpenTelemetry collector (OTLP over HTTP, e.g. `http://otel-collector:4318`) "
        "that receives traces of REST requests, sync rooms and AI calls; unset: no tracing.",
    )
    trace_sample_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of new traces recorded (a child follows its parent)."
    )
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port on which `inkweave worker` serves Prometheus metrics (`/metrics`: its "
        "AI calls and tokens, the rooms it opens); 0: none.",
    )
    worker_metrics_host: str = Field(
        "127.0.0.1",
        description="Address `inkweave worker` serves its metrics on (`0.0.0.0` for a scraper "
        "on another host); they are served to whoever reaches it, with no allowlist or token.",
    )
    shutdown_grace_s: float = Field(
        25.0,
        gt=0,
        description="On SIGTERM, longest wait for open requests to finish once every socket has "
        "been closed (1012) and its updates stored; keep it below Kubernetes' "
        "`terminationGracePeriodSeconds` less the preStop pause.",
    )

    room_unload_grace_s: float = Field(
        10.0, ge=0, description="Seconds an empty room stays in memory before it is unloaded."
    )
    memory_release_s: float = Field(
        60.0,
        ge=0,
        description="How often the server hands the C heap's free pages back to the system "
        "(glibc `malloc_trim`); 0: never.",
    )
    malloc_heaps: int = Field(
        2,
        ge=0,
        description="Most glibc heaps (arenas) the threads of a serving or job process share; "
        "0: glibc's default, eight per core. Fewer heaps keep a long-running server's memory "
        "from creeping (see bench/README.md); `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`, when "
        "set, wins.",
    )
    max_message_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="Largest sync frame accepted from a client."
    )
    sync_chunk_bytes: int = Field(
        256 * 1024,
        ge=4096,
        description="A first sync larger than this goes out in messages of about this size.",
    )
    ws_per_message_deflate: bool = Field(
        False,
        description="Offer permessage-deflate. Off: compressing every relayed frame per client "
        "costs more CPU than it saves on a LAN (see bench/README.md).",
    )
    send_queue_limit: int = Field(
        2048, gt=0, description="Frames queued for one client before it is dropped as too slow."
    )
    awareness_renewal_flush_s: float = Field(
        5.0,
        ge=0,
        description="Unchanged awareness renewals are batched and relayed this often.",
    )

    group_commit_window_ms: float = Field(
        0.0, ge=0, le=10, description="Longest wait to gather appends into one transaction."
    )
    group_commit_max_batch: int = Field(256, gt=0)
    compact_after_updates: int = Field(
        500, gt=0, description="Compact a document once its log holds this many updates."
    )
    compact_after_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="...or once its log holds this many bytes."
    )

    # Jobs, exports and notifications (jobs/, api/routers/exports.py, notifications.py)
    rabbitmq_url: str | None = Field(
        None,
        description="RabbitMQ (amqp://...) as the job broker. Default: Redis when `redis_url` is "
        "set, else an in-process broker with worker threads inside `inkweave serve`.",
    )
    jobs_in_process: bool | None = Field(
        None,
        description="Run job workers inside `inkweave serve`. Default: yes with the in-process "
        "broker only; with Redis or RabbitMQ run `inkweave worker`.",
    )
    jobs_queue: str = Field("inkweave", description="Name of the job queue.")
    jobs_namespace: str | None = Field(
        None, description="Prefix of the Redis broker's keys; default: `redis_prefix` + dramatiq."
    )
    jobs_worker_threads: int = Field(4, gt=0, le=64, description="Job threads per worker.")
    jobs_max_retries: int = Field(
        5, ge=0, description="Retries of a task after a transient failure (with backoff)."
    )
    jobs_min_backoff_ms: int = Field(1000, gt=0)
    jobs_max_backoff_ms: int = Field(300_000, gt=0)
    jobs_time_limit_s: int = Field(3600, gt=0, description="Longest one task may run.")
    jobs_heartbeat_timeout_ms: int = Field(
        60_000,
        gt=0,
        description="Redis broker: a worker silent this long is dead and its unfinished messages "
        "go back to the queue.",
    )
    jobs_maintenance_chance: int = Field(
        1000,
        ge=0,
        le=1_000_000,
        description="Redis broker: per million broker calls, how many look for dead workers.",
    )
    jobs_task_heartbeat_s: float = Field(
        5.0, gt=0, description="How often a running task marks its row as alive."
    )
    jobs_task_stale_s: float = Field(
        60.0,
        gt=0,
        description="A `processing` task not marked alive for this long belonged to a dead "
        "worker: a redelivered message may run it again.",
    )
    compaction_interval_s: float = Field(60.0, gt=0, description="Periodic compaction pass.")
    membership_expiry_interval_s: float = Field(60.0, gt=0)
    summaries_interval_s: float = Field(600.0, gt=0, description="Rolling summaries refresh.")
    s3_bucket: str | None = Field(
        None, description="S3-compatible bucket for exports; default: files under data_dir."
    )
    s3_endpoint_url: str | None = Field(
        None, description="e.g. http://minio:9000; default: AWS S3 of `s3_region`."
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = Field("", description="Prefix of every object key.")
    s3_public_endpoint_url: str | None = Field(
        None, description="Where browsers reach the store, when not at `s3_endpoint_url`."
    )
    s3_create_bucket: bool = Field(False, description="Create the bucket on start if missing.")
    download_link_ttl_s: int = Field(
        3600, gt=0, le=7 * 24 * 3600, description="How long an export's download link works."
    )
    export_retention_s: int = Field(
        7 * 24 * 3600,
        gt=0,
        description="Export files are deleted this long after they were made (links then say so).",
    )
    chapter_trash_retention_s: int = Field(
        30 * 24 * 3600,
        gt=0,
        description="Chapters in the trash are deleted for good this long after their deletion.",
    )
    export_watermark_levels: list[str] = Field(
        default_factory=list,
        description="JSON list of member levels whose PDF and Word exports always carry the "
        'visible watermark, e.g. `["free"]`; others get it when they ask.',
    )
    import_max_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest file accepted by `POST /api/v1/import`."
    )
    notification_email: bool = Field(True, description="Email the important notifications.")
    notification_email_kinds: list[str] = Field(
        default_factory=lambda: ["invitation", "work_member", "membership"],
        description="Which notification kinds are also emailed (JSON list).",
    )

    # AI providers and routing (ai_agents/providers)
    ai_providers: list[ProviderConfig] = Field(
        default_factory=list,
        description="JSON list of model providers: `name`, `kind` (`openai` for any "
        "OpenAI-compatible API: OpenAI, Qwen, DeepSeek, Ollama, vLLM; or `anthropic`), "
        "`base_url`, `api_key`, and `model` and/or `models` per tier (`economy`, `standard`, "
        '`premium`), e.g. `[{"name": "qwen", "base_url": '
        '"https://dashscope.aliyuncs.com/compatible-mode/v1", "api_key": "sk-...", '
        '"models": {"economy": "qwen-turbo", "standard": "qwen-plus", "premium": "qwen-max"}}]`.',
    )
    openai_api_key: str | None = Field(
        None, description="Shortcut: adds an OpenAI-compatible provider named `openai`."
    )
    openai_base_url: str | None = Field(
        None,
        description="Base URL of that provider (e.g. `http://127.0.0.1:11434/v1` for Ollama); "
        "setting it alone adds the provider too.",
    )
    openai_model: str = Field("gpt-4o-mini", description="Model of the `openai` provider.")
    anthropic_api_key: str | None = Field(
        None, description="Shortcut: adds an Anthropic provider named `anthropic`."
    )
    anthropic_base_url: str | None = Field(
        None, description="Base URL of that provider; default: Anthropic's API."
    )
    anthropic_model: str = Field(
        "claude-haiku-4-5", description="Model of the `anthropic` provider."
    )
    ai_routes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON: `task:level`, `task`, `level` or `*` (looked up in that order) to an "
        'ordered list of `provider` or `provider/model`, e.g. `{"continue:premium": '
        '["anthropic", "qwen/qwen-max"], "free": ["qwen/qwen-turbo"]}`. Default: every provider '
        "in order, each with its model for the call's tier (`economy` for free users and simple "
        "tasks).",
    )
    ai_call_timeout_s: float = Field(
        60.0, gt=0, description="Longest one model call may take, first byte to last."
    )
    ai_idle_timeout_s: float = Field(
        20.0, gt=0, description="Longest wait for the next piece of a streaming answer."
    )
    ai_first_piece_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Longest wait for the first piece of an answer over all retries and "
        "providers of one call; then the offline provider answers (if it is a route).",
    )
    ai_retries: int = Field(
        2, ge=0, description="Retries of one provider on 429, 5xx and timeouts before failover."
    )
    ai_backoff_s: float = Field(
        0.5, ge=0, description="First retry delay, doubled each time (a short Retry-After wins)."
    )
    ai_offline_fallback: bool = Field(
        True,
        description="Add the offline provider (no network, no key) as the last route of every "
        "call, so AI features work without any provider.",
    )
    ai_offline_delay_ms: float = Field(
        25.0, ge=0, description="Pause between the offline provider's pieces (watch it type)."
    )
    ai_sync_url: str | None = Field(
        None,
        description="Where AI peers join documents (`ws://host:port/sync`); default: the address "
        "`inkweave serve` listens on. Workers on other machines need it set.",
    )
    ai_context_chars: int = Field(
        12_000,
        ge=1000,
        description="Characters of story bible, summaries and preceding text sent with a call.",
    )
    sensitive_words_file: Path | None = Field(
        None,
        description="UTF-8 file of sensitive words, one a line (`#` comments); default: the "
        "short list shipped in ai_agents/data/sensitive_words.txt.",
    )
    moderation_model_check: bool = Field(
        False,
        description="Also judge AI answers and content made public with a model, through the "
        "first configured provider: OpenAI's moderation endpoint for an OpenAI-kind provider, a "
        "prompt-based classifier otherwise. Off: the word list only.",
    )
    moderation_openai_model: str = Field(
        "omni-moderation-latest", description="The model of OpenAI's moderation endpoint."
    )
    reports_per_hour: int = Field(
        20, gt=0, description="Reports (举报) one user may file per hour."
    )

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            ip_network(proxy, strict=False)  # a ValueError refuses the setting, naming it
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'inkweave.sqlite3').resolve()}"

    def should_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.resolved_database_url().startswith("sqlite")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def resolved_docs_url(self) -> str:
        if self.docs_url:
            return self.docs_url
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'docs.sqlite3').resolve()}"
