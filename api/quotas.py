"""One table of limits per member level (brief §6.1.2), and the counters that enforce them.

Levels: free, basic, premium, admin. `None` means unlimited. The table can be overridden per
deployment with `INKWEAVE_QUOTAS` (JSON, merged over the defaults level by level). Counters live
in the key-value store, so every node shares them when it is Redis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.kv.base import KeyValue

from .errors import AppError, Err

LEVELS = ("free", "basic", "premium", "admin")


@dataclass(frozen=True, slots=True)
class Limits:
    works: int | None
    ai_per_minute: int | None
    ai_per_day: int | None
    exports_per_day: int | None
    ai_continue_max_chars: int


DEFAULT_LIMITS: dict[str, Limits] = {
    "free": Limits(
        works=10, ai_per_minute=10, ai_per_day=30, exports_per_day=10, ai_continue_max_chars=1000
    ),
    "basic": Limits(
        works=20, ai_per_minute=30, ai_per_day=200, exports_per_day=50, ai_continue_max_chars=3000
    ),
    "premium": Limits(
        works=None,
        ai_per_minute=60,
        ai_per_day=1000,
        exports_per_day=None,
        ai_continue_max_chars=5000,
    ),
    "admin": Limits(
        works=None,
        ai_per_minute=None,
        ai_per_day=None,
        exports_per_day=None,
        ai_continue_max_chars=5000,
    ),
}


def limits_table(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Limits]:
    table = dict(DEFAULT_LIMITS)
    for level, fields in (overrides or {}).items():
        if level not in table:
            raise ValueError(f"unknown member level {level!r} in quotas; known: {LEVELS}")
        table[level] = replace(table[level], **fields)
    return table


def as_dict(limits: Limits) -> dict[str, Any]:
    return asdict(limits)


def _day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d")


def _minute(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d%H%M")


def _seconds_to_midnight(now: datetime) -> float:
    now = now.astimezone(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class Quotas:
    """Counts uses per user per minute and per UTC day; refuses the one past the limit."""

    def __init__(self, kv: KeyValue, table: dict[str, Limits]) -> None:
        self.kv = kv
        self.table = table

    def limits(self, level: str) -> Limits:
        return self.table.get(level, self.table["free"])

    async def use(
        self,
        user_id: int,
        level: str,
        action: str,
        *,
        per_minute: int | None,
        per_day: int | None,
        now: datetime | None = None,
    ) -> None:
        """Count one `action`; raise 429 (per minute) or 403 (daily quota) past a limit."""
        now = now or datetime.now(UTC)
        if per_minute is not None:
            # One counter per UTC minute (from `now`, so a test's clock moves it too).
            key = f"quota:{action}:min:{_minute(now)}:{user_id}"
            count, _left = await self.kv.hit(key, 120.0)
            if count > per_minute:
                left = 60 - now.astimezone(UTC).second - now.microsecond / 1e6
                raise AppError(
                    Err.AI_RATE_LIMITED if action == "ai" else Err.RATE_LIMITED,
                    f"{per_minute} {action} calls per minute for level {level}",
                    retry_after_s=max(1, math.ceil(left)),
                )
        if per_day is not None:
            key = f"quota:{action}:day:{_day(now)}:{user_id}"
            count, _left = await self.kv.hit(key, _seconds_to_midnight(now) + 60)
            if count > per_day:
                raise AppError(
                    Err.QUOTA_EXCEEDED,
                    f"daily {action} quota of {per_day} for level {level} is used up",
                )

    async def used_today(self, user_id: int, action: str, now: datetime | None = None) -> int:
        value = await self.kv.get(f"quota:{action}:day:{_day(now or datetime.now(UTC))}:{user_id}")
        return int(value) if value else 0

    async def use_ai(
        self, user_id: int, level: str, now: datetime | None = None, *, calls: int = 1
    ) -> None:
        """Count `calls` AI calls of one request (its alternatives), all or none: a refused
        request takes back what it counted."""
        limits = self.limits(level)
        now = now or datetime.now(UTC)
        minute = (
            f"quota:ai:min:{_minute(now)}:{user_id}" if limits.ai_per_minute is not None else None
        )
        day = f"quota:ai:day:{_day(now)}:{user_id}" if limits.ai_per_day is not None else None
        for counted in range(calls):
            try:
                await self.use(
                    user_id,
                    level,
                    "ai",
                    per_minute=limits.ai_per_minute,
                    per_day=limits.ai_per_day,
                    now=now,
                )
            except AppError as refusal:
                # The refused call counted its minute, and its day when the minute allowed it.
                days = counted + (refusal.error is Err.QUOTA_EXCEEDED)
                for key, hits in ((minute, counted + 1), (day, days)):
                    for _ in range(hits if key is not None else 0):
                        await self.kv.release(key)
                raise

    async def use_export(self, user_id: int, level: str, now: datetime | None = None) -> None:
        limits = self.limits(level)
        await self.use(
            user_id, level, "export", per_minute=None, per_day=limits.exports_per_day, now=now
        )
