"""Works, their members and their counters.

Access rules, one place: a user who is not a member of a work (or whose work is in the trash) is
told it does not exist (404); a member who may see it but not do what was asked gets 403.

Counters (`works.chapter_count`, `word_count`, the owner's totals) are kept true here, by the
chapters and by the projection, through `counters`. A work's detail carries the first page of its
chapters (`chapter_pages`), never all of them: a web novel runs to thousands.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.lookup import matches
from storage.sql.database import Database
from storage.sql.models import (
    Chapter,
    SearchTerm,
    TrashedChapter,
    User,
    Work,
    WorkInvitation,
    WorkMember,
)

from ..errors import AppError, Err
from ..quotas import Quotas
from ..security.roles import CALLER, WRITE_ROLES, role_on_work
from .access_changes import AccessChanges
from .chapter_pages import ChapterPage, chapter_page
from .counters import lock_counters, recount_user
from .invitations import Invitations, PendingInvitation, is_email
from .membership import effective_level, live_works, locked_user
from .notification_texts import Message
from .notifications import Notifier

OWNER = "owner"
MEMBER_ROLES = ("editor", "viewer")
SORTABLE = {
    "updated_at": Work.updated_at,
    "created_at": Work.created_at,
    "title": Work.title,
    "word_count": Work.word_count,
}
_NO_SYNC = {"synchronize_session": False}


# The works list's statements, built once for each shape of request (which filters are given,
# the sort and its direction: 64 at most); the caller, the filters' values and the page are
# bound when they run. A statement and its cache key cost 80–150 µs to build (bench/README.md).
def _visible(filtered: tuple[str, ...]) -> Select[Any]:
    """The live works the caller owns or is a member of, with their role, where each column
    named in `filtered` equals the parameter of its name."""
    caller = bindparam(CALLER)
    role = case((Work.user_id == caller, OWNER), else_=WorkMember.role)
    query = (
        select(Work, role.label("role"))
        .outerjoin(WorkMember, and_(WorkMember.work_id == Work.id, WorkMember.user_id == caller))
        .where(Work.is_deleted == 0, or_(Work.user_id == caller, WorkMember.id.is_not(None)))
    )
    for name in filtered:
        query = query.where(getattr(Work, name) == bindparam(name))
    return query


@functools.cache
def _works_page(filtered: tuple[str, ...], sort: str, descending: bool) -> Select[Any]:
    """A page (`offset`, `limit`) of `_visible`, each row with how many there are in all."""
    column = SORTABLE[sort]
    ordering = [column.desc(), Work.id.desc()] if descending else [column, Work.id]
    return (
        _visible(filtered)
        .add_columns(func.count().over().label("total"))
        .order_by(*ordering)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


@functools.cache
def _works_count(filtered: tuple[str, ...]) -> Select[Any]:
    return select(func.count()).select_from(_visible(filtered).subquery())


def now() -> datetime:
    return datetime.now(UTC)


# Access -------------------------------------------------------------------------------------


async def role_or_404(database: Database, user_id: int, work_id: int) -> str:
    return require_role(await role_on_work(database, user_id, work_id), work_id)


def require_role(role: str | None, work_id: int) -> str:
    """The caller's role on work `work_id`; 404 alike for a missing work and one not theirs."""
    if role is None:
        raise AppError(Err.NOT_FOUND, f"no work {work_id}")
    return role


async def _existing(session: AsyncSession, work_id: int) -> Work:
    work = await session.get(Work, work_id)
    if work is None:
        raise AppError(Err.NOT_FOUND, f"no work {work_id}")
    return work


def require_write(role: str) -> None:
    if role not in WRITE_ROLES:
        raise AppError(Err.FORBIDDEN, f"a {role} may read this work but not change it")


def require_owner(role: str) -> None:
    if role != OWNER:
        raise AppError(Err.FORBIDDEN, "only the work's owner may do this")


# Results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Member:
    user_id: int
    username: str
    avatar_url: str | None
    role: str
    joined_at: datetime


@dataclass(slots=True)
class WorkPage:
    total: int
    items: list[tuple[Work, str]]


@dataclass(slots=True)
class WorkDetail:
    work: Work
    role: str
    chapters: ChapterPage  # the first page; `GET /works/{id}/chapters?after=` goes on
    members: list[Member]


@dataclass(slots=True)
class ChapterWords:
    id: int
    chapter_number: int
    title: str | None
    word_count: int


@dataclass(frozen=True, slots=True)
class Works:
    database: Database
    quotas: Quotas
    notifier: Notifier
    access: AccessChanges
    invitations: Invitations

    @property
    def db(self) -> Database:
        return self.database

    # Works ----------------------------------------------------------------------------------

    async def _check_works_limit(self, session: AsyncSession, user_id: int) -> None:
        """Refuse one more live work past the owner's level limit (402 WORKS_LIMIT).

        Locks the owner's row first, so that concurrent creations count one after another.
        """
        user = await locked_user(session, user_id)
        if user is None:
            raise AppError(Err.UNAUTHENTICATED, "the account no longer exists")
        level = effective_level(user.member_level, user.member_expire_at, now())
        limit = self.quotas.limits(level).works
        if limit is not None and await live_works(session, user_id) >= limit:
            raise AppError(Err.WORKS_LIMIT, f"level {level} may keep {limit} works")

    async def create(self, owner: User, fields: dict[str, Any]) -> Work:
        work = Work(user_id=owner.id, **fields)
        async with self.db.session() as session:
            await self._check_works_limit(session, owner.id)
            session.add(work)
            await session.flush()
            await recount_user(session, owner.id)
        return work

    async def list(
        self,
        user_id: int,
        *,
        filters: dict[str, str | None],
        sort: str,
        order: str,
        offset: int,
        limit: int,
    ) -> WorkPage:
        given = {name: value for name, value in filters.items() if value is not None}
        shape = tuple(sorted(given))
        parameters = {CALLER: user_id, **given, "offset": offset, "limit": limit}
        async with self.db.session() as session:
            page = _works_page(shape, sort, order == "desc")
            rows = (await session.execute(page, parameters)).all()
            if rows:
                total = rows[0].total
            elif offset:  # past the last page: no row carried the count
                total = await session.scalar(_works_count(shape), parameters)
            else:
                total = 0
        return WorkPage(int(total or 0), [(row[0], row[1]) for row in rows])

    async def get(self, user_id: int, work_id: int) -> WorkDetail:
        role = await role_or_404(self.database, user_id, work_id)
        async with self.db.session() as session:
            work = await _existing(session, work_id)
            chapters = await chapter_page(session, work_id)
            members = await self._members(session, work)
        return WorkDetail(work, role, chapters, members)

    async def update(self, user_id: int, work_id: int, changes: dict[str, Any]) -> WorkDetail:
        role = await role_or_404(self.database, user_id, work_id)
        require_write(role)
        async with self.db.session() as session:
            work = await session.get(Work, work_id)
            if work is None or work.is_deleted:
                raise AppError(Err.NOT_FOUND, f"no work {work_id}")
            for field, value in changes.items():
                setattr(work, field, value)
            if changes:
                work.version += 1
        return await self.get(user_id, work_id)

    async def trash(self, user_id: int, work_id: int) -> Work:
        require_owner(await role_or_404(self.database, user_id, work_id))
        async with self.db.session() as session:
            work = await lock_counters(session, work_id=work_id)
            assert work is not None
            work.is_deleted = 1
            work.deleted_at = now()
            await session.flush()
            await recount_user(session, work.user_id)
            members = list(
                await session.scalars(
                    select(WorkMember.user_id).where(WorkMember.work_id == work_id)
                )
            )
        await self.access.changed([work.user_id, *members])
        return work

    async def _owned(self, session: AsyncSession, user_id: int, work_id: int) -> Work:
        """A work the user owns, in the trash or not; 404 for anything else."""
        work = await session.get(Work, work_id)
        if work is None or work.user_id != user_id:
            raise AppError(Err.NOT_FOUND, f"no work {work_id}")
        return work

    async def list_trash(self, user_id: int, *, offset: int, limit: int) -> tuple[int, list[Work]]:
        where = and_(Work.user_id == user_id, Work.is_deleted == 1)
        async with self.db.session() as session:
            total = await session.scalar(select(func.count(Work.id)).where(where))
            items = list(
                await session.scalars(
                    select(Work)
                    .where(where)
                    .order_by(Work.deleted_at.desc(), Work.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            )
        return int(total or 0), items

    async def restore(self, user_id: int, work_id: int) -> Work:
        async with self.db.session() as session:
            work = await self._owned(session, user_id, work_id)
            if not work.is_deleted:
                raise AppError(Err.CONFLICT, "this work is not in the trash")
            await self._check_works_limit(session, user_id)
            work.is_deleted = 0
            work.deleted_at = None
            await session.flush()
            await recount_user(session, user_id)
        return work

    async def purge(self, user_id: int, work_id: int) -> None:
        """Delete a work for good (from the trash or not), with its chapters and members.

        The chapters' CRDT logs stay in the document store, unreachable: no chapter row names
        them any more, so no token opens them.
        """
        async with self.db.session() as session:
            await self._owned(session, user_id, work_id)
            await lock_counters(session, work_id=work_id)
            chapter_ids = select(Chapter.id).where(Chapter.work_id == work_id)
            await session.execute(
                delete(SearchTerm)
                .where(SearchTerm.owner_type == "chapter", SearchTerm.owner_id.in_(chapter_ids))
                .execution_options(**_NO_SYNC)
            )
            for statement in (
                delete(Chapter).where(Chapter.work_id == work_id),
                delete(TrashedChapter).where(TrashedChapter.work_id == work_id),
                delete(WorkMember).where(WorkMember.work_id == work_id),
                delete(WorkInvitation).where(WorkInvitation.work_id == work_id),
                delete(Work).where(Work.id == work_id),
            ):
                await session.execute(statement.execution_options(**_NO_SYNC))
            await recount_user(session, user_id)

    async def stats(self, user_id: int, work_id: int) -> tuple[Work, list[ChapterWords]]:
        """The work's counters and every chapter's 字数 (four small columns a chapter)."""
        await role_or_404(self.database, user_id, work_id)
        async with self.db.session() as session:
            work = await _existing(session, work_id)
            rows = await session.execute(
                select(Chapter.id, Chapter.chapter_number, Chapter.title, Chapter.word_count)
                .where(Chapter.work_id == work_id)
                .order_by(Chapter.sort_order, Chapter.id)
            )
            return work, [ChapterWords(*row) for row in rows]

    # Members --------------------------------------------------------------------------------

    async def _members(self, session: AsyncSession, work: Work) -> list[Member]:
        owner = await session.get(User, work.user_id)
        members = []
        if owner is not None:
            members.append(
                Member(owner.id, owner.username, owner.avatar_url, OWNER, work.created_at)
            )
        rows = await session.execute(
            select(WorkMember, User)
            .join(User, User.id == WorkMember.user_id)
            .where(WorkMember.work_id == work.id)
            .order_by(WorkMember.id)
        )
        for member, user in rows.all():
            members.append(
                Member(user.id, user.username, user.avatar_url, member.role, member.created_at)
            )
        return members

    async def members(self, user_id: int, work_id: int) -> list[Member]:
        await role_or_404(self.database, user_id, work_id)
        async with self.db.session() as session:
            work = await _existing(session, work_id)
            return await self._members(session, work)

    async def add_member(
        self, user_id: int, work_id: int, username_or_email: str, role: str
    ) -> Member | PendingInvitation:
        """Add an existing user at once; an email with no account yet is kept as a pending
        invitation (`PendingInvitation`) that registering with that email turns into a member."""
        require_owner(await role_or_404(self.database, user_id, work_id))
        account = username_or_email.strip()
        async with self.db.session() as session:
            invitee = await session.scalar(
                select(User).where(or_(User.username == account, matches(User.email, account)))
            )
        if invitee is None and is_email(account):
            return await self.invitations.keep(work_id, account, role, user_id)
        if invitee is None:
            raise AppError(Err.NO_SUCH_USER, f"no user {account!r}")
        try:
            async with self.db.session() as session:
                work = await session.get(Work, work_id)
                assert work is not None
                if invitee.id == work.user_id:
                    raise AppError(Err.ALREADY_MEMBER, "the owner is already on this work")
                existing = await session.scalar(
                    select(WorkMember.id).where(
                        WorkMember.work_id == work_id, WorkMember.user_id == invitee.id
                    )
                )
                if existing is not None:
                    raise AppError(Err.ALREADY_MEMBER, f"{invitee.username} is already a member")
                member = WorkMember(work_id=work_id, user_id=invitee.id, role=role)
                session.add(member)
                await session.flush()
                # Left over when the invitee registered just as the owner invited their email.
                await session.execute(
                    delete(WorkInvitation).where(
                        WorkInvitation.work_id == work_id,
                        matches(WorkInvitation.email, invitee.email),
                    )
                )
        except IntegrityError:  # a concurrent invitation of the same user won
            raise AppError(Err.ALREADY_MEMBER) from None
        await self._member_notice(invitee.id, work_id, "invited", role)
        return Member(invitee.id, invitee.username, invitee.avatar_url, role, member.created_at)

    async def pending_invitations(self, user_id: int, work_id: int) -> list[PendingInvitation]:
        require_owner(await role_or_404(self.database, user_id, work_id))
        return await self.invitations.pending(work_id)

    async def cancel_invitation(self, user_id: int, work_id: int, invitation_id: int) -> None:
        require_owner(await role_or_404(self.database, user_id, work_id))
        await self.invitations.cancel(work_id, invitation_id)

    async def _membership(
        self, session: AsyncSession, work_id: int, member_id: int
    ) -> tuple[WorkMember, User]:
        row = (
            await session.execute(
                select(WorkMember, User)
                .join(User, User.id == WorkMember.user_id)
                .where(WorkMember.work_id == work_id, WorkMember.user_id == member_id)
            )
        ).first()
        if row is None:
            raise AppError(Err.NOT_FOUND, f"user {member_id} is not a member of this work")
        return row[0], row[1]

    async def change_member(self, user_id: int, work_id: int, member_id: int, role: str) -> Member:
        require_owner(await role_or_404(self.database, user_id, work_id))
        if member_id == user_id:
            raise AppError(Err.BAD_REQUEST, "the owner's role changes only by a transfer")
        async with self.db.session() as session:
            member, user = await self._membership(session, work_id, member_id)
            member.role = role
        await self.access.changed([member_id])
        await self._member_notice(member_id, work_id, "role", role)
        return Member(user.id, user.username, user.avatar_url, role, member.created_at)

    async def remove_member(self, user_id: int, work_id: int, member_id: int) -> None:
        role = await role_or_404(self.database, user_id, work_id)
        if member_id != user_id:
            require_owner(role)
        elif role == OWNER:
            raise AppError(Err.BAD_REQUEST, "the owner cannot leave; transfer the work first")
        async with self.db.session() as session:
            member, _user = await self._membership(session, work_id, member_id)
            await session.delete(member)
        await self.access.changed([member_id])
        if member_id != user_id:
            await self._member_notice(member_id, work_id, "removed", None)

    async def transfer(self, user_id: int, work_id: int, new_owner_id: int) -> WorkDetail:
        require_owner(await role_or_404(self.database, user_id, work_id))
        if new_owner_id == user_id:
            raise AppError(Err.BAD_REQUEST, "you already own this work")
        async with self.db.session() as session:
            member, _user = await self._membership(session, work_id, new_owner_id)
            work = await lock_counters(session, work_id=work_id, user_ids=[new_owner_id])
            assert work is not None
            await session.delete(member)
            await session.flush()
            session.add(WorkMember(work_id=work_id, user_id=user_id, role="editor"))
            work.user_id = new_owner_id
            await session.flush()
            await recount_user(session, user_id)
            await recount_user(session, new_owner_id)
        return await self.get(user_id, work_id)

    async def _member_notice(
        self, user_id: int, work_id: int, change: str, role: str | None
    ) -> None:
        """Tell a user about an invitation, a role change or a removal (never fails the request)."""
        async with self.database.session() as session:
            title = await session.scalar(select(Work.title).where(Work.id == work_id))
        kind = "invitation" if change == "invited" else "work_member"
        message = Message(f"member.{change}", {"work": title, "role": role})
        data = {"work_id": work_id, "change": change, "role": role}
        await self.notifier.notify_quietly(user_id, kind, message, "", data)
