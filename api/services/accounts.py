"""Accounts: verification codes, registration, sign-in, rotating refresh tokens, passwords."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.kv.base import KeyValue
from storage.sql.database import Database
from storage.sql.models import AccountStatus, RefreshSession, User, VerificationCode

from ..errors import AppError, Err
from ..security.passwords import hash_password, verify_password
from ..security.tokens import REFRESH, Claims, InvalidToken, TokenService
from ..settings import Settings
from .mail import Mail, Mailer

CODE_ATTEMPTS = 5
LOGIN_WINDOW_S = 15 * 60


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def _now() -> datetime:
    return datetime.now(UTC)


def _code_hash(email: str, code: str) -> str:
    return hashlib.sha256(f"{email.lower()}:{code}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Accounts:
    database: Database
    kv: KeyValue
    tokens: TokenService
    mailer: Mailer
    settings: Settings

    async def send_code(self, email: str, purpose: str) -> None:
        count, left = await self.kv.hit(f"code:{email.lower()}", 60)
        if count > 1:
            raise AppError(
                Err.RATE_LIMITED,
                "one code per minute",
                retry_after_s=max(1, math.ceil(left)),
            )
        code = f"{secrets.randbelow(10**6):06d}"
        async with self.database.session() as session:
            session.add(
                VerificationCode(
                    email=email.lower(),
                    purpose=purpose,
                    code_hash=_code_hash(email, code),
                    expires_at=_now() + timedelta(seconds=self.settings.code_ttl_s),
                )
            )
        minutes = self.settings.code_ttl_s // 60
        await self.mailer.send(
            Mail(
                to=email,
                subject="Inkweave 验证码",
                body=f"您的验证码是 {code}，{minutes} 分钟内有效。Your code: {code}",
            )
        )

    async def _consume_code(self, email: str, purpose: str, code: str) -> None:
        async with self.database.session() as session:
            record = await session.scalar(
                select(VerificationCode)
                .where(
                    VerificationCode.email == email.lower(),
                    VerificationCode.purpose == purpose,
                    VerificationCode.consumed_at.is_(None),
                )
                .order_by(VerificationCode.id.desc())
                .limit(1)
            )
            if record is None or record.expires_at <= _now() or record.attempts >= CODE_ATTEMPTS:
                raise AppError(Err.BAD_CODE)
            if record.code_hash != _code_hash(email, code):
                record.attempts += 1
                await session.commit()
                raise AppError(Err.BAD_CODE)
            record.consumed_at = _now()

    async def register(self, username: str, email: str, password: str, code: str) -> Session:
        async with self.database.session() as session:
            taken = await session.scalar(
                select(User).where(
                    or_(User.username == username, func.lower(User.email) == email.lower())
                )
            )
        if taken is not None:
            raise AppError(Err.USERNAME_TAKEN if taken.username == username else Err.EMAIL_TAKEN)
        await self._consume_code(email, "register", code)
        user = User(
            username=username, email=email.lower(), password_hash=await hash_password(password)
        )
        try:
            async with self.database.session() as session:
                session.add(user)
        except IntegrityError:  # a concurrent registration won the unique index
            raise AppError(Err.CONFLICT, "username or email just taken") from None
        return await self.start_session(user)

    async def login(self, account: str, password: str, address: str) -> Session:
        keys = [f"loginfail:acct:{account.lower()}", f"loginfail:ip:{address}"]
        limit = self.settings.login_failures_per_15_min
        for key in keys:
            if int(await self.kv.get(key) or 0) >= limit:
                raise AppError(
                    Err.LOGIN_THROTTLED,
                    "too many failed sign-ins",
                    retry_after_s=LOGIN_WINDOW_S,
                )
        async with self.database.session() as session:
            user = await session.scalar(
                select(User).where(
                    or_(func.lower(User.email) == account.lower(), User.username == account)
                )
            )
        if user is None or not await verify_password(user.password_hash, password):
            for key in keys:
                await self.kv.hit(key, LOGIN_WINDOW_S)
            raise AppError(Err.BAD_CREDENTIALS)
        if user.status != AccountStatus.ACTIVE:
            raise AppError(Err.ACCOUNT_DISABLED)
        await self.kv.delete(keys[0])
        return await self.start_session(user)

    async def start_session(self, user: User, family: str | None = None) -> Session:
        tokens = self.tokens
        family = family or uuid.uuid4().hex
        refresh_token, refresh_id = tokens.issue_refresh(user.id, family)
        async with self.database.session() as session:
            session.add(
                RefreshSession(
                    id=refresh_id,
                    family_id=family,
                    user_id=user.id,
                    expires_at=_now() + timedelta(seconds=tokens.refresh_ttl_s),
                )
            )
        return Session(user, tokens.issue_access(user.id), refresh_token, tokens.access_ttl_s)

    async def refresh(self, refresh_token: str) -> Session:
        try:
            claims = self.tokens.decode(refresh_token, REFRESH)
        except InvalidToken as exc:
            raise AppError(Err.UNAUTHENTICATED, str(exc)) from None
        async with self.database.session() as session:
            record = await session.get(RefreshSession, claims.token_id, with_for_update=True)
            if record is None:
                raise AppError(Err.UNAUTHENTICATED, "unknown refresh token")
            if record.used_at is not None or record.revoked_at is not None:
                await session.execute(
                    update(RefreshSession)
                    .where(RefreshSession.family_id == record.family_id)
                    .values(revoked_at=_now())
                )
                await session.commit()
                raise AppError(Err.REFRESH_REUSED)
            record.used_at = _now()
            user = await session.get(User, record.user_id)
        if user is None or user.status != AccountStatus.ACTIVE:
            raise AppError(Err.ACCOUNT_DISABLED)
        return await self.start_session(user, family=record.family_id)

    async def logout(self, claims: Claims, refresh_token: str | None) -> None:
        await self.tokens.revoke(claims)
        if not refresh_token:
            return
        try:
            refresh = self.tokens.decode(refresh_token, REFRESH)
        except InvalidToken:
            return
        if refresh.subject != claims.subject:
            return
        async with self.database.session() as session:
            await session.execute(
                update(RefreshSession)
                .where(RefreshSession.family_id == refresh.family)
                .values(revoked_at=_now())
            )

    async def change_password(self, user: User, old: str, new: str) -> None:
        if not await verify_password(user.password_hash, old):
            raise AppError(Err.WRONG_PASSWORD)
        new_hash = await hash_password(new)
        async with self.database.session() as session:
            await session.execute(
                update(User).where(User.id == user.id).values(password_hash=new_hash)
            )
            await session.execute(
                update(RefreshSession)
                .where(RefreshSession.user_id == user.id, RefreshSession.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
