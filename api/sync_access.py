"""Who may open which document over `/sync`: the accounts side of the sync server's seam."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai_agents.agents.alternatives import alternative_of, preview_parts
from jobs.tasks import PROCESSING, QUEUED
from storage.sql.database import Database
from storage.sql.models import Chapter, Task, User, Work, WorkMember
from storage.sql.sqlite_driver import short_read
from sync_server.auth import Access, Grant

from .security.authenticator import (
    Authenticator,
    NotAuthenticated,
    Refusal,
    WithStanding,
    check_standing,
    read_only,
)
from .security.roles import WRITE_ROLES, role_of
from .security.tokens import DOCUMENT


def refused(refusal: NotAuthenticated) -> Grant:
    """A refused token as the socket's close: 4401, or 4403 for another document's token."""
    match refusal.refusal:
        case Refusal.NO_TOKEN:
            return Grant.unauthenticated("a token is required: ?token=...")
        case Refusal.BAD_TOKEN:
            return Grant.unauthenticated(f"invalid token: {refusal}")
        case Refusal.OTHER_DOCUMENT:
            return Grant.forbidden("this token opens another document")
        case Refusal.REVOKED:
            return Grant.unauthenticated("token revoked")
        case _:
            return Grant.unauthenticated("account disabled or gone")


class SyncAuthorizer:
    def __init__(self, authenticator: Authenticator, database: Database) -> None:
        self._authenticator = authenticator
        self._database = database

    async def authorize(self, token: str | None, doc: str) -> Grant:
        """Token, account, chapter and membership: the database parts in one statement (one
        round trip per socket), and for a preview the task it belongs to."""
        try:
            claims = await self._authenticator.document_claims(token, doc)
            preview = preview_parts(doc)
            content_id = doc if preview is None else preview[0]
            async with self._database.session() as session:
                statement, parameters = _ACCESS.statement_for(claims, content_id=content_id)
                row = (await session.execute(statement, parameters)).first()
                standing = None if row is None else (row.status, row.token_generation)
                check_standing(claims, standing, row is not None and row.family_revoked)
                assert row is not None  # check_standing refused a missing account
                if row.work_id is None:
                    return Grant.forbidden("no such document")
                if preview is not None and not await _open_preview(session, content_id, doc):
                    return Grant.forbidden("this alternative is no longer shown")
        except NotAuthenticated as refusal:
            return refused(refusal)
        work = None if row.owner_id is None else (row.owner_id, row.is_deleted)
        role = role_of(claims.subject, work, row.member_role)
        if role is None:
            return Grant.forbidden("not a member of this work")
        writes = role in WRITE_ROLES and not read_only(claims)
        # A preview is written by its alternative's AI peer (a document token) alone.
        writes = writes and (preview is None or claims.kind == DOCUMENT)
        return Grant(
            Access.WRITE if writes else Access.READ,
            principal=str(claims.subject),
            # Document tokens are minted for the server's own AI peers only (agent_ports).
            limited=claims.kind != DOCUMENT,
        )


# The account's standing, the chapter's work, the work's owner and the caller's membership, in
# one row (none if the account is gone).
_ACCESS = WithStanding(
    short_read(
        select(
            User.status,
            User.token_generation,
            Chapter.work_id,
            Work.user_id.label("owner_id"),
            Work.is_deleted,
            WorkMember.role.label("member_role"),
        )
        .select_from(User)
        .outerjoin(Chapter, Chapter.content_id == bindparam("content_id"))
        .outerjoin(Work, Work.id == Chapter.work_id)
        .outerjoin(
            WorkMember, and_(WorkMember.work_id == Chapter.work_id, WorkMember.user_id == User.id)
        )
    )
)


async def _open_preview(session: AsyncSession, content_id: str, doc: str) -> bool:
    """Whether `doc` is the preview of a running alternative of chapter `content_id`."""
    parts = preview_parts(doc)
    assert parts is not None
    task = await session.get(Task, parts[1])
    if task is None or task.status not in (QUEUED, PROCESSING) or alternative_of(task) is None:
        return False
    chapter_id = select(Chapter.id).where(Chapter.content_id == content_id)
    return task.chapter_id == await session.scalar(chapter_id)
