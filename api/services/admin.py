"""Administration: find users, change a member's level, disable or enable an account.

Disabling takes effect everywhere without a restart: sign-in and token refresh refuse the
account, every request with its access tokens is refused (the authenticator checks the
status), every session it had ends (`revoke_every_session`: enabling it again revives no old
token), and its open sockets are re-checked at once and close.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from storage.crypto.lookup import matches
from storage.sql.database import Database
from storage.sql.models import AccountStatus, User

from ..errors import AppError, Err
from ..schemas import MAX_ID
from ..security.revocation import revoke_every_session
from .access_changes import AccessChanges
from .membership import PAID_LEVELS, locked_user, utcnow
from .orders import like_pattern


def _as_id(text: str) -> int | None:
    """The id that `text` spells, if any: ASCII digits only (`"²".isdigit()`, yet int() refuses
    it) and within BIGINT (SQLite overflows on a larger one)."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class Admin:
    database: Database
    access: AccessChanges

    async def users(
        self,
        *,
        offset: int,
        limit: int,
        q: str | None = None,
        level: str | None = None,
        status: int | None = None,
    ) -> tuple[int, list[User]]:
        query = select(User)
        if q:
            text = q.strip()
            pattern = like_pattern(text)
            conditions = [
                User.username.like(pattern, escape="\\"),
                # Encrypted: found by the whole address or number only (their keyed hashes).
                matches(User.email, text),
                matches(User.phone, text),
            ]
            if (user_id := _as_id(text)) is not None:
                conditions.append(User.id == user_id)
            query = query.where(or_(*conditions))
        if level is not None:
            query = query.where(User.member_level == level)
        if status is not None:
            query = query.where(User.status == status)
        async with self.database.session() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            users = list(
                await session.scalars(
                    query.order_by(User.created_at.desc(), User.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            )
        return int(total or 0), users

    async def user(self, user_id: int) -> User:
        async with self.database.session() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise AppError(Err.NOT_FOUND, f"no user {user_id}")
        return user

    async def set_level(
        self,
        admin_id: int,
        user_id: int,
        level: str,
        expire_at: datetime | None,
        now: datetime | None = None,
    ) -> User:
        """Set a level by hand. Basic and premium need a future expiry; free and admin none."""
        now = now or utcnow()
        if user_id == admin_id:
            raise AppError(Err.CONFLICT, "administrators cannot change their own level")
        if level in PAID_LEVELS:
            if expire_at is None or expire_at <= now:
                raise AppError(Err.BAD_REQUEST, f"{level} needs an expire_at in the future")
            expire_at = expire_at.replace(microsecond=0)
        else:
            expire_at = None
        async with self.database.session() as session:
            user = await locked_user(session, user_id)
            if user is None:
                raise AppError(Err.NOT_FOUND, f"no user {user_id}")
            user.member_level, user.member_expire_at = level, expire_at
        return user

    async def set_status(
        self, admin_id: int, user_id: int, status: AccountStatus, now: datetime | None = None
    ) -> User:
        now = now or utcnow()
        if user_id == admin_id:
            raise AppError(Err.CONFLICT, "administrators cannot disable themselves")
        async with self.database.session() as session:
            user = await locked_user(session, user_id)
            if user is None:
                raise AppError(Err.NOT_FOUND, f"no user {user_id}")
            user.status = status
            if status == AccountStatus.DISABLED:
                await revoke_every_session(session, user_id, now)
        if status == AccountStatus.DISABLED:
            await self.access.changed([user_id])
        return user
