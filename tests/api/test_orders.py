"""Orders: exact amounts, unique numbers, the allowed transitions only, races resolved once."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from api.services.membership import plan_table
from storage.sql.models import Order
from tests.api.test_membership import (
    at,
    buy,
    deliver,
    make_admin,
    membership,
    open_pay_page,
    order_of,
    place,
    sandbox,
)
from tests.api.test_works import ok, refused
from tests.support.api import Api


async def test_an_order_has_an_exact_amount_and_a_unique_number(api: Api) -> None:
    writer = await api.sign_up()
    table = plan_table(api.app.adapters.settings)
    placed = [await place(api, writer, "basic", plan) for plan in ("monthly", "quarterly")]
    placed.append(await place(api, writer, "premium", "yearly"))
    numbers = {order["order_no"] for order in placed}
    assert len(numbers) == 3 and all(re.fullmatch(r"IW\d{14}[0-9A-F]{16}", n) for n in numbers)
    for order in placed:
        plan = table.get(order["level"], order["plan_type"])
        assert plan is not None
        assert order["amount"] == str(plan.amount) and order["currency"] == "CNY"
        assert order["status"] == "pending" and order["payment_method"] == "sandbox"
        assert order["payment_time"] is None and order["expire_time"] is None

    async with api.app.adapters.database.session() as session:
        stored = await session.scalar(select(Order).where(Order.order_no == placed[2]["order_no"]))
        raw = await session.scalar(
            text("SELECT amount FROM orders WHERE order_no = :n"), {"n": placed[2]["order_no"]}
        )
    assert stored is not None and isinstance(stored.amount, Decimal)
    expected = table.get("premium", "yearly")
    assert expected is not None and stored.amount == expected.amount
    # Stored exactly: DECIMAL on MariaDB, the canonical text on SQLite; never a float.
    assert not isinstance(raw, float) and Decimal(str(raw)) == expected.amount


async def test_money_columns_refuse_floats_and_fractions_of_a_cent(api: Api) -> None:
    writer = await api.sign_up()
    for amount in (39.9, Decimal("39.901")):
        with pytest.raises(StatementError):
            async with api.app.adapters.database.session() as session:
                session.add(
                    Order(
                        user_id=writer.id,
                        order_no=f"IWBAD{amount}",
                        level="basic",
                        plan_type="monthly",
                        amount=amount,
                        currency="CNY",
                        payment_method="sandbox",
                    )
                )


async def test_orders_are_private_listed_and_paged(api: Api) -> None:
    writer, other = await api.sign_up(), await api.sign_up()
    first = await place(api, writer, "basic", "monthly")
    second = await buy(api, writer, "basic", "monthly")
    listed = ok(await api.call("GET", "/api/v1/orders?page_size=1", writer))
    assert listed["total"] == 2 and len(listed["items"]) == 1
    assert listed["items"][0]["order_no"] == second["order_no"]  # newest first
    pending = ok(await api.call("GET", "/api/v1/orders?status=pending", writer))
    assert [o["order_no"] for o in pending["items"]] == [first["order_no"]]
    refused(await api.call("GET", f"/api/v1/orders/{first['order_no']}", other), 404)
    refused(await api.call("POST", f"/api/v1/orders/{first['order_no']}/cancel", other), 404)
    refused(await api.call("GET", f"/api/v1/orders/{first['order_no']}"), 401)
    assert ok(await api.call("GET", "/api/v1/orders", other))["total"] == 0


async def test_bad_orders_are_refused(api: Api) -> None:
    writer, admin = await api.sign_up(), await make_admin(api)
    for body in (
        {"level": "free", "plan_type": "monthly"},
        {"level": "admin", "plan_type": "monthly"},
        {"level": "premium", "plan_type": "weekly"},
        {"level": "premium", "plan_type": "monthly", "amount": "0.01"},
    ):
        refused(await api.call("POST", "/api/v1/orders", writer, json=body), 422)
    body = {"level": "premium", "plan_type": "monthly", "provider": "alipay"}
    refused(await api.call("POST", "/api/v1/orders", writer, json=body), 400, 40013)
    body["provider"] = "sandbox"
    refused(await api.call("POST", "/api/v1/orders", admin, json=body), 409, 40901)


async def test_only_the_allowed_transitions_happen(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    order = await place(api, writer)
    base = f"/api/v1/orders/{order['order_no']}"
    refund = f"/api/v1/admin/orders/{order['order_no']}/refund"
    refused(await api.call("POST", refund, admin), 409, 40911)  # pending → refunded: no
    pay = ok(await api.call("POST", f"{base}/pay", writer))
    assert pay["pay_url"] == order["pay_url"]
    left_open = await open_pay_page(api, pay["pay_url"])
    cancelled = ok(await api.call("POST", f"{base}/cancel", writer))
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "user"
    refused(await api.call("POST", f"{base}/cancel", writer), 409, 40911)
    refused(await api.call("POST", f"{base}/pay", writer), 409, 40911)
    refused(await api.call("POST", refund, admin), 409, 40911)  # cancelled, never paid
    # A pay page left open is stale now: pressing pay changes nothing.
    pressed = await api.http.post(
        f"/api/v1/payments/sandbox/{order['order_no']}", data={**left_open, "action": "pay"}
    )
    assert "Outcome: <strong>cancelled</strong>" in pressed.text
    assert (await order_of(api, writer, order["order_no"]))["status"] == "cancelled"

    paid = await buy(api, writer)
    paid_base = f"/api/v1/orders/{paid['order_no']}"
    refused(await api.call("POST", f"{paid_base}/cancel", writer), 409, 40911)
    refunded = ok(await api.call("POST", f"/api/v1/admin/orders/{paid['order_no']}/refund", admin))
    assert refunded["status"] == "refunded"
    refused(await api.call("POST", f"{paid_base}/cancel", writer), 409, 40911)
    refused(await api.call("POST", f"/api/v1/admin/orders/{paid['order_no']}/refund", admin), 409)


async def test_cancel_racing_a_payment_resolves_once(api: Api) -> None:
    writer = await api.sign_up()
    for _ in range(3):
        order = await place(api, writer)
        body = sandbox(api).event_body(order["order_no"], Decimal(order["amount"]), "CNY")
        cancel, delivery = await asyncio.gather(
            api.call("POST", f"/api/v1/orders/{order['order_no']}/cancel", writer),
            deliver(api, body, sandbox(api).sign(body)),
        )
        outcome = ok(delivery)["outcome"]
        final = await order_of(api, writer, order["order_no"])
        if cancel.status_code == 200:
            # The cancel won; the payment arrived late and waits for a refund.
            assert outcome == "refund_needed"
            assert final["status"] == "cancelled" and final["refund_needed"]
        else:
            refused(cancel, 409, 40911)
            assert outcome == "paid" and final["status"] == "paid"
    paid = ok(await api.call("GET", "/api/v1/orders?status=paid", writer))["items"]
    mine = await membership(api, writer)
    # Exactly the paid orders count: each added 30 days after the first payment.
    if paid:
        first = min(at(o["payment_time"]) for o in paid)
        assert mine["level"] == "premium"
        assert at(mine["expire_at"]) == first + timedelta(days=30 * len(paid))
    else:
        assert mine["level"] == "free"
