"""Who may open which document over `/sync`: the accounts side of the sync server's seam."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ai_agents.agents.alternatives import alternative_of, preview_parts
from jobs.tasks import PROCESSING, QUEUED
from storage.sql.database import Database
from storage.sql.models import Chapter, Task
from sync_server.auth import Access, Grant

from .security.authenticator import (
    Authenticator,
    NotAuthenticated,
    Principal,
    Refusal,
    active_user_in,
)
from .security.roles import WRITE_ROLES, role_in
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
        """Token, account, chapter and membership, the database parts in one session (one
        connection checkout per socket)."""
        try:
            claims = await self._authenticator.document_claims(token, doc)
            async with self._database.session() as session:
                user = await active_user_in(session, claims)
                preview = preview_parts(doc)
                content_id = doc if preview is None else preview[0]
                chapter = select(Chapter.work_id).where(Chapter.content_id == content_id)
                work_id = await session.scalar(chapter)
                if work_id is None:
                    return Grant.forbidden("no such document")
                if preview is not None and not await _open_preview(session, content_id, doc):
                    return Grant.forbidden("this alternative is no longer shown")
                role = await role_in(session, user.id, work_id)
        except NotAuthenticated as refusal:
            return refused(refusal)
        if role is None:
            return Grant.forbidden("not a member of this work")
        principal = Principal(user, claims)
        writes = role in WRITE_ROLES and not principal.read_only
        # A preview is written by its alternative's AI peer (a document token) alone.
        writes = writes and (preview is None or claims.kind == DOCUMENT)
        return Grant(
            Access.WRITE if writes else Access.READ,
            principal=str(principal.user.id),
            # Document tokens are minted for the server's own AI peers only (agent_ports).
            limited=principal.claims.kind != DOCUMENT,
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
