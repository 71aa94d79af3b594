"""Roles on a work: `owner`, `editor` (both write) and `viewer` (reads only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.database import Database
from storage.sql.models import Work, WorkMember
from storage.sql.sqlite_driver import short_read

WRITE_ROLES = {"owner", "editor"}
# The caller whose role `with_role` reads: a parameter of each execution, so that a statement
# is built once (building one and its cache key costs 80–150 µs, bench/README.md).
CALLER = "caller_id"


async def role_on_work(database: Database, user_id: int, work_id: int) -> str | None:
    """`owner`, `editor`, `viewer`, or None; None as well for a deleted work."""
    async with database.session() as session:
        return await role_in(session, user_id, work_id)


async def role_in(session: AsyncSession, user_id: int, work_id: int) -> str | None:
    """`role_on_work`, looked up in `session` (a caller's unit of work)."""
    row = (await session.execute(_ROLE, {"work_id": work_id, CALLER: user_id})).first()
    return role_from(user_id, row)


def with_role(statement: Select[Any]) -> Select[Any]:
    """`statement`, which selects from `works` or joins it, with what `role_from` reads of its
    rows: the work's owner and deleted flag and the membership of the caller whose id is bound
    as `CALLER` when it runs. For a caller that reads a work's rows and their role on it in one
    statement."""
    membership = and_(WorkMember.work_id == Work.id, WorkMember.user_id == bindparam(CALLER))
    return statement.add_columns(
        Work.user_id.label("work_owner_id"),
        Work.is_deleted.label("work_is_deleted"),
        WorkMember.role.label("member_role"),
    ).outerjoin(WorkMember, membership)


def role_from(user_id: int, row: Row[Any] | None) -> str | None:
    """`user_id`'s role, from a row of a statement built by `with_role` (None: no row, or no
    work joined to it)."""
    if row is None or row.work_owner_id is None:
        return None
    return role_of(user_id, (row.work_owner_id, row.work_is_deleted), row.member_role)


_ROLE = short_read(with_role(select().select_from(Work).where(Work.id == bindparam("work_id"))))


def role_of(user_id: int, work: tuple[int, Any] | None, member_role: str | None) -> str | None:
    """`user_id`'s role on a work (`work`: its owner and deleted flag, None if it is gone),
    given their membership row's role (None if they have none)."""
    if work is None or work[1]:
        return None
    return "owner" if work[0] == user_id else member_role


def readable_works(user_id: int) -> Select[tuple[int]]:
    """The ids of the live works `user_id` may read now (owns or is a member of)."""
    member_of = select(WorkMember.work_id).where(WorkMember.user_id == user_id)
    return select(Work.id).where(
        Work.is_deleted == 0, or_(Work.user_id == user_id, Work.id.in_(member_of))
    )
