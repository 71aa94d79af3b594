"""Webhooks: verified, idempotent, safe against duplicates, replays, late and out-of-order
deliveries, checked for amount and currency; and the Stripe Checkout adapter against a local
server that speaks Stripe's wire format (`tests/support/fake_stripe.py`).

Nothing refused may change anything: each refusal test compares the order, the member and the
processed-event table before and after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from api.payments.base import (
    AlreadyCompleted,
    Charge,
    WebhookRejected,
    from_minor,
    signature_header,
    to_minor,
    verify_signature_header,
)
from api.payments.stripe import MIN_SESSION_S, StripeProvider, form_encode
from api.settings import Settings
from jobs.membership import expire_orders
from storage.sql.models import PaymentEvent
from tests.api.test_membership import (
    at,
    deliver,
    make_admin,
    membership,
    order_of,
    page_path,
    pay_on_page,
    place,
    sandbox,
    stored_user,
)
from tests.api.test_works import ok, refused
from tests.support.api import Account, Api
from tests.support.fake_stripe import FakeStripe, running_fake_stripe, sign
from tests.support.inprocess import running_app
from tests.support.waiting import eventually

# Helpers ------------------------------------------------------------------------------------


async def snapshot(api: Api, account: Account, order_no: str) -> tuple[Any, ...]:
    """Everything a webhook could change: the order, the member, the processed events."""
    order = await order_of(api, account, order_no)
    user = await stored_user(api, account.id)
    async with api.app.adapters.database.session() as session:
        events = await session.scalar(select(func.count(PaymentEvent.id)))
    return order, user.member_level, user.member_expire_at, events


def paid_event(api: Api, order: dict[str, Any], **changes: Any) -> bytes:
    fields = {"amount": Decimal(order["amount"]), "currency": order["currency"], **changes}
    return sandbox(api).event_body(order["order_no"], fields["amount"], fields["currency"])


# Signatures, as functions ----------------------------------------------------------------------


def test_signature_header_verifies_and_refuses() -> None:
    secret, body, now = "whsec_" + secrets.token_hex(16), b'{"id":"evt_1"}', time.time()
    header = signature_header(body, secret, int(now))
    assert verify_signature_header(body, header, [secret], tolerance_s=300, now=now) == int(now)
    # Stripe's own library format (independent implementation in the fake) verifies too.
    theirs = sign(body, secret, int(now))
    ours = verify_signature_header(body, theirs, [secret], tolerance_s=300, now=now)
    assert ours == int(now)
    # A rotated secret: either listed secret may have signed.
    assert verify_signature_header(body, header, ["whsec_old", secret], tolerance_s=300, now=now)
    cases = {
        "tampered body": (body + b" ", header),
        "other secret": (body, signature_header(body, "whsec_other", int(now))),
        "too old": (body, signature_header(body, secret, int(now) - 301)),
        "too far ahead": (body, signature_header(body, secret, int(now) + 301)),
        "no v1": (body, f"t={int(now)}"),
        "no t": (body, header.split(",")[1]),
        "garbage t": (body, header.replace("t=", "t=x")),
        "empty": (body, ""),
    }
    for name, (payload, value) in cases.items():
        with pytest.raises(WebhookRejected):
            verify_signature_header(payload, value, [secret], tolerance_s=300, now=now)
            pytest.fail(name)
    # Several v1 entries: one valid is enough (Stripe sends one per active secret).
    both = f"t={int(now)},v1={'0' * 64},{header.split(',')[1]}"
    assert verify_signature_header(body, both, [secret], tolerance_s=300, now=now)


def test_minor_units_are_exact() -> None:
    assert to_minor(Decimal("39.90"), "CNY") == 3990
    assert to_minor(Decimal("0.01"), "usd") == 1
    assert to_minor(Decimal("500"), "JPY") == 500
    assert from_minor(3990, "CNY") == Decimal("39.90") and str(from_minor(3990, "CNY")) == "39.90"
    assert from_minor(500, "JPY") == Decimal("500")
    with pytest.raises(ValueError):
        to_minor(Decimal("0.001"), "CNY")
    with pytest.raises(ValueError):
        to_minor(Decimal("1.5"), "JPY")


def test_form_encoding_is_stripes() -> None:
    pairs = form_encode(
        {
            "mode": "payment",
            "expires_at": 1700000000,
            "line_items": [{"quantity": 1, "price_data": {"currency": "cny"}}],
            "metadata": {"order_no": "IW1"},
            "customer_email": None,
            "flag": True,
        }
    )
    assert pairs == [
        ("mode", "payment"),
        ("expires_at", "1700000000"),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "cny"),
        ("metadata[order_no]", "IW1"),
        ("flag", "true"),
    ]


# Sandbox webhooks ----------------------------------------------------------------------------


async def test_two_identical_deliveries_at_once_change_the_order_once(api: Api) -> None:
    writer = await api.sign_up()
    order = await place(api, writer)
    body = paid_event(api, order)
    headers = sandbox(api).sign(body)
    first, second = await asyncio.gather(deliver(api, body, headers), deliver(api, body, headers))
    outcomes = sorted([ok(first)["outcome"], ok(second)["outcome"]])
    assert outcomes == ["duplicate", "paid"]
    paid = await order_of(api, writer, order["order_no"])
    assert paid["status"] == "paid"
    # Extended once: exactly one period from the payment.
    user = await stored_user(api, writer.id)
    assert user.member_level == "premium"
    assert user.member_expire_at == at(paid["payment_time"]) + timedelta(days=30)
    async with api.app.adapters.database.session() as session:
        assert await session.scalar(select(func.count(PaymentEvent.id))) == 1


async def test_many_distinct_payments_of_one_order_grant_one_period(api: Api) -> None:
    """Different event ids for the same payment (completed + async succeeded, say)."""
    writer = await api.sign_up()
    order = await place(api, writer)
    deliveries = [paid_event(api, order) for _ in range(4)]
    answers = await asyncio.gather(
        *(deliver(api, body, sandbox(api).sign(body)) for body in deliveries)
    )
    outcomes = sorted(ok(answer)["outcome"] for answer in answers)
    assert outcomes == ["already_paid"] * 3 + ["paid"]
    paid = await order_of(api, writer, order["order_no"])
    user = await stored_user(api, writer.id)
    assert user.member_expire_at == at(paid["payment_time"]) + timedelta(days=30)


async def test_forged_stale_and_mismatched_webhooks_are_refused_and_change_nothing(
    api: Api,
) -> None:
    writer = await api.sign_up()
    order = await place(api, writer)
    before = await snapshot(api, writer, order["order_no"])
    body = paid_event(api, order)
    forged_key = secrets.token_hex(32)
    now = int(time.time())
    attempts = {
        "forged": (body, {"Inkweave-Signature": signature_header(body, forged_key, now)}),
        "unsigned": (body, {}),
        "tampered": (
            body.replace(b'"amount":"39.90"', b'"amount":"0.01"'),
            sandbox(api).sign(body),
        ),
        "stale": (body, sandbox(api).sign(body, timestamp=now - 3600)),
        "not json": (b"{oops", sandbox(api).sign(b"{oops")),
    }
    for name, (payload, headers) in attempts.items():
        response = await deliver(api, payload, headers)
        refused(response, 400, 40011)
        assert await snapshot(api, writer, order["order_no"]) == before, name

    mismatches = {
        "amount": paid_event(api, order, amount=Decimal("0.01")),
        "amount by a cent": paid_event(
            api, order, amount=Decimal(order["amount"]) - Decimal("0.01")
        ),
        "currency": paid_event(api, order, currency="USD"),
    }
    for name, payload in mismatches.items():
        response = await deliver(api, payload, sandbox(api).sign(payload))
        refused(response, 400, 40012)
        assert await snapshot(api, writer, order["order_no"]) == before, name


async def test_a_replayed_event_id_changes_nothing(api: Api) -> None:
    writer = await api.sign_up()
    order = await place(api, writer)
    body = paid_event(api, order)
    assert ok(await deliver(api, body, sandbox(api).sign(body)))["outcome"] == "paid"
    after_first = await snapshot(api, writer, order["order_no"])
    # The same delivery again, freshly signed (a provider retry): acknowledged, nothing moves.
    assert ok(await deliver(api, body, sandbox(api).sign(body)))["outcome"] == "duplicate"
    assert await snapshot(api, writer, order["order_no"]) == after_first
    # A "cancelled" replayed with the paid event's id is the same event: nothing moves either.
    event = json.loads(body)
    event["type"] = "payment.cancelled"
    twisted = json.dumps(event).encode()
    assert ok(await deliver(api, twisted, sandbox(api).sign(twisted)))["outcome"] == "duplicate"
    assert await snapshot(api, writer, order["order_no"]) == after_first


async def test_a_payment_after_the_order_expired_is_flagged_for_refund(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    order = await place(api, writer)
    ttl = api.app.adapters.settings.order_ttl_s
    database = api.app.adapters.database
    created = at(order["created_at"])
    assert await expire_orders(database, created + timedelta(seconds=ttl - 1), ttl) == 0
    assert await expire_orders(database, created + timedelta(seconds=ttl), ttl) == 1
    expired = await order_of(api, writer, order["order_no"])
    assert expired["status"] == "cancelled" and expired["cancel_reason"] == "expired"

    body = paid_event(api, order)
    assert ok(await deliver(api, body, sandbox(api).sign(body)))["outcome"] == "refund_needed"
    late = await order_of(api, writer, order["order_no"])
    assert late["status"] == "cancelled" and late["refund_needed"] is True
    assert (await membership(api, writer))["level"] == "free"  # nothing granted

    listed = ok(await api.call("GET", "/api/v1/admin/orders?refund_needed=true", admin))
    assert [item["order_no"] for item in listed["items"]] == [order["order_no"]]
    refunded = ok(await api.call("POST", f"/api/v1/admin/orders/{order['order_no']}/refund", admin))
    assert refunded["status"] == "refunded" and refunded["refund_needed"] is False
    assert (await membership(api, writer))["level"] == "free"


async def test_out_of_order_notifications(api: Api) -> None:
    writer = await api.sign_up()
    order = await place(api, writer)
    provider = sandbox(api)
    amount, currency = Decimal(order["amount"]), order["currency"]
    # A refund before the payment: refused with 409 so that the provider retries it later.
    refund = provider.event_body(order["order_no"], amount, currency, type="payment.refunded")
    refused(await deliver(api, refund, provider.sign(refund)), 409, 40911)
    paid = provider.event_body(order["order_no"], amount, currency)
    assert ok(await deliver(api, paid, provider.sign(paid)))["outcome"] == "paid"
    # A cancel after the payment: ignored, the order stays paid.
    cancel = provider.event_body(order["order_no"], amount, currency, type="payment.cancelled")
    assert ok(await deliver(api, cancel, provider.sign(cancel)))["outcome"] == "ignored"
    assert (await order_of(api, writer, order["order_no"]))["status"] == "paid"
    # The retried refund now applies and reverts the period.
    assert ok(await deliver(api, refund, provider.sign(refund)))["outcome"] == "refunded"
    assert (await order_of(api, writer, order["order_no"]))["status"] == "refunded"
    assert (await membership(api, writer))["level"] == "free"
    # Anything later changes nothing.
    again = provider.event_body(order["order_no"], amount, currency)
    assert ok(await deliver(api, again, provider.sign(again)))["outcome"] == "ignored"
    assert (await membership(api, writer))["level"] == "free"


async def test_the_sandbox_pay_page_cancel_button_and_unknown_orders(api: Api) -> None:
    writer = await api.sign_up()
    order = await place(api, writer, "basic", "yearly")
    page = await api.http.get(page_path(order["pay_url"]))
    assert "沙箱支付" in page.text and order["amount"] in page.text
    assert await pay_on_page(api, order["pay_url"], "cancel") == "cancelled"
    assert (await order_of(api, writer, order["order_no"]))["cancel_reason"] == "failed"
    closed = await api.http.get(page_path(order["pay_url"]))
    assert closed.status_code == 200 and 'value="pay"' not in closed.text
    refused(await api.http.get("/api/v1/payments/sandbox/IWNOSUCHORDER"), 404)
    body = sandbox(api).event_body("IWNOSUCHORDER", Decimal("1.00"), "CNY")
    assert ok(await deliver(api, body, sandbox(api).sign(body)))["outcome"] == "unknown_order"
    refused(await api.http.post("/api/v1/payments/webhooks/paypal", content=b"{}"), 404)


# Stripe -------------------------------------------------------------------------------------


@pytest.fixture
async def stripe_api(settings: Settings) -> AsyncIterator[tuple[Api, FakeStripe]]:
    async with running_fake_stripe() as stripe:
        configured = settings.model_copy(
            update={
                "stripe_secret_key": stripe.api_key,
                "stripe_webhook_secret": stripe.webhook_secret,
                "stripe_api_base": stripe.url,
            }
        )
        async with running_app(configured) as app:
            client = Api(app)
            stripe.webhook_url = f"{app.http_url}/api/v1/payments/webhooks/stripe"
            try:
                yield client, stripe
            finally:
                await client.close()


async def stripe_order(api: Api, account: Account, **body: str) -> dict[str, Any]:
    request = {"level": "premium", "plan_type": "monthly", "provider": "stripe", **body}
    return ok(await api.call("POST", "/api/v1/orders", account, json=request), 201)


async def test_stripe_checkout_is_created_in_stripes_format(
    stripe_api: tuple[Api, FakeStripe],
) -> None:
    api, stripe = stripe_api
    assert ok(await api.http.get("/api/v1/payments/providers"))["providers"] == ["stripe"]
    writer = await api.sign_up()
    refused(
        await api.call(
            "POST",
            "/api/v1/orders",
            writer,
            json={"level": "premium", "plan_type": "monthly", "provider": "sandbox"},
        ),
        400,
        40013,
    )
    order = await stripe_order(api, writer, plan_type="yearly")
    [call] = stripe.requests
    assert (call.method, call.path) == ("POST", "/v1/checkout/sessions")
    assert call.headers["authorization"] == f"Bearer {stripe.api_key}"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.headers["idempotency-key"] == f"checkout-{order['order_no']}"
    item = call.form["line_items"][0]
    assert item["price_data"]["unit_amount"] == str(to_minor(Decimal(order["amount"]), "CNY"))
    assert item["price_data"]["currency"] == "cny" and item["quantity"] == "1"
    assert "高级会员" in item["price_data"]["product_data"]["name"]
    assert call.form["client_reference_id"] == order["order_no"]
    assert call.form["metadata"]["order_no"] == order["order_no"]
    assert call.form["customer_email"] == writer.email
    session_id = next(iter(stripe.sessions))
    assert order["pay_url"] == stripe.sessions[session_id]["url"]
    # Paying again reopens the same open session.
    again = ok(await api.call("POST", f"/api/v1/orders/{order['order_no']}/pay", writer))
    assert again["pay_url"] == order["pay_url"]


async def test_stripe_payment_cancel_and_refund_end_to_end(
    stripe_api: tuple[Api, FakeStripe],
) -> None:
    api, stripe = stripe_api
    admin, writer = await make_admin(api), await api.sign_up()
    order = await stripe_order(api, writer)
    session_id = next(iter(stripe.sessions))
    delivered = await stripe.complete(session_id)
    assert ok(delivered) == {"outcome": "paid", "order_no": order["order_no"]}
    paid = await order_of(api, writer, order["order_no"])
    assert paid["status"] == "paid" and paid["payment_method"] == "stripe"
    assert (await membership(api, writer))["level"] == "premium"
    # Stripe redelivers the same event: acknowledged as a duplicate.
    assert ok(await stripe.deliver(delivered.request.content))["outcome"] == "duplicate"

    ok(await api.call("POST", f"/api/v1/admin/orders/{order['order_no']}/refund", admin))
    refund_call = stripe.requests[-1]
    assert refund_call.path == "/v1/refunds"
    intent = stripe.sessions[session_id]["payment_intent"]
    assert refund_call.form["payment_intent"] == intent
    assert refund_call.form["amount"] == str(to_minor(Decimal(order["amount"]), "CNY"))
    assert refund_call.headers["idempotency-key"] == f"refund-{order['order_no']}"
    assert (await membership(api, writer))["level"] == "free"
    # Stripe then notifies charge.refunded: already done, nothing changes.
    await eventually(lambda: len(stripe.deliveries) > 2, what="Stripe's charge.refunded delivery")
    assert ok(stripe.deliveries[-1])["outcome"] == "already_refunded"

    # Cancelling an open order expires its Checkout Session at Stripe.
    other = await stripe_order(api, writer, level="basic")
    other_session = next(sid for sid in stripe.sessions if sid != session_id)
    cancelled = ok(await api.call("POST", f"/api/v1/orders/{other['order_no']}/cancel", writer))
    assert cancelled["status"] == "cancelled"
    assert stripe.sessions[other_session]["status"] == "expired"


async def test_stripe_refuses_what_is_not_stripes(stripe_api: tuple[Api, FakeStripe]) -> None:
    api, stripe = stripe_api
    writer = await api.sign_up()
    order = await stripe_order(api, writer)
    session_id = next(iter(stripe.sessions))
    paid = stripe.pay(session_id)
    before = await snapshot(api, writer, order["order_no"])
    body = stripe.event("checkout.session.completed", paid)
    url = "/api/v1/payments/webhooks/stripe"
    other_secret = "whsec_" + secrets.token_hex(24)
    for headers in (
        {"Stripe-Signature": sign(body, other_secret)},
        {"Stripe-Signature": sign(body, stripe.webhook_secret, int(time.time()) - 301)},
        {},
    ):
        refused(await api.http.post(url, content=body, headers=headers), 400, 40011)
    wrong = stripe.event("checkout.session.completed", {**paid, "amount_total": 1})
    refused(await api.http.post(url, content=wrong, headers=stripe.signed(wrong)), 400, 40012)
    yen = stripe.event("checkout.session.completed", {**paid, "currency": "jpy"})
    refused(await api.http.post(url, content=yen, headers=stripe.signed(yen)), 400, 40012)
    elsewhere = stripe.event("checkout.session.completed", {**paid, "id": "cs_test_other"})
    refused(
        await api.http.post(url, content=elsewhere, headers=stripe.signed(elsewhere)), 400, 40012
    )
    # The sandbox is off once Stripe is configured: its webhooks are not heard at all.
    sb = sandbox(api).event_body(order["order_no"], Decimal(order["amount"]), "CNY")
    refused(await deliver(api, sb, sandbox(api).sign(sb)), 404)
    assert await snapshot(api, writer, order["order_no"]) == before
    # Events Checkout does not act on are acknowledged and ignored.
    unrelated = stripe.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert ok(await stripe.deliver(unrelated))["outcome"] == "ignored"
    assert await snapshot(api, writer, order["order_no"]) == before


async def test_stripe_errors_become_upstream_errors(settings: Settings) -> None:
    async with running_fake_stripe() as stripe:
        configured = settings.model_copy(
            update={"stripe_secret_key": "sk_test_wrong", "stripe_api_base": stripe.url}
        )
        async with running_app(configured) as app:
            api = Api(app)
            try:
                writer = await api.sign_up()
                body = {"level": "premium", "plan_type": "monthly", "provider": "stripe"}
                refused(await api.call("POST", "/api/v1/orders", writer, json=body), 502, 50201)
                orders = ok(await api.call("GET", "/api/v1/orders", writer))
                assert [o["cancel_reason"] for o in orders["items"]] == ["provider"]
            finally:
                await api.close()


async def test_stripe_adapter_against_the_fake_directly() -> None:
    async with running_fake_stripe() as stripe:
        provider = StripeProvider(stripe.api_key, stripe.webhook_secret, api_base=stripe.url)
        charge = Charge(
            order_no="IWTEST1",
            amount=Decimal("39.90"),
            currency="CNY",
            description="Inkweave 高级会员 · 月度",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),  # raised to Stripe's minimum
            return_url="http://127.0.0.1/",
        )
        checkout = await provider.create_checkout(charge)
        session = stripe.sessions[checkout.provider_ref or ""]
        assert session["amount_total"] == 3990 and session["currency"] == "cny"
        # Raised from the order's own expiry (not from the clock): a retry sends the same.
        assert session["expires_at"] == int(charge.expires_at.timestamp()) + MIN_SESSION_S
        # The same order again: Stripe's idempotency replays the first session.
        assert (await provider.create_checkout(charge)).provider_ref == checkout.provider_ref
        paid = stripe.pay(session["id"])
        body = stripe.event("checkout.session.completed", paid)
        event = provider.parse_webhook(
            body, {"stripe-signature": sign(body, stripe.webhook_secret)}, time.time()
        )
        assert (event.kind, event.order_no, event.amount, event.currency) == (
            "paid",
            "IWTEST1",
            Decimal("39.90"),
            "CNY",
        )
        assert event.payment_id == paid["payment_intent"]
        completed = dataclasses.replace(charge, provider_ref=session["id"])
        with pytest.raises(AlreadyCompleted):
            await provider.cancel(completed)
