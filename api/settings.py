"""The one settings object: `INKWEAVE_*` environment variables and `.env`.

Built once in the composition root (`api.app.create_app`) and handed down; nothing below `api`
reads the environment.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    secret_key: str | None = Field(
        None,
        description="Signs tokens. Default: generated once into data_dir/secret.key.",
    )
    access_token_ttl_s: int = Field(7 * 24 * 3600, gt=0, description="Brief §6.1.1: 7 days.")
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, gt=0)
    doc_token_ttl_s: int = Field(600, gt=0, description="Tokens scoped to one document.")
    code_ttl_s: int = Field(600, gt=0, description="How long an emailed code stays valid.")
    rate_limit_user_per_min: int = Field(100, gt=0, description="Brief §6.3.1.")
    rate_limit_ip_per_min: int = Field(1000, gt=0, description="Brief §6.3.1.")
    login_failures_per_15_min: int = Field(10, gt=0, description="Per account and per IP.")
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
    docs_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the document store; default: SQLite file in data_dir.",
    )
    auto_migrate: bool | None = Field(
        None,
        description="Upgrade the schema on start. Default: yes on SQLite; elsewhere run "
        "`inkweave migrate` once, so that nodes starting together do not race.",
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    room_unload_grace_s: float = Field(
        10.0, ge=0, description="Seconds an empty room stays in memory before it is unloaded."
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
        2.0, ge=0, le=10, description="Longest wait to gather appends into one transaction."
    )
    group_commit_max_batch: int = Field(256, gt=0)
    compact_after_updates: int = Field(
        500, gt=0, description="Compact a document once its log holds this many updates."
    )
    compact_after_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="...or once its log holds this many bytes."
    )

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
