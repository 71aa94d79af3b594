"""Periodic membership chores: downgrade members whose period ended; cancel unpaid orders.

Plain async functions (the scheduler calls them with the clock it wants). Each is one
conditional UPDATE, so it is safe to run on several workers at once and never undoes a change
that raced it: a renewal that moved the expiry forward no longer matches the WHERE clause.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from storage.sql.database import Database
from storage.sql.models import Order, User

PAID_LEVELS = ("basic", "premium")


async def expire_members(database: Database, now: datetime) -> int:
    """Downgrade to free every basic or premium member whose expiry is not after `now`."""
    async with database.session() as session:
        result = await session.execute(
            update(User)
            .where(
                User.member_level.in_(PAID_LEVELS),
                User.member_expire_at.is_not(None),
                User.member_expire_at <= now,
            )
            .values(member_level="free", member_expire_at=None)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)


async def expire_orders(database: Database, now: datetime, ttl: timedelta | float) -> int:
    """Cancel every order still pending `ttl` (a timedelta or seconds) after it was created.

    A payment that arrives for such an order later is recorded and flagged for a refund
    (`orders.late_paid_at`); it grants nothing.
    """
    ttl = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    async with database.session() as session:
        result = await session.execute(
            update(Order)
            .where(Order.status == "pending", Order.created_at <= now - ttl)
            .values(status="cancelled", cancelled_at=now, cancel_reason="expired")
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)
