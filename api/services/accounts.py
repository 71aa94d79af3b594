"""Accounts: verification codes, registration, sign-in, rotating refresh tokens, passwords.

Nothing here tells a stranger whether an account exists: registration checks the emailed code
before it says that a name or an email is taken, a sign-in for an unknown account verifies the
password against a stand-in hash as long as a real one takes, and a password reset answers alike
for every email. A sign-in attempt is counted before its password is verified, so parallel
attempts never outrun the limit. Ending sessions (logout, logout everywhere, a password changed
or reset) is recorded in SQL (`security/revocation.py`) and announced to open sockets at once.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, cast

from sqlalchemy import CursorResult, Result, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.lookup import matches
from storage.kv.base import KeyValue
from storage.sql.database import Database
from storage.sql.models import (
    AccountStatus,
    RefreshSession,
    User,
    VerificationCode,
    same_username,
    username_key,
)

from ..errors import AppError, Err
from ..security.passwords import hash_password, verify_password
from ..security.revocation import family_revoked, revoke_every_session, revoke_family
from ..security.tokens import REFRESH, Claims, InvalidToken, TokenService
from ..settings import Settings
from .access_changes import AccessChanges
from .invitations import Invitations
from .mail import Mail, Mailer

CODE_ATTEMPTS = 5
REGISTER, RESET_PASSWORD = "register", "reset_password"  # what a code is for
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
    invitations: Invitations
    access: AccessChanges

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
        # A reset code goes out whether or not the email has an account: the answer and its
        # timing are the same either way, and only the mailbox's owner learns which it was.
        doing = "重置密码" if purpose == RESET_PASSWORD else "注册"
        await self.mailer.send(
            Mail(
                to=email,
                subject=f"Inkweave {doing}验证码",
                body=f"您的{doing}验证码是 {code}，{minutes} 分钟内有效。Your code: {code}",
            )
        )

    async def _check_code(self, email: str, purpose: str, code: str) -> int:
        """The id of the unspent code for `email` that `code` matches; a wrong guess is counted
        against it. Spent by `_spend_code` in the transaction that acts on it."""
        async with self.database.session() as session:
            record = await session.scalar(
                select(VerificationCode)
                .where(
                    matches(VerificationCode.email, email),
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
            return record.id

    async def _spend_code(self, session: AsyncSession, code_id: int) -> None:
        """Spend a checked code once: of two requests racing with it, one wins."""
        spent = await session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == code_id, VerificationCode.consumed_at.is_(None))
            .values(consumed_at=_now())
        )
        if _rowcount(spent) != 1:
            raise AppError(Err.BAD_CODE)

    async def register(self, username: str, email: str, password: str, code: str) -> Session:
        # The code first: only the email's owner learns whether a name or the email is taken.
        code_id = await self._check_code(email, REGISTER, code)
        async with self.database.session() as session:
            taken = await session.scalar(
                select(User).where(or_(same_username(username), matches(User.email, email)))
            )
        if taken is not None:
            same_name = taken.username_key == username_key(username) or taken.username == username
            raise AppError(Err.USERNAME_TAKEN if same_name else Err.EMAIL_TAKEN)
        user = User(
            username=username, email=email.lower(), password_hash=await hash_password(password)
        )
        try:
            async with self.database.session() as session:
                await self._spend_code(session, code_id)
                session.add(user)
                await session.flush()
                # The code proved the email: invitations waiting for it become memberships.
                joined = await self.invitations.claim(session, user)
        except IntegrityError:  # a concurrent registration won the unique index
            raise AppError(Err.CONFLICT, "username or email just taken") from None
        await self.invitations.welcome(user, joined)
        return await self.start_session(user)

    async def login(self, account: str, password: str, address: str) -> Session:
        account_key, address_key = _login_key(account), f"loginfail:ip:{address}"
        await self._reserve_attempt([account_key, address_key])
        async with self.database.session() as session:
            user = await session.scalar(
                select(User).where(or_(matches(User.email, account), User.username == account))
            )
        # An unknown account is verified against a stand-in hash: it takes as long as a real one.
        verified = await verify_password(user.password_hash if user else None, password)
        if user is None or not verified:
            raise AppError(Err.BAD_CREDENTIALS)  # the reserved attempt stays counted
        await self.kv.delete(account_key)
        await self.kv.release(address_key)
        if user.status != AccountStatus.ACTIVE:
            raise AppError(Err.ACCOUNT_DISABLED)
        return await self.start_session(user)

    async def _reserve_attempt(self, keys: list[str]) -> None:
        """Count a sign-in attempt on every key before its password is verified (an atomic
        increment), so that N parallel attempts count as N; over the limit on one key, the
        attempt is refused and the others' counts are given back."""
        limit = self.settings.login_failures_per_15_min
        reserved: list[str] = []
        for key in keys:
            count, left = await self.kv.hit(key, LOGIN_WINDOW_S)
            if count > limit:
                for taken in reserved:
                    await self.kv.release(taken)
                raise AppError(
                    Err.LOGIN_THROTTLED,
                    "too many failed sign-ins",
                    retry_after_s=max(1, math.ceil(left)),
                )
            reserved.append(key)

    async def start_session(self, user: User, family: str | None = None) -> Session:
        tokens, generation = self.tokens, user.token_generation
        family = family or uuid.uuid4().hex
        refresh_token, refresh_id = tokens.issue_refresh(user.id, family, generation=generation)
        async with self.database.session() as session:
            session.add(
                RefreshSession(
                    id=refresh_id,
                    family_id=family,
                    user_id=user.id,
                    expires_at=_now() + timedelta(seconds=tokens.refresh_ttl_s),
                )
            )
        access_token = tokens.issue_access(user.id, generation=generation, family=family)
        return Session(user, access_token, refresh_token, tokens.access_ttl_s)

    async def refresh(self, refresh_token: str) -> Session:
        try:
            claims = self.tokens.decode(refresh_token, REFRESH)
        except InvalidToken as exc:
            raise AppError(Err.UNAUTHENTICATED, str(exc)) from None
        spent = await self._spend_refresh(claims.token_id)
        if spent is None:
            await self._refuse_spent(claims.token_id)
        family, user, ended = spent
        if user is None or user.status != AccountStatus.ACTIVE:
            raise AppError(Err.ACCOUNT_DISABLED)
        if ended or claims.generation != user.token_generation:
            raise AppError(Err.TOKEN_REVOKED, "this session was ended")
        return await self.start_session(user, family=family)

    async def _spend_refresh(self, token_id: str) -> tuple[str, User | None, bool] | None:
        """Spend a refresh token by a conditional update, so that of parallel refreshes with
        one token exactly one wins on every database (SQLite has no row locks): its family, its
        account and whether the family was revoked meanwhile; None if it was not there to spend."""
        async with self.database.session() as session:
            spent = await session.execute(
                update(RefreshSession)
                .where(
                    RefreshSession.id == token_id,
                    RefreshSession.used_at.is_(None),
                    RefreshSession.revoked_at.is_(None),
                )
                .values(used_at=_now())
            )
            if _rowcount(spent) != 1:
                return None
            record = await session.get(RefreshSession, token_id)
            assert record is not None
            user = await session.get(User, record.user_id)
            return record.family_id, user, await family_revoked(session, record.family_id)

    async def _refuse_spent(self, token_id: str) -> NoReturn:
        """A spent or revoked refresh token came back: whoever holds it, its family ends."""
        async with self.database.session() as session:
            family = await session.scalar(
                select(RefreshSession.family_id).where(RefreshSession.id == token_id)
            )
            if family is not None:
                await revoke_family(session, family)
        if family is None:
            raise AppError(Err.UNAUTHENTICATED, "unknown refresh token")
        raise AppError(Err.REFRESH_REUSED)

    async def logout(self, claims: Claims, refresh_token: str | None) -> None:
        """End the session the access token belongs to, and the one `refresh_token` names."""
        families = {claims.family} if claims.family else set()
        if refresh_token:
            try:
                refresh = self.tokens.decode(refresh_token, REFRESH)
            except InvalidToken:
                refresh = None
            if refresh is not None and refresh.subject == claims.subject and refresh.family:
                families.add(refresh.family)
        async with self.database.session() as session:
            for family in families:
                await revoke_family(session, family)
        if not claims.ends_with_its_session:  # refused by its id instead
            await self.tokens.revoke(claims)
        await self.access.changed([claims.subject])

    async def logout_everywhere(self, user_id: int) -> None:
        async with self.database.session() as session:
            await revoke_every_session(session, user_id)
        await self.access.changed([user_id])

    async def change_password(self, user: User, old: str, new: str) -> None:
        """Every session ends, this one too: the new password signs in again."""
        if not await verify_password(user.password_hash, old):
            raise AppError(Err.WRONG_PASSWORD)
        await self._set_password(user.id, await hash_password(new))

    async def reset_password(self, email: str, code: str, new: str) -> None:
        """Set a new password with a code emailed for it (purpose `reset_password`). Answers
        alike whether or not the email has an account."""
        code_id = await self._check_code(email, RESET_PASSWORD, code)
        new_hash = await hash_password(new)
        async with self.database.session() as session:
            await self._spend_code(session, code_id)
            user = await session.scalar(select(User).where(matches(User.email, email)))
        if user is None:
            return
        await self._set_password(user.id, new_hash)
        for key in (_login_key(user.email), _login_key(user.username)):
            await self.kv.delete(key)

    async def _set_password(self, user_id: int, password_hash: str) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash)
            )
            await revoke_every_session(session, user_id)
        await self.access.changed([user_id])


def _login_key(account: str) -> str:
    return f"loginfail:acct:{account.lower()}"


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount
