"""User reports (举报) and what administrators do with them.

Any signed-in user reports a work, a material or a comment (`report_targets`) with a reason
from `REASONS` and a note. One row per (reporter, target): reporting again updates it, so each
user counts once; a user's reports are limited per hour (`reports_per_hour`, counted in the
key-value store, so across nodes). The admin queue groups a status's reports by target, most
reported first; resolving a target acts on all of its open reports at once: `dismiss`, `hide`
(the target leaves public view, its owner is notified with the reason) or `disable` (the
owner's account, as `Admin.set_status` does it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.kv.base import KeyValue
from storage.sql.database import Database
from storage.sql.models import AccountStatus, Report

from ..errors import AppError, Err
from .admin import Admin
from .notification_texts import Message
from .notifications import Notifier
from .report_targets import RESOLVERS, Target, TargetResolver, resolver

REASONS = ("spam", "sexual", "violence", "hate", "illegal", "copyright", "other")
Reason = Literal["spam", "sexual", "violence", "hate", "illegal", "copyright", "other"]
Action = Literal["dismiss", "hide", "disable"]
Status = Literal["open", "dismissed", "hidden", "disabled"]
STATUS_OF: dict[str, str] = {"dismiss": "dismissed", "hide": "hidden", "disable": "disabled"}
Sort = Literal["count", "recent"]
WINDOW_S = 3600.0
NOTES_PER_TARGET = 5

REASON_ZH = {
    "spam": "垃圾广告",
    "sexual": "色情低俗",
    "violence": "暴力血腥",
    "hate": "仇恨歧视",
    "illegal": "违法违规",
    "copyright": "侵犯版权",
    "other": "其他",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str = "open"
    kind: str | None = None
    reason: str | None = None
    sort: str = "count"


@dataclass(slots=True)
class QueueItem:
    target_kind: str
    target_id: str
    title: str | None
    owner_id: int | None
    count: int
    latest_at: datetime
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reports:
    database: Database
    kv: KeyValue
    notifier: Notifier
    admin: Admin
    per_hour: int
    targets: Mapping[str, TargetResolver] = field(default_factory=lambda: RESOLVERS)

    async def file(
        self, user_id: int, kind: str, target_id: str, reason: str, note: str
    ) -> tuple[Report, bool]:
        """The user's report of the target, and whether it is new (False: updated)."""
        count, left = await self.kv.hit(f"rl:reports:{user_id}", WINDOW_S)
        if count > self.per_hour:
            raise AppError(
                Err.REPORTS_RATE_LIMITED,
                f"at most {self.per_hour} reports an hour",
                retry_after_s=max(1, math.ceil(left)),
            )
        targets = resolver(kind, self.targets)
        try:
            return await self._store(user_id, kind, target_id, reason, note, targets)
        except IntegrityError:  # the same report, filed twice at once: the other one stands
            return await self._store(user_id, kind, target_id, reason, note, targets)

    async def _store(
        self, user_id: int, kind: str, target_id: str, reason: str, note: str, targets: Any
    ) -> tuple[Report, bool]:
        now = utcnow()
        async with self.database.session() as session:
            await targets.reportable(session, user_id, target_id)
            report = await session.scalar(
                select(Report).where(
                    Report.reporter_id == user_id,
                    Report.target_kind == kind,
                    Report.target_id == target_id,
                )
            )
            created = report is None
            if report is None:
                report = Report(
                    reporter_id=user_id, target_kind=kind, target_id=target_id, created_at=now
                )
                session.add(report)
            # Reporting again after a decision reopens it: the target may have changed since.
            report.reason, report.note, report.status, report.updated_at = reason, note, "open", now
            report.resolution = report.resolved_by = report.resolved_at = None
            await session.flush()
            await session.refresh(report)
        return report, created

    async def queue(
        self, where: QueueFilter, offset: int, limit: int
    ) -> tuple[int, list[QueueItem]]:
        conditions = [Report.status == where.status]
        if where.kind:
            conditions.append(Report.target_kind == where.kind)
        groups = (
            select(
                Report.target_kind,
                Report.target_id,
                func.count().label("reports"),
                func.max(Report.updated_at).label("latest"),
            )
            .where(*conditions)
            .group_by(Report.target_kind, Report.target_id)
        )
        if where.reason:
            groups = groups.having(func.sum(case((Report.reason == where.reason, 1), else_=0)) > 0)
        order = (
            [func.count().desc(), func.max(Report.updated_at).desc()]
            if where.sort == "count"
            else [func.max(Report.updated_at).desc()]
        )
        async with self.database.session() as session:
            total = await session.scalar(select(func.count()).select_from(groups.subquery()))
            rows = (
                await session.execute(
                    groups.order_by(*order, Report.target_kind, Report.target_id)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
            items = [
                QueueItem(kind, target_id, None, None, int(count), latest)
                for kind, target_id, count, latest in rows
            ]
            await self._describe(session, items, conditions)
        return int(total or 0), items

    async def _describe(self, session: Any, items: list[QueueItem], conditions: list[Any]) -> None:
        """Each target's title and owner, reasons counted, and its latest notes."""
        if not items:
            return
        which = or_(
            *(
                and_(Report.target_kind == item.target_kind, Report.target_id == item.target_id)
                for item in items
            )
        )
        reports = await session.scalars(
            select(Report).where(*conditions, which).order_by(Report.updated_at.desc())
        )
        by_target: dict[tuple[str, str], list[Report]] = {}
        for report in reports:
            by_target.setdefault((report.target_kind, report.target_id), []).append(report)
        for item in items:
            found = by_target.get((item.target_kind, item.target_id), [])
            item.reasons = dict(Counter(report.reason for report in found).most_common())
            item.notes = [
                {
                    "reporter_id": report.reporter_id,
                    "reason": report.reason,
                    "note": report.note,
                    "at": report.updated_at,
                }
                for report in found[:NOTES_PER_TARGET]
            ]
            target: Target | None = None
            try:
                target = await resolver(item.target_kind, self.targets).find(
                    session, item.target_id
                )
            except AppError:  # a kind without a resolver (yet), or an id that names nothing
                target = None
            if target is not None:
                item.title, item.owner_id = target.title, target.owner_id

    async def resolve(
        self, admin_id: int, kind: str, target_id: str, action: str, message: str
    ) -> int:
        """Act on the target's open reports; how many there were."""
        targets = resolver(kind, self.targets)
        now = utcnow()
        async with self.database.session() as session:
            target = await targets.find(session, target_id)
            if target is None:
                raise AppError(Err.NOT_FOUND, f"no {kind} {target_id}")
            if action == "disable" and target.owner_id is None:
                raise AppError(Err.CONFLICT, "the platform's own content has no account to disable")
            if action == "disable" and target.owner_id == admin_id:
                raise AppError(Err.CONFLICT, "administrators cannot disable themselves")
            result = await session.execute(
                update(Report)
                .where(
                    Report.target_kind == kind,
                    Report.target_id == target_id,
                    Report.status == "open",
                )
                .values(
                    status=STATUS_OF[action],
                    resolution=message or None,
                    resolved_by=admin_id,
                    resolved_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            resolved = int(result.rowcount or 0)  # type: ignore[attr-defined]
            if not resolved:
                raise AppError(Err.NOT_FOUND, f"no open reports of {kind} {target_id}")
            if action == "hide":
                await targets.hide(session, target_id)
        if action == "disable" and target.owner_id is not None:
            await self.admin.set_status(admin_id, target.owner_id, AccountStatus.DISABLED)
        if action == "hide" and target.owner_id is not None:
            await self.notifier.notify_quietly(
                target.owner_id,
                "system",
                Message("report.hidden_because", {"title": target.title, "reason": message})
                if message
                else Message("report.hidden", {"title": target.title}),
                "",
                {"target_kind": kind, "target_id": target_id, "reason": message},
            )
        return resolved

    async def is_hidden(self, session: Any, kind: str, target_id: str) -> bool:
        """Whether an administrator hid the target (it may not be made public again)."""
        found = await session.scalar(
            select(Report.id)
            .where(
                Report.target_kind == kind,
                Report.target_id == target_id,
                Report.status == "hidden",
            )
            .limit(1)
        )
        return found is not None
