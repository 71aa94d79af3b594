"""The gate content passes to become public: not hidden by an administrator, and judged fine
by the moderation chain (the word list, and the model check when it is on)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ai_agents.moderation import Moderator, Verdict

from ..errors import AppError, Err
from .reports import Reports


@dataclass(frozen=True, slots=True)
class PublicationGate:
    moderator: Moderator
    reports: Reports

    async def check(
        self, session: AsyncSession, kind: str, target_id: str | None, text: str
    ) -> Verdict:
        """Raise unless `text` (a new target when `target_id` is None) may be made public."""
        if target_id is not None and await self.reports.is_hidden(session, kind, target_id):
            raise AppError(Err.CONTENT_HIDDEN, f"{kind} {target_id} was hidden by an administrator")
        verdict = await self.moderator.moderate(text)
        if verdict.flagged:
            found = ", ".join(verdict.words or verdict.categories)
            raise AppError(Err.CONTENT_FLAGGED, f"flagged by {verdict.source}: {found}")
        return verdict
