"""Who may open which document over `/sync`: the accounts side of the sync server's seam."""

from __future__ import annotations

from sqlalchemy import select

from storage.sql.database import Database
from storage.sql.models import Chapter, User, Work, WorkMember
from sync_server.auth import Access, Grant

from .security.tokens import ACCESS, DOCUMENT, InvalidToken, TokenService

WRITE_ROLES = {"owner", "editor"}


async def role_on_work(database: Database, user_id: int, work_id: int) -> str | None:
    """`owner`, `editor`, `viewer`, or None; None as well for a deleted work."""
    async with database.session() as session:
        work = await session.get(Work, work_id)
        if work is None or work.is_deleted:
            return None
        if work.user_id == user_id:
            return "owner"
        return await session.scalar(
            select(WorkMember.role).where(
                WorkMember.work_id == work_id, WorkMember.user_id == user_id
            )
        )


class SyncAuthorizer:
    def __init__(self, database: Database, tokens: TokenService) -> None:
        self._database = database
        self._tokens = tokens

    async def authorize(self, token: str | None, doc: str) -> Grant:
        if not token:
            return Grant.unauthenticated("a token is required: ?token=...")
        scoped_access = None
        try:
            claims = self._tokens.decode(token, ACCESS)
        except InvalidToken:
            try:
                claims = self._tokens.decode(token, DOCUMENT)
            except InvalidToken as exc:
                return Grant.unauthenticated(f"invalid token: {exc}")
            if claims.doc != doc:
                return Grant.forbidden("this token opens another document")
            scoped_access = claims.access
        if await self._tokens.is_revoked(claims):
            return Grant.unauthenticated("token revoked")
        async with self._database.session() as session:
            user = await session.get(User, claims.subject)
            work_id = await session.scalar(select(Chapter.work_id).where(Chapter.content_id == doc))
        if user is None or user.status != 1:
            return Grant.unauthenticated("account disabled or gone")
        if work_id is None:
            return Grant.forbidden("no such document")
        role = await role_on_work(self._database, user.id, work_id)
        if role is None:
            return Grant.forbidden("not a member of this work")
        access = Access.WRITE if role in WRITE_ROLES else Access.READ
        if scoped_access == Access.READ.value:
            access = Access.READ
        return Grant(access, principal=str(user.id))
