"""Plans, prices and the rules that move a member's level and expiry.

Rules (each is a pure function below, so that it can be read and tested on its own):

- Periods are fixed lengths: monthly 30 days, quarterly 90, yearly 365.
- **Renewal** (same level while it is active): the new period starts at the current expiry.
  Once a period has ended (or for a free user), it starts at the moment of payment.
- **Upgrade** (a higher level while a lower one is active): the higher level starts at payment
  and runs for the period bought plus the unused time of the lower level, converted at the
  ratio of the two levels' monthly prices (e.g. 10 days of basic at 19.90 become about 5 days
  of premium at 39.90). Nothing paid for is lost.
- **Downgrade** (a lower level while a higher one is active) is refused when the order is made
  (`LEVEL_DOWNGRADE`). Should such an order be paid anyway (bought before an upgrade was paid),
  its period is converted the same way and added to the higher level.
- Admins are never changed by orders (they may not buy).
- **Refund** reverts the order: if it is still the change in force (the member's expiry is the
  one it set), the level and expiry it replaced come back (free if that time has passed);
  otherwise (a later order or an admin changed things since) its period, converted to the
  level in force, is taken off the current expiry. A member left with no time is free.
- **Expiry**: a paid level whose expiry has passed counts as free at once (`effective_level`);
  the expiry job (`jobs.membership.expire_members`) then writes the downgrade.

Invariant kept by all of the above: a member is basic or premium exactly when they have an
expiry; free and admin have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.database import Database
from storage.sql.models import Order, User, Work

from ..payments.base import to_minor
from ..quotas import LEVELS, Quotas, as_dict
from ..settings import Settings

PAID_LEVELS = ("basic", "premium")
RANK = {level: rank for rank, level in enumerate(LEVELS)}  # free < basic < premium < admin
PERIOD_DAYS = {"monthly": 30, "quarterly": 90, "yearly": 365}
DEFAULT_PRICES: dict[str, dict[str, str]] = {
    "basic": {"monthly": "19.90", "quarterly": "53.90", "yearly": "199.00"},
    "premium": {"monthly": "39.90", "quarterly": "107.90", "yearly": "399.00"},
}
LEVEL_NAMES = {
    "free": ("免费用户", "Free"),
    "basic": ("基础会员", "Basic"),
    "premium": ("高级会员", "Premium"),
    "admin": ("管理员", "Administrator"),
}
PERIOD_NAMES = {
    "monthly": ("月度", "Monthly"),
    "quarterly": ("季度", "Quarterly"),
    "yearly": ("年度", "Yearly"),
}
MAX_PRICE = Decimal("99999999.99")  # DECIMAL(10,2)


def utcnow() -> datetime:
    """Now, to the second: MySQL DATETIME keeps no fractions, so every stored time is whole."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Plan:
    level: str
    plan_type: str
    amount: Decimal
    currency: str

    @property
    def days(self) -> int:
        return PERIOD_DAYS[self.plan_type]

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def description(self) -> str:
        return f"Inkweave {LEVEL_NAMES[self.level][0]} · {PERIOD_NAMES[self.plan_type][0]}"


@dataclass(frozen=True, slots=True)
class PlanTable:
    currency: str
    plans: dict[tuple[str, str], Plan]

    def get(self, level: str, plan_type: str) -> Plan | None:
        return self.plans.get((level, plan_type))

    def monthly_price(self, level: str) -> Decimal:
        return self.plans[(level, "monthly")].amount


def _price(level: str, plan_type: str, text: str, currency: str) -> Decimal:
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"plan_prices.{level}.{plan_type}: {text!r} is not a decimal") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_PRICE:
        raise ValueError(f"plan_prices.{level}.{plan_type}: {text!r} is out of range")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"plan_prices.{level}.{plan_type}: {text!r} has more than 2 places")
    try:
        to_minor(amount, currency)
    except ValueError:
        raise ValueError(
            f"plan_prices.{level}.{plan_type}: {text!r} is not a whole {currency} amount"
        ) from None
    return amount.quantize(Decimal("0.01"))


def plan_table(settings: Settings) -> PlanTable:
    """The defaults with `INKWEAVE_PLAN_PRICES` merged over them; raises on a bad entry."""
    merged = {level: dict(prices) for level, prices in DEFAULT_PRICES.items()}
    for level, prices in settings.plan_prices.items():
        if level not in PAID_LEVELS:
            raise ValueError(f"plan_prices: {level!r} cannot be bought; levels: {PAID_LEVELS}")
        for plan_type, text in prices.items():
            if plan_type not in PERIOD_DAYS:
                raise ValueError(f"plan_prices.{level}: unknown period {plan_type!r}")
            merged[level][plan_type] = text
    plans = {
        (level, plan_type): Plan(
            level,
            plan_type,
            _price(level, plan_type, text, settings.plan_currency),
            settings.plan_currency,
        )
        for level, prices in merged.items()
        for plan_type, text in prices.items()
    }
    return PlanTable(settings.plan_currency, plans)


# The rules ---------------------------------------------------------------------------------


def effective_level(level: str | None, expire_at: datetime | None, now: datetime) -> str:
    """The level in force: a paid level whose period has ended counts as free."""
    level = level or "free"
    if level in PAID_LEVELS and (expire_at is None or expire_at <= now):
        return "free"
    return level


def _convert(span: timedelta, rate_from: Decimal, rate_to: Decimal) -> timedelta:
    """Time bought at one level's price, as time at another's (whole seconds, rounded down)."""
    seconds = (Decimal(int(span.total_seconds())) * rate_from / rate_to).to_integral_value(
        ROUND_FLOOR
    )
    return timedelta(seconds=int(seconds))


def after_payment(
    level: str, expire_at: datetime | None, plan: Plan, plans: PlanTable, now: datetime
) -> tuple[str, datetime | None]:
    """The member's (level, expiry) once `plan` is paid for at `now` (see the module's rules)."""
    if level == "admin":
        return level, expire_at
    current = effective_level(level, expire_at, now)
    if current == "free" or expire_at is None:
        return plan.level, now + plan.period
    if current == plan.level:
        return current, expire_at + plan.period
    price_current, price_bought = plans.monthly_price(current), plans.monthly_price(plan.level)
    if RANK[plan.level] > RANK[current]:
        credit = _convert(expire_at - now, price_current, price_bought)
        return plan.level, now + plan.period + credit
    return current, expire_at + _convert(plan.period, price_bought, price_current)


def after_refund(
    level: str, expire_at: datetime | None, order: Order, plans: PlanTable, now: datetime
) -> tuple[str, datetime | None]:
    """The member's (level, expiry) once the paid `order` is refunded at `now`."""
    if level == "admin":
        return level, expire_at
    if expire_at is not None and order.expire_time is not None and expire_at == order.expire_time:
        previous = effective_level(order.prev_level, order.prev_expire_at, now)
        return (previous, order.prev_expire_at) if previous in PAID_LEVELS else ("free", None)
    current = effective_level(level, expire_at, now)
    if current not in PAID_LEVELS or expire_at is None:
        return level, expire_at
    bought = timedelta(days=PERIOD_DAYS[order.plan_type])
    if order.level != current and (order.level, "monthly") in plans.plans:
        bought = _convert(bought, plans.monthly_price(order.level), plans.monthly_price(current))
    remaining_until = expire_at - bought
    if remaining_until <= now:
        return "free", None
    return current, remaining_until


# Reading -----------------------------------------------------------------------------------


async def locked_user(session: AsyncSession, user_id: int) -> User | None:
    """The user row, read fresh and locked for the rest of the transaction.

    The no-op UPDATE takes the row lock on MySQL and the write lock on SQLite (which ignores
    FOR UPDATE) before anything is read, so that two transactions never both read and then
    both write; the locking SELECT then reads the newest committed row.
    """
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(member_level=User.member_level, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def live_works(session: AsyncSession, user_id: int) -> int:
    """Works the user owns that are not in the trash: what the `works` limit counts."""
    count = await session.scalar(
        select(func.count(Work.id)).where(Work.user_id == user_id, Work.is_deleted == 0)
    )
    return int(count or 0)


def plans_view(plans: PlanTable, quotas: Quotas) -> dict[str, Any]:
    levels = []
    for level in ("free", *PAID_LEVELS):
        prices = [
            {
                "plan_type": plan_type,
                "name": PERIOD_NAMES[plan_type][0],
                "name_en": PERIOD_NAMES[plan_type][1],
                "days": days,
                "amount": str(plans.plans[(level, plan_type)].amount),
                "currency": plans.currency,
            }
            for plan_type, days in PERIOD_DAYS.items()
            if (level, plan_type) in plans.plans
        ]
        levels.append(
            {
                "level": level,
                "name": LEVEL_NAMES[level][0],
                "name_en": LEVEL_NAMES[level][1],
                "limits": as_dict(quotas.limits(level)),
                "prices": prices,
            }
        )
    return {"currency": plans.currency, "levels": levels}


@dataclass(frozen=True, slots=True)
class Membership:
    database: Database
    quotas: Quotas
    plans: PlanTable

    async def overview(self, user_id: int, now: datetime | None = None) -> dict[str, Any]:
        """`GET /membership`: level in force, expiry, the plan behind it, limits, usage."""
        now = now or utcnow()
        async with self.database.session() as session:
            user = await session.get(User, user_id)
            assert user is not None
            works = await live_works(session, user_id)
            order = await session.scalar(
                select(Order)
                .where(
                    Order.user_id == user_id,
                    Order.status == "paid",
                    Order.expire_time > now,
                )
                .order_by(Order.payment_time.desc(), Order.id.desc())
                .limit(1)
            )
        level = effective_level(user.member_level, user.member_expire_at, now)
        limits = self.quotas.limits(level)
        quotas = self.quotas
        ai_today = await quotas.used_today(user_id, "ai", now)
        exports_today = await quotas.used_today(user_id, "export", now)

        def left(limit: int | None, used: int) -> int | None:
            return None if limit is None else max(limit - used, 0)

        def shown(limit: int | None, used: int) -> int:
            # Refused calls are counted too; show no more than the limit.
            return used if limit is None else min(used, limit)

        plan = None
        if order is not None and level in PAID_LEVELS:
            plan = {
                "order_no": order.order_no,
                "level": order.level,
                "plan_type": order.plan_type,
                "paid_at": order.payment_time,
                "expire_time": order.expire_time,
            }
        return {
            "level": level,
            "level_name": LEVEL_NAMES[level][0],
            "expire_at": user.member_expire_at if level in PAID_LEVELS else None,
            "plan": plan,
            "limits": as_dict(limits),
            "usage": {
                "works": works,
                "ai_today": shown(limits.ai_per_day, ai_today),
                "exports_today": shown(limits.exports_per_day, exports_today),
            },
            "remaining": {
                "works": left(limits.works, works),
                "ai_today": left(limits.ai_per_day, ai_today),
                "exports_today": left(limits.exports_per_day, exports_today),
            },
        }
