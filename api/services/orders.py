"""Orders: create, pay (a provider's verified notification), cancel, refund, and their search.

States move only along pending → paid → refunded and pending → cancelled, each by a conditional
UPDATE (`... WHERE status = 'pending'`), so two racing changes resolve once: whichever commits
first wins, the other matches no row and changes nothing.

Notifications (webhooks) are verified by the provider adapter, then applied in ONE transaction
that (1) inserts the event id under a unique key, (2) moves the order, (3) moves the member's
level and expiry (`api.services.membership` rules). A second delivery of the same event fails
at (1) and is acknowledged as `duplicate` without touching anything; a concurrent one waits for
the first's commit and then fails the same way.

Late and out-of-order notifications:
- "paid" for a cancelled (or expired) order: the money was taken but the order is closed. The
  order stays cancelled and grants nothing; the payment is recorded (`late_paid_at`,
  `provider_payment_id`) and the order is listed for an admin refund (`refund_needed`), which
  moves it cancelled → refunded. Outcome `refund_needed`.
- "paid" again for a paid or refunded order: `already_paid` / ignored.
- "expired" or "failed" after "paid": ignored (a paid order never goes back).
- "refunded" before "paid": refused with 409 so that the provider retries it later.
- The amount and currency of every payment or refund must equal the order's, to the minor unit,
  or the notification is refused (400) and nothing changes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.lookup import lookup_hash, matches
from storage.sql.database import Database
from storage.sql.models import Order, PaymentEvent, User

from ..errors import AppError, Err
from ..payments import Payments
from ..payments.base import (
    AlreadyCompleted,
    Charge,
    PaymentProvider,
    ProviderError,
    WebhookRejected,
    to_minor,
)
from ..payments.base import PaymentEvent as Notification
from ..settings import Settings
from .membership import (
    RANK,
    Plan,
    after_payment,
    after_refund,
    effective_level,
    locked_user,
    plan_table,
    utcnow,
)

log = logging.getLogger(__name__)

_NO_SYNC = {"synchronize_session": False}
EVENT_ID_MAX = 100


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    pay_url: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a notification did: `paid`, `already_paid`, `refund_needed`, `cancelled`,
    `refunded`, `already_refunded`, `ignored`, `duplicate` or `unknown_order`."""

    outcome: str
    order_no: str | None


def new_order_no(now: datetime) -> str:
    """`IW` + UTC time + 64 random bits: sortable, unique, and not guessable."""
    return f"IW{now:%Y%m%d%H%M%S}{secrets.token_hex(8).upper()}"


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _retryable(exc: OperationalError) -> bool:
    """A MySQL deadlock or lock wait timeout: the transaction was rolled back; run it again."""
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in (1205, 1213)


class Orders:
    def __init__(self, database: Database, settings: Settings, payments: Payments) -> None:
        self.database = database
        self.settings = settings
        self.payments = payments
        self.plans = plan_table(settings)

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.order_ttl_s)

    def _charge(self, order: Order, email: str | None = None) -> Charge:
        plan = Plan(order.level, order.plan_type, order.amount, order.currency)
        return Charge(
            order_no=order.order_no,
            amount=order.amount,
            currency=order.currency,
            description=plan.description(),
            expires_at=order.created_at + self.ttl,
            return_url=f"{self.settings.public_url.rstrip('/')}/?order_no={order.order_no}",
            customer_email=email,
            customer_id=order.user_id,
            provider_ref=order.provider_ref,
            payment_id=order.provider_payment_id,
        )

    def _provider_of(self, order: Order) -> PaymentProvider:
        provider = self.payments.get(order.payment_method)
        if provider is None:
            raise AppError(Err.PAYMENT_PROVIDER_OFF, f"{order.payment_method} is not configured")
        return provider

    # Reading ------------------------------------------------------------------------------

    async def get(self, order_no: str, user_id: int | None = None) -> Order:
        """One order; `user_id` limits it to that user's (404 otherwise)."""
        async with self.database.session() as session:
            order = await session.scalar(select(Order).where(Order.order_no == order_no))
        if order is None or (user_id is not None and order.user_id != user_id):
            raise AppError(Err.NOT_FOUND, f"no order {order_no}")
        return order

    async def search(
        self,
        *,
        offset: int,
        limit: int,
        user_id: int | None = None,
        status: str | None = None,
        q: str | None = None,
        refund_needed: bool = False,
    ) -> tuple[int, list[tuple[Order, User]]]:
        query = select(Order, User).join(User, User.id == Order.user_id)
        if user_id is not None:
            query = query.where(Order.user_id == user_id)
        if status is not None:
            query = query.where(Order.status == status)
        if refund_needed:
            query = query.where(Order.status == "cancelled", Order.late_paid_at.is_not(None))
        if q:
            pattern = like_pattern(q.strip())
            query = query.where(
                or_(
                    Order.order_no == q.strip(),
                    User.username.like(pattern, escape="\\"),
                    matches(User.email, q.strip()),  # encrypted: the whole address only
                )
            )
        async with self.database.session() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = (
                await session.execute(
                    query.order_by(Order.created_at.desc(), Order.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
        return int(total or 0), [(row[0], row[1]) for row in rows]

    # Create, pay, cancel -------------------------------------------------------------------

    async def create(
        self,
        user_id: int,
        level: str,
        plan_type: str,
        provider_name: str,
        now: datetime | None = None,
    ) -> Placed:
        now = now or utcnow()
        if provider_name not in self.payments.offered:
            raise AppError(
                Err.PAYMENT_PROVIDER_OFF,
                f"{provider_name!r} is not offered; choose one of {self.payments.offered}",
            )
        provider = self.payments.providers[provider_name]
        plan = self.plans.get(level, plan_type)
        if plan is None:
            raise AppError(Err.BAD_REQUEST, f"no plan {level}/{plan_type}")
        async with self.database.session() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise AppError(Err.UNAUTHENTICATED, "the account no longer exists")
            current = effective_level(user.member_level, user.member_expire_at, now)
            if current == "admin":
                raise AppError(Err.CONFLICT, "administrators have every feature already")
            if RANK[current] > RANK[level]:
                raise AppError(
                    Err.LEVEL_DOWNGRADE,
                    f"{current} is active until {user.member_expire_at:%Y-%m-%d %H:%M} UTC",
                )
            email = user.email
            order = Order(
                user_id=user_id,
                order_no=new_order_no(now),
                level=level,
                plan_type=plan_type,
                amount=plan.amount,
                currency=plan.currency,
                status="pending",
                payment_method=provider.name,
                created_at=now,
                updated_at=now,
            )
            session.add(order)
        try:
            checkout = await provider.create_checkout(self._charge(order, email))
        except ProviderError as exc:
            async with self.database.session() as session:
                await self._move(
                    session,
                    order,
                    "pending",
                    "cancelled",
                    cancelled_at=now,
                    cancel_reason="provider",
                )
            log.warning("checkout failed", extra={"order_no": order.order_no, "error": str(exc)})
            raise AppError(Err.UPSTREAM, f"{provider.name}: {exc}") from None
        async with self.database.session() as session:
            await session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(provider_ref=checkout.provider_ref)
                .execution_options(**_NO_SYNC)
            )
        order.provider_ref = checkout.provider_ref
        return Placed(order, checkout.pay_url)

    async def pay_url(self, user_id: int, order_no: str) -> str:
        """Open the checkout of a pending order again (a closed tab, another device)."""
        order = await self.get(order_no, user_id)
        if order.status != "pending":
            raise AppError(Err.ORDER_STATE, f"the order is {order.status}")
        try:
            checkout = await self._provider_of(order).resume_checkout(self._charge(order))
        except AlreadyCompleted as exc:
            raise AppError(Err.ORDER_STATE, str(exc)) from None
        except ProviderError as exc:
            raise AppError(Err.UPSTREAM, str(exc)) from None
        return checkout.pay_url

    async def cancel(
        self, order_no: str, *, user_id: int | None, now: datetime | None = None
    ) -> Order:
        """pending → cancelled, by its owner (or by anyone when `user_id` is None)."""
        now = now or utcnow()
        order = await self.get(order_no, user_id)
        if order.status != "pending":
            raise AppError(Err.ORDER_STATE, f"the order is {order.status}")
        try:
            await self._provider_of(order).cancel(self._charge(order))
        except AlreadyCompleted:
            raise AppError(Err.ORDER_STATE, "already paid; confirmation on its way") from None
        except ProviderError as exc:
            # Cancel here all the same: a payment that still arrives is flagged for a refund.
            log.warning("provider cancel failed", extra={"order_no": order_no, "error": str(exc)})
        async with self.database.session() as session:
            moved = await self._move(
                session, order, "pending", "cancelled", cancelled_at=now, cancel_reason="user"
            )
        if not moved:
            raise AppError(Err.ORDER_STATE, "the order changed meanwhile")
        return await self.get(order_no)

    async def expire_if_due(self, order: Order, now: datetime | None = None) -> bool:
        """Cancel one pending order whose time is up (the job does all of them periodically)."""
        now = now or utcnow()
        if order.status != "pending" or order.created_at + self.ttl > now:
            return False
        async with self.database.session() as session:
            return await self._move(
                session, order, "pending", "cancelled", cancelled_at=now, cancel_reason="expired"
            )

    async def refund(self, order_no: str, now: datetime | None = None) -> Order:
        """Return the money (through the provider), then paid → refunded and revert the period.

        Also closes a late-paid cancelled order: cancelled → refunded, no membership change.
        """
        now = now or utcnow()
        order = await self.get(order_no)
        late = order.status == "cancelled" and order.late_paid_at is not None
        if order.status != "paid" and not late:
            raise AppError(Err.ORDER_STATE, f"the order is {order.status}; nothing to refund")
        try:
            # Idempotent at the provider (keyed by order), so a retry never refunds twice.
            await self._provider_of(order).refund(self._charge(order))
        except ProviderError as exc:
            raise AppError(Err.UPSTREAM, f"refund failed: {exc}") from None
        async with self.database.session() as session:
            moved = await self._refund_in(session, order, order.status, now)
        if not moved:
            raise AppError(Err.ORDER_STATE, "the order changed meanwhile")
        return await self.get(order_no)

    # Notifications ------------------------------------------------------------------------

    async def receive(
        self,
        provider_name: str,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime | None = None,
    ) -> Delivery:
        """Verify one webhook delivery and apply it."""
        now = now or utcnow()
        provider = self.payments.get(provider_name)
        sandbox_off = provider_name == "sandbox" and "sandbox" not in self.payments.offered
        if provider is None or sandbox_off:
            raise AppError(Err.NOT_FOUND, f"no payment provider {provider_name!r}")
        try:
            event = provider.parse_webhook(body, headers, now.timestamp())
        except WebhookRejected as exc:
            log.warning("webhook refused", extra={"provider": provider_name, "reason": str(exc)})
            raise AppError(Err.PAYMENT_SIGNATURE, str(exc)) from None
        if event.kind == "ignored":
            return Delivery("ignored", event.order_no)
        return await self.apply(provider.name, event, now)

    async def apply(self, provider_name: str, event: Notification, now: datetime) -> Delivery:
        event_id = event.event_id
        if len(event_id) > EVENT_ID_MAX:
            event_id = "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
        for attempt in range(3):
            try:
                async with self.database.session() as session:
                    record = PaymentEvent(
                        provider=provider_name,
                        event_id=event_id,
                        kind=event.kind,
                        order_no=(event.order_no or "")[:50] or None,
                        outcome="processing",
                        created_at=now,
                    )
                    session.add(record)
                    await session.flush()  # the unique key: a second delivery stops here
                    order = await self._event_order(session, provider_name, event)
                    if order is None:
                        record.outcome = "unknown_order"
                        return Delivery("unknown_order", event.order_no)
                    record.order_no = order.order_no
                    record.outcome = await self._apply(session, order, event, now)
                return Delivery(record.outcome, order.order_no)
            except IntegrityError:
                return Delivery("duplicate", event.order_no)
            except OperationalError as exc:
                if attempt == 2 or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")

    async def _event_order(
        self, session: AsyncSession, provider_name: str, event: Notification
    ) -> Order | None:
        order = None
        if event.kind == "refunded" and event.payment_id:
            order = await session.scalar(
                select(Order).where(
                    matches(Order.provider_payment_id, event.payment_id),
                    Order.payment_method == provider_name,
                )
            )
        if order is None and event.order_no:
            order = await session.scalar(select(Order).where(Order.order_no == event.order_no))
        # A provider speaks only for its own orders: a sandbox event never pays a Stripe order.
        if order is None or order.payment_method != provider_name:
            return None
        return order

    async def _apply(
        self, session: AsyncSession, order: Order, event: Notification, now: datetime
    ) -> str:
        if event.kind == "paid":
            return await self._paid(session, order, event, now)
        if event.kind in ("expired", "failed"):
            moved = await self._move(
                session, order, "pending", "cancelled", cancelled_at=now, cancel_reason=event.kind
            )
            return "cancelled" if moved else "ignored"
        if event.kind == "refunded":
            _check_amount(order, event)
            fresh = await self._fresh(session, order.id)
            if fresh.status == "pending":
                raise AppError(Err.ORDER_STATE, "a refund of an order not yet paid: retry later")
            if fresh.status == "refunded":
                return "already_refunded"
            if fresh.status == "cancelled" and fresh.late_paid_at is None:
                return "ignored"
            moved = await self._refund_in(session, fresh, fresh.status, now)
            return "refunded" if moved else "ignored"
        return "ignored"

    async def _paid(
        self, session: AsyncSession, order: Order, event: Notification, now: datetime
    ) -> str:
        _check_amount(order, event)
        if order.provider_ref and event.provider_ref and order.provider_ref != event.provider_ref:
            raise AppError(Err.PAYMENT_MISMATCH, "the payment belongs to another checkout")
        moved = await self._move(
            session,
            order,
            "pending",
            "paid",
            payment_time=now,
            provider_payment_id=event.payment_id,
            provider_payment_id_hash=lookup_hash(Order.provider_payment_id, event.payment_id),
        )
        if moved:
            user = await locked_user(session, order.user_id)
            if user is None:
                return "unknown_order"
            plan = Plan(order.level, order.plan_type, order.amount, order.currency)
            level, expire = after_payment(
                user.member_level, user.member_expire_at, plan, self.plans, now
            )
            await session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(
                    prev_level=user.member_level,
                    prev_expire_at=user.member_expire_at,
                    expire_time=expire,
                )
                .execution_options(**_NO_SYNC)
            )
            user.member_level, user.member_expire_at = level, expire
            return "paid"
        fresh = await self._fresh(session, order.id)
        if fresh.status == "paid":
            return "already_paid"
        if fresh.status == "cancelled":
            if fresh.late_paid_at is None:
                fresh.late_paid_at = now
                fresh.provider_payment_id = event.payment_id or fresh.provider_payment_id
                log.warning("late payment needs a refund", extra={"order_no": order.order_no})
            return "refund_needed"
        return "ignored"

    # Transitions --------------------------------------------------------------------------

    async def _move(
        self, session: AsyncSession, order: Order, source: str, target: str, **values: Any
    ) -> bool:
        """One conditional UPDATE: True if this call made the transition."""
        result = await session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == source)
            .values(status=target, **values)
            .execution_options(**_NO_SYNC)
        )
        return result.rowcount == 1

    async def _fresh(self, session: AsyncSession, order_id: int) -> Order:
        order = await session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert order is not None
        return order

    async def _refund_in(
        self, session: AsyncSession, order: Order, source: str, now: datetime
    ) -> bool:
        if not await self._move(session, order, source, "refunded", refunded_at=now):
            return False
        if source == "paid":
            user = await locked_user(session, order.user_id)
            if user is not None:
                user.member_level, user.member_expire_at = after_refund(
                    user.member_level, user.member_expire_at, order, self.plans, now
                )
        return True


def _check_amount(order: Order, event: Notification) -> None:
    try:
        same = (
            event.amount is not None
            and event.currency is not None
            and event.currency.upper() == order.currency
            and to_minor(event.amount, order.currency) == to_minor(order.amount, order.currency)
        )
    except (ValueError, ArithmeticError):
        same = False
    if not same:
        raise AppError(
            Err.PAYMENT_MISMATCH,
            f"order {order.order_no} is {order.amount} {order.currency}; "
            f"the notification says {event.amount} {event.currency}",
        )
