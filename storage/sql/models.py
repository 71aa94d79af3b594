"""Relational data (brief §3.1) plus what collaboration needs: members, sessions, codes, search.

Column names and meanings follow the brief's tables. Additions: `work_members` (roles),
`refresh_sessions` (rotating refresh tokens), `verification_codes`, `search_terms` (a bigram index
that finds two-character Chinese words on every engine), and on `chapters` the derived text
projection (`text`, `word_count`, `text_updated_at`).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    or_,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator

from storage.crypto.fields import EncryptedString
from storage.crypto.lookup import HASH_CHARS, keep_hash

Id = BigInteger().with_variant(Integer(), "sqlite")
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored naive in UTC (MySQL DATETIME has no zone); always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class AccountStatus(IntEnum):
    """`users.status`: a disabled account can neither sign in nor use a token it still holds."""

    DISABLED = 0
    ACTIVE = 1


USERNAME_KEY_CHARS = 255


def username_key(username: str) -> str:
    """What two usernames may not share: the name without case or compatibility forms
    (NFKC case folding), so that `Alice`, `ALICE` and `Ａｌｉｃｅ` are one name."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded[:USERNAME_KEY_CHARS]


def same_username(username: str) -> ColumnElement[bool]:
    """The accounts whose name `username` may not take: the same name in any case."""
    return or_(User.username == username, User.username_key == username_key(username))


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(50), nullable=False)
    # Kept by `_key_username` whenever `username` is set: the database refuses a second account
    # whose name differs only in case, on every engine (SQLite compares case; MariaDB does not).
    username_key: Mapped[str] = mapped_column(String(USERNAME_KEY_CHARS), nullable=False)
    # Encrypted (migration 0015); unique, and looked up, through their keyed hashes
    # (`storage.crypto.lookup`), kept by `_hash_lookups` whenever they are set.
    email: Mapped[str] = mapped_column(
        EncryptedString(100, "users.email", lookup="lower"), nullable=False
    )
    email_hash: Mapped[str | None] = mapped_column(String(HASH_CHARS))
    phone: Mapped[str | None] = mapped_column(EncryptedString(20, "users.phone", lookup="exact"))
    phone_hash: Mapped[str | None] = mapped_column(String(HASH_CHARS))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    member_level: Mapped[str] = mapped_column(String(20), default="free", nullable=False)
    member_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_words: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    total_works: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # The brief counts hours; seconds are kept so that short sessions add up.
    total_time_seconds: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    status: Mapped[int] = mapped_column(SmallInteger, default=AccountStatus.ACTIVE, nullable=False)
    # Every token carries the generation it was issued in; raising it (password changed or reset,
    # account disabled, "log out everywhere") refuses all tokens issued before.
    token_generation: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", nullable=False
    )

    __table_args__ = (
        Index("idx_member_level", "member_level"),
        UniqueConstraint("username", name="uq_users_username"),
        UniqueConstraint("username_key", name="uq_users_username_key"),
        UniqueConstraint("email_hash", name="uq_users_email_hash"),
        UniqueConstraint("phone_hash", name="uq_users_phone_hash"),
    )

    @validates("username")
    def _key_username(self, _field: str, username: str) -> str:
        self.username_key = username_key(username)
        return username

    @validates("email", "phone")
    def _hash_lookups(self, field: str, value: str | None) -> str | None:
        return keep_hash(self, field, value)


class Work(Timestamps, Base):
    __tablename__ = "works"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    genre: Mapped[str | None] = mapped_column(String(50))
    style: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default="draft", nullable=False, index=True)
    word_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    chapter_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    target_words: Mapped[int | None] = mapped_column(Integer)
    cover_url: Mapped[str | None] = mapped_column(String(500))
    content_id: Mapped[str | None] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    is_deleted: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkMember(Base):
    __tablename__ = "work_members"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # user_id before work_id: MariaDB numbers unnamed foreign keys in the order a table declares
    # them, and migration 0001 declared the user's first (`work_members_ibfk_1`).
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    work_id: Mapped[int] = mapped_column(
        ForeignKey("works.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("work_id", "user_id", name="uq_work_member"),)


class WorkInvitation(Base):
    """An invitation to an email that has no account yet; it becomes a `WorkMember` when someone
    registers with that email, and is gone once claimed or cancelled."""

    __tablename__ = "work_invitations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    work_id: Mapped[int] = mapped_column(
        ForeignKey("works.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(
        EncryptedString(100, "work_invitations.email", lookup="lower"), nullable=False
    )
    email_hash: Mapped[str | None] = mapped_column(String(HASH_CHARS), index=True)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    invited_by: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    # One invitation per work and email: on the hash (migration 0015).
    __table_args__ = (UniqueConstraint("work_id", "email_hash", name="uq_work_invitation"),)

    @validates("email")
    def _hash_lookups(self, field: str, value: str) -> str | None:
        return keep_hash(self, field, value)


class Chapter(Timestamps, Base):
    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    work_id: Mapped[int] = mapped_column(
        ForeignKey("works.id", ondelete="CASCADE"), nullable=False, index=True
    )
    chapter_number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str | None] = mapped_column(String(200))
    content_id: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    word_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    text: Mapped[str] = mapped_column(LongText, default="", nullable=False)
    text_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A work's chapters in order: the next position (max), and keyset pages of the list.
    __table_args__ = (Index("idx_chapters_work_order", "work_id", "sort_order"),)


class TrashedChapter(Base):
    """A chapter in the trash (migration 0014): its row moved out of `chapters`, so every reader
    of `chapters` sees the live ones only; its document (`content_id`) stays in the store."""

    __tablename__ = "chapter_trash"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)  # the chapter's
    work_id: Mapped[int] = mapped_column(
        ForeignKey("works.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # its sort_order then
    title: Mapped[str | None] = mapped_column(String(200))
    content_id: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    word_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    text: Mapped[str] = mapped_column(LongText, default="", nullable=False)
    text_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    deleted_by: Mapped[int | None] = mapped_column(BigInteger)


class Material(Timestamps, Base):
    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    genre: Mapped[str | None] = mapped_column(String(50), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)
    use_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class RefreshSession(Base):
    """One refresh token. Tokens of one login share a family; reusing a spent one kills it."""

    __tablename__ = "refresh_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class VerificationCode(Base):
    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(
        EncryptedString(100, "verification_codes.email", lookup="lower"), nullable=False
    )
    email_hash: Mapped[str | None] = mapped_column(String(HASH_CHARS), index=True)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @validates("email")
    def _hash_lookups(self, field: str, value: str) -> str | None:
        return keep_hash(self, field, value)


class SearchTerm(Base):
    """Inverted index: every CJK bigram and Latin word of a chapter's or material's text."""

    __tablename__ = "search_terms"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    owner_type: Mapped[str] = mapped_column(String(10), nullable=False)
    owner_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    term: Mapped[str] = mapped_column(String(32), nullable=False)
    # How often the term occurs in the text: search ranks by it without reading any text.
    hits: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)

    __table_args__ = (
        # Covering: a term's owners and their counts come from the index alone.
        Index("idx_search_term", "term", "owner_type", "owner_id", "hits"),
        Index("idx_search_owner", "owner_type", "owner_id"),
    )


class OidcIdentity(Base):
    """A user's account at an OpenID Connect provider: (issuer, subject) names it for good."""

    __tablename__ = "oidc_identities"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    issuer: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str | None] = mapped_column(EncryptedString(255, "oidc_identities.email"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_oidc_issuer_subject"),)


class AiHistory(Base):
    """Brief §3.2.2 `ai_histories`, for the embedded default (MongoDB in production)."""

    __tablename__ = "ai_histories"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    work_id: Mapped[int | None] = mapped_column(BigInteger)
    action_type: Mapped[str] = mapped_column(String(20), nullable=False)
    input: Mapped[str] = mapped_column(LongText, nullable=False)
    output: Mapped[str] = mapped_column(LongText, nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    duration: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="ok", nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The moderation verdict on the output (migration 0011; `ai_agents.moderation.Verdict`).
    moderation: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("idx_ai_histories_user", "user_id", "created_at"),
        Index("idx_ai_histories_work", "user_id", "work_id", "created_at"),
    )


class Task(Base):
    """A long operation (AI task, export, import) that any node can report on.

    `status` moves queued → processing → completed | failed | cancelled; `progress` is 0–100.
    """

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    work_id: Mapped[int | None] = mapped_column(BigInteger)
    chapter_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # ai | export | import
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="queued", nullable=False)
    progress: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("idx_tasks_user", "user_id", "kind", "created_at"),
        Index("idx_tasks_status", "status"),
    )


class ChapterSummary(Base):
    """A cached rolling summary of a chapter for AI context; stale once `source_hash` differs."""

    __tablename__ = "chapter_summaries"

    chapter_id: Mapped[int] = mapped_column(
        ForeignKey("chapters.id", ondelete="CASCADE"), primary_key=True
    )
    source_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class WorkNote(Base):
    """Named notes of a work that tools keep: the Snowflake steps, the story bible's premise."""

    __tablename__ = "work_notes"

    work_id: Mapped[int] = mapped_column(
        ForeignKey("works.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    content: Mapped[str] = mapped_column(LongText, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Notification(Base):
    """A message for one user (task finished, invitation, membership change); brief §1.2.7."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    # What `title`/`body` say, rendered in the reader's language (migration 0014; null on older
    # rows, which show their Chinese `title`/`body`).
    message_key: Mapped[str | None] = mapped_column(String(50))
    message_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        Index("idx_notifications_user", "user_id", "created_at"),
        Index("idx_notifications_unread", "user_id", "read_at"),
    )


class PeriodicRun(Base):
    """One run of a periodic job for one period; the primary key makes it once across workers."""

    __tablename__ = "periodic_runs"

    job: Mapped[str] = mapped_column(String(50), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    worker: Mapped[str] = mapped_column(String(100), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)


class Money(TypeDecorator[Decimal]):
    """DECIMAL(10,2) as an exact `Decimal` both ways; SQLite (no decimal type) keeps the text."""

    impl = Numeric(10, 2)
    cache_ok = True
    CENT = Decimal("0.01")

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(20))
        return dialect.type_descriptor(Numeric(10, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or value != value.quantize(self.CENT):
            raise ValueError(f"money must be a Decimal with at most 2 places, not {value!r}")
        value = value.quantize(self.CENT)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(self.CENT)


class Order(Timestamps, Base):
    """Brief §3.1.5 `orders`, plus what billing needs to be exact and auditable.

    `status` moves only pending → paid → refunded and pending → cancelled (conditional UPDATEs);
    a cancelled order that was paid late (`late_paid_at`) may move to refunded. `expire_time` is
    the membership end this order set; `prev_level`/`prev_expire_at` what it replaced (refunds).
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    order_no: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    plan_type: Mapped[str] = mapped_column(String(10), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="pending", nullable=False)
    payment_method: Mapped[str] = mapped_column(String(50), nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(EncryptedString(255, "orders.provider_ref"))
    # Refund notifications find the order by it: through its keyed hash (migration 0015). A
    # bulk UPDATE that sets it sets the hash too (`storage.crypto.lookup.lookup_hash`).
    provider_payment_id: Mapped[str | None] = mapped_column(
        EncryptedString(255, "orders.provider_payment_id", lookup="exact")
    )
    provider_payment_id_hash: Mapped[str | None] = mapped_column(String(HASH_CHARS), index=True)
    payment_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_level: Mapped[str | None] = mapped_column(String(10))
    prev_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(20))
    late_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_orders_status", "status", "created_at"),)

    @validates("provider_payment_id")
    def _hash_lookups(self, field: str, value: str | None) -> str | None:
        return keep_hash(self, field, value)


class PaymentEvent(Base):
    """A provider notification once processed; the unique key makes each one count once."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    order_no: Mapped[str | None] = mapped_column(String(50), index=True)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_event"),)


# --- user reports, moderation (migration 0011) ---


class Report(Base):
    """One user's report of a work, a material or a comment; a second report of the same target
    by the same user updates this row, so each user counts once."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    target_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    # open | dismissed | hidden | disabled (what the admin did with the target's reports)
    status: Mapped[str] = mapped_column(String(10), default="open", nullable=False)
    resolution: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        UniqueConstraint("reporter_id", "target_kind", "target_id", name="uq_report_once"),
        # The admin queue groups a status's reports by target.
        Index("idx_reports_queue", "status", "target_kind", "target_id"),
    )


class ModerationWord(Base):
    """An administrator's change to the shipped word list: `blocked` 1 adds the word, 0 takes a
    shipped word out. `word_key` is the folded word (one row per word, whatever its case)."""

    __tablename__ = "moderation_words"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    word: Mapped[str] = mapped_column(String(100), nullable=False)
    word_key: Mapped[str] = mapped_column(String(100), nullable=False)
    blocked: Mapped[int] = mapped_column(SmallInteger, default=1, nullable=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("word_key", name="uq_moderation_word_key"),)


# --- export watermarks, encrypted fields (migration 0012) ---


class ExportMark(Base):
    """Who an exported file was made for, and when. Its id is in the file's metadata (PDF
    keywords, Word's identifier); its SHA-256 names the file itself where the metadata is out
    of reach (txt, a password-protected file). No foreign keys: a leaked file stays traceable
    after its account or work is deleted."""

    __tablename__ = "export_marks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    work_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    format: Mapped[str] = mapped_column(String(10), nullable=False)
    visible: Mapped[bool] = mapped_column(Boolean, nullable=False)
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


# --- authorship, comments (migration 0013) ---


class DocAuthor(Base):
    """Who writes with a Yjs client id in a document: a user, or an AI task (run by a user).

    Recorded by the sync server before the first update of that client id is stored, first
    writer wins; every character of a chapter is attributed through it (`api.authorship`)."""

    __tablename__ = "doc_authors"

    doc: Mapped[str] = mapped_column(String(50), primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    ai_task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CommentPolicy(Base):
    """A work's comment settings; no row: the defaults (viewers may not comment)."""

    __tablename__ = "comment_policies"

    work_id: Mapped[int] = mapped_column(
        Id, ForeignKey("works.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    viewers_may_comment: Mapped[int] = mapped_column(SmallInteger, default=0, nullable=False)
