"""The one settings object: `INKWEAVE_*` environment variables and `.env`.

Built once in the composition root (`api.app.create_app`) and handed down; nothing below `api`
reads the environment.
"""

from __future__ import annotations

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
    docs_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the document store; default: SQLite file in data_dir.",
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

    def resolved_docs_url(self) -> str:
        if self.docs_url:
            return self.docs_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'docs.sqlite3').resolve()}"
