"""Invitations of emails that have no account yet: kept until someone registers with that email,
who then joins the work with the role the owner chose; or until the owner cancels them.

Access is checked by `Works` (only the owner invites, lists and cancels); this module keeps the
rows, emails the invitee once, and turns the rows into memberships at registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.lookup import matches
from storage.sql.database import Database
from storage.sql.models import User, Work, WorkInvitation, WorkMember

from ..errors import AppError, Err
from .notification_texts import Message
from .notifications import Notifier

ROLE_NAMES = {"editor": "编辑者（可写）", "viewer": "只读成员"}
_ROLE_NAMES_EN = {"editor": "editor (may write)", "viewer": "viewer (read only)"}
# An owner may not turn the server into a mailing list: this many waiting invitations per work.
MAX_PENDING_PER_WORK = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

PENDING_NOTICE = {
    "zh": "该邮箱还没有注册账号：邀请已保存，对方用这个邮箱注册后会自动加入本作品。",
    "en": "No account uses this email yet: the invitation is kept, and they join this work "
    "as soon as they sign up with it.",
}


def is_email(account: str) -> bool:
    """Usernames cannot hold "@", so anything with one is meant as an email."""
    return "@" in account


@dataclass(slots=True)
class PendingInvitation:
    id: int
    work_id: int
    email: str
    role: str
    invited_by: int
    created_at: datetime


def _pending(row: WorkInvitation) -> PendingInvitation:
    return PendingInvitation(
        row.id, row.work_id, row.email, row.role, row.invited_by, row.created_at
    )


@dataclass(slots=True)
class Claimed:
    work_id: int
    title: str
    role: str
    invited_by: int


@dataclass(frozen=True, slots=True)
class Invitations:
    database: Database
    notifier: Notifier
    public_url: str

    async def keep(self, work_id: int, email: str, role: str, inviter_id: int) -> PendingInvitation:
        """Keep (or, invited again, update the role of) the invitation of `email` to the work;
        the invitee is emailed the first time only."""
        email = email.strip().lower()
        if not _EMAIL.match(email):
            raise AppError(Err.VALIDATION, f"{email!r} is not an email address")
        for attempt in range(2):
            try:
                async with self.database.session() as session:
                    row, created = await self._upsert(session, work_id, email, role, inviter_id)
                    title = await session.scalar(select(Work.title).where(Work.id == work_id))
                    inviter = await session.scalar(
                        select(User.username).where(User.id == inviter_id)
                    )
                break
            except IntegrityError:  # a concurrent invitation of the same email won: update it
                if attempt:
                    raise AppError(Err.CONFLICT, "the invitation changed meanwhile") from None
        if created and self.notifier.should_email("invitation"):
            self._email_invitee(email, str(title), role, str(inviter))
        return _pending(row)

    async def _upsert(
        self, session: AsyncSession, work_id: int, email: str, role: str, inviter_id: int
    ) -> tuple[WorkInvitation, bool]:
        row = await session.scalar(
            select(WorkInvitation).where(
                WorkInvitation.work_id == work_id, matches(WorkInvitation.email, email)
            )
        )
        if row is not None:
            row.role, row.invited_by = role, inviter_id
            return row, False
        waiting = await session.scalar(
            select(func.count(WorkInvitation.id)).where(WorkInvitation.work_id == work_id)
        )
        if int(waiting or 0) >= MAX_PENDING_PER_WORK:
            raise AppError(Err.CONFLICT, f"{MAX_PENDING_PER_WORK} invitations are already waiting")
        row = WorkInvitation(
            work_id=work_id,
            email=email,
            role=role,
            invited_by=inviter_id,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        await session.flush()
        return row, True

    def _email_invitee(self, email: str, title: str, role: str, inviter: str) -> None:
        body = (
            f"{inviter} 邀请你以{ROLE_NAMES.get(role, role)}的身份参与《{title}》。\n"
            f"用这个邮箱（{email}）在 {self.public_url} 注册，就会自动加入。\n\n"
            f"{inviter} invited you to “{title}” as {_ROLE_NAMES_EN.get(role, role)}.\n"
            f"Sign up at {self.public_url} with this email ({email}) to join."
        )
        self.notifier.email_in_background(email, f"{inviter} 邀请你参与《{title}》", body)

    async def pending(self, work_id: int) -> list[PendingInvitation]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(WorkInvitation)
                .where(WorkInvitation.work_id == work_id)
                .order_by(WorkInvitation.id)
            )
            return [_pending(row) for row in rows]

    async def cancel(self, work_id: int, invitation_id: int) -> None:
        async with self.database.session() as session:
            result = await session.execute(
                delete(WorkInvitation).where(
                    WorkInvitation.id == invitation_id, WorkInvitation.work_id == work_id
                )
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise AppError(Err.NOT_FOUND, f"no pending invitation {invitation_id} on this work")

    async def claim(self, session: AsyncSession, user: User) -> list[Claimed]:
        """Turn the invitations of `user`'s email into memberships, in the caller's transaction
        (the one that creates the account). Call `welcome` with the result once it committed."""
        rows = list(
            await session.scalars(
                select(WorkInvitation)
                .where(matches(WorkInvitation.email, user.email))
                .order_by(WorkInvitation.id)
            )
        )
        claimed = []
        for row in rows:
            # Deleting first: an invitation the owner cancelled meanwhile grants nothing.
            gone = await session.execute(delete(WorkInvitation).where(WorkInvitation.id == row.id))
            if not gone.rowcount:  # type: ignore[attr-defined]
                continue
            session.add(WorkMember(work_id=row.work_id, user_id=user.id, role=row.role))
            title = await session.scalar(select(Work.title).where(Work.id == row.work_id))
            claimed.append(Claimed(row.work_id, str(title), row.role, row.invited_by))
        return claimed

    async def welcome(self, user: User, claimed: list[Claimed]) -> None:
        """Tell the new member, and whoever invited them, that they joined (never fails)."""
        for joined in claimed:
            await self.notifier.notify_quietly(
                user.id,
                "invitation",
                Message("invitation.joined", {"work": joined.title, "role": joined.role}),
                "",
                {"work_id": joined.work_id, "change": "invited", "role": joined.role},
            )
            await self.notifier.notify_quietly(
                joined.invited_by,
                "work_member",
                Message(
                    "invitation.accepted",
                    {"user": user.username, "work": joined.title, "role": joined.role},
                ),
                "",
                {
                    "work_id": joined.work_id,
                    "change": "joined",
                    "role": joined.role,
                    "user_id": user.id,
                },
            )
