"""Which tokens no longer open anything, kept in SQL so that revocations survive a restart.

- A session is a refresh family (one sign-in and its rotations). Revoking it marks its refresh
  rows; the family counts as revoked once any of its rows is, so a row that a refresh racing
  the revocation adds afterwards is dead too. Access tokens name their family (`fam`).
- An account's `token_generation` is raised to end every session at once: each token carries
  the generation it was issued in, and one from an older generation is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BindParameter, Exists, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.models import RefreshSession, User


def family_revoked_clause(family: str | BindParameter[str]) -> Exists:
    """True where session `family` was revoked (any of its refresh rows is). The only record of
    a logout: a revoked row must outlive the access tokens of its family (a job that prunes
    `refresh_sessions` keeps it at least `INKWEAVE_ACCESS_TOKEN_TTL_S` after `revoked_at`)."""
    return exists().where(
        RefreshSession.family_id == family, RefreshSession.revoked_at.is_not(None)
    )


async def family_revoked(session: AsyncSession, family: str) -> bool:
    return bool(await session.scalar(select(family_revoked_clause(family))))


async def revoke_family(session: AsyncSession, family: str) -> None:
    await session.execute(
        update(RefreshSession)
        .where(RefreshSession.family_id == family, RefreshSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_every_session(
    session: AsyncSession, user_id: int, now: datetime | None = None
) -> None:
    """End every session of the account: tokens issued until now open nothing any more."""
    await session.execute(
        update(User).where(User.id == user_id).values(token_generation=User.token_generation + 1)
    )
    await session.execute(
        update(RefreshSession)
        .where(RefreshSession.user_id == user_id, RefreshSession.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
