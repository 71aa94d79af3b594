"""Who may open which document over `/sync`: the accounts side of the sync server's seam."""

from __future__ import annotations

from sqlalchemy import select

from storage.sql.database import Database
from storage.sql.models import Chapter
from sync_server.auth import Access, Grant

from .security.authenticator import Authenticator, NotAuthenticated, Refusal
from .security.roles import WRITE_ROLES, role_on_work
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
        try:
            principal = await self._authenticator.document_user(token, doc)
        except NotAuthenticated as refusal:
            return refused(refusal)
        async with self._database.session() as session:
            work_id = await session.scalar(select(Chapter.work_id).where(Chapter.content_id == doc))
        if work_id is None:
            return Grant.forbidden("no such document")
        role = await role_on_work(self._database, principal.user.id, work_id)
        if role is None:
            return Grant.forbidden("not a member of this work")
        writes = role in WRITE_ROLES and not principal.read_only
        return Grant(
            Access.WRITE if writes else Access.READ,
            principal=str(principal.user.id),
            # Document tokens are minted for the server's own AI peers only (agent_ports).
            limited=principal.claims.kind != DOCUMENT,
        )
