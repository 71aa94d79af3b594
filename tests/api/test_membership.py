"""Plans, the member's level and expiry through payment, renewal, upgrade, refund and expiry.

The rules are those documented in `api/services/membership.py`; each is checked as a pure
function and end to end over HTTP (sandbox payments) on SQLite and MariaDB. Times come back
from the API and are whole seconds, so expected expiries are computed exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from api.app import create_app
from api.payments.sandbox import SandboxProvider
from api.services.membership import (
    Plan,
    after_payment,
    after_refund,
    effective_level,
    plan_table,
)
from api.settings import Settings
from jobs.membership import expire_members
from storage.sql.models import Order, User
from tests.api.test_works import make_work, ok, refused
from tests.support.api import Account, Api

# Helpers shared by the other billing tests -------------------------------------------------


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


async def make_admin(api: Api) -> Account:
    admin = await api.sign_up()
    async with api.app.adapters.database.session() as session:
        await session.execute(update(User).where(User.id == admin.id).values(member_level="admin"))
    return admin


def sandbox(api: Api) -> SandboxProvider:
    return api.app.services.orders.payments.sandbox


async def place(
    api: Api, account: Account, level: str = "premium", plan_type: str = "monthly"
) -> dict[str, Any]:
    body = {"level": level, "plan_type": plan_type, "provider": "sandbox"}
    return ok(await api.call("POST", "/api/v1/orders", account, json=body), 201)


def page_path(pay_url: str) -> str:
    """The pay page's path and query: `pay_url` names INKWEAVE_PUBLIC_URL, not the test app."""
    return httpx.URL(pay_url).raw_path.decode()


async def open_pay_page(
    api: Api, pay_url: str, client: httpx.AsyncClient | None = None
) -> dict[str, str]:
    """Open the sandbox pay page like a browser (keeping its cookie); its form's hidden fields."""
    page = await (client or api.http).get(page_path(pay_url))
    assert page.status_code == 200 and 'value="pay"' in page.text, page.text
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))


def outcome(pressed: httpx.Response) -> str:
    assert pressed.status_code == 200, pressed.text
    match = re.search(r"Outcome: <strong>(\w+)</strong>", pressed.text)
    assert match, pressed.text
    return match.group(1)


async def pay_on_page(api: Api, pay_url: str, action: str = "pay") -> str:
    """Open the sandbox pay page like a browser and press a button; return the outcome."""
    form = await open_pay_page(api, pay_url)
    path = httpx.URL(pay_url).path
    return outcome(await api.http.post(path, data={**form, "action": action}))


async def buy(
    api: Api, account: Account, level: str = "premium", plan_type: str = "monthly"
) -> dict[str, Any]:
    """Order and pay in the sandbox; the paid order."""
    placed = await place(api, account, level, plan_type)
    assert await pay_on_page(api, placed["pay_url"]) == "paid"
    return await order_of(api, account, placed["order_no"])


async def order_of(api: Api, account: Account, order_no: str) -> dict[str, Any]:
    return ok(await api.call("GET", f"/api/v1/orders/{order_no}", account))


async def membership(api: Api, account: Account) -> dict[str, Any]:
    return ok(await api.call("GET", "/api/v1/membership", account))


async def stored_user(api: Api, user_id: int) -> User:
    async with api.app.adapters.database.session() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user


async def deliver(api: Api, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await api.http.post("/api/v1/payments/webhooks/sandbox", content=body, headers=headers)


# Plans -------------------------------------------------------------------------------------


async def test_plans_list_every_level_with_exact_prices(api: Api) -> None:
    plans = ok(await api.http.get("/api/v1/membership/plans"))
    assert plans["currency"] == "CNY"
    levels = {level["level"]: level for level in plans["levels"]}
    assert list(levels) == ["free", "basic", "premium"]
    assert levels["free"]["prices"] == []
    table = plan_table(api.app.adapters.settings)
    for level in ("basic", "premium"):
        prices = {p["plan_type"]: p for p in levels[level]["prices"]}
        assert set(prices) == {"monthly", "quarterly", "yearly"}
        for plan_type, price in prices.items():
            plan = table.get(level, plan_type)
            assert plan is not None
            assert price["amount"] == str(plan.amount) and re.fullmatch(
                r"\d+\.\d\d", price["amount"]
            )
            assert price["days"] == plan.days and price["currency"] == "CNY"
    quotas = api.app.adapters.quotas
    assert levels["premium"]["limits"]["works"] == quotas.limits("premium").works
    assert levels["free"]["limits"]["ai_per_day"] == quotas.limits("free").ai_per_day


def test_prices_are_configurable_and_bad_ones_refused(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        plan_prices={"premium": {"monthly": "45.00"}},
        plan_currency="USD",
    )
    table = plan_table(settings)
    premium = table.get("premium", "monthly")
    assert premium is not None and premium.amount == Decimal("45.00")
    assert premium.currency == "USD"
    basic = table.get("basic", "monthly")
    assert basic is not None and basic.amount == Decimal("19.90")  # the default stays
    for bad in (
        {"premium": {"monthly": "45.001"}},
        {"premium": {"monthly": "-1"}},
        {"premium": {"monthly": "abc"}},
        {"premium": {"weekly": "5.00"}},
        {"free": {"monthly": "5.00"}},
    ):
        with pytest.raises(ValueError):
            create_app(Settings(data_dir=tmp_path, plan_prices=bad))
    with pytest.raises(ValueError):  # yen have no cents: 19.90 JPY cannot be charged
        plan_table(Settings(data_dir=tmp_path, plan_currency="JPY"))
    whole = {
        level: {p: "2000" for p in ("monthly", "quarterly", "yearly")}
        for level in ("basic", "premium")
    }
    yen = plan_table(Settings(data_dir=tmp_path, plan_currency="JPY", plan_prices=whole))
    assert yen.monthly_price("basic") == Decimal("2000")


# The rules as functions ---------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_rules_renewal_upgrade_and_downgrade(tmp_path: Path) -> None:
    table = plan_table(Settings(data_dir=tmp_path))
    basic = table.get("basic", "monthly")
    premium = table.get("premium", "monthly")
    premium_year = table.get("premium", "yearly")
    assert basic and premium and premium_year

    assert after_payment("free", None, premium, table, NOW) == ("premium", NOW + 30 * DAY)
    # Renewal while active: from the current expiry, not from now.
    assert after_payment("premium", NOW + 10 * DAY, premium_year, table, NOW) == (
        "premium",
        NOW + 375 * DAY,
    )
    # Renewal after the period ended: from now.
    assert after_payment("premium", NOW - DAY, premium, table, NOW) == ("premium", NOW + 30 * DAY)
    # Upgrade: the unused basic time converts at the ratio of monthly prices.
    level, expire = after_payment("basic", NOW + 10 * DAY, premium, table, NOW)
    credit = int(10 * 86400 * basic.amount / premium.amount)
    assert level == "premium" and expire == NOW + 30 * DAY + timedelta(seconds=credit)
    # A lower level paid while a higher is active adds its converted time to the higher.
    level, expire = after_payment("premium", NOW + DAY, basic, table, NOW)
    converted = int(30 * 86400 * basic.amount / premium.amount)
    assert level == "premium" and expire == NOW + DAY + timedelta(seconds=converted)
    # Admins are never changed by orders.
    assert after_payment("admin", None, premium, table, NOW) == ("admin", None)


def test_rules_refund_and_effective_level(tmp_path: Path) -> None:
    table = plan_table(Settings(data_dir=tmp_path))
    order = Order(
        level="premium",
        plan_type="monthly",
        expire_time=NOW + 40 * DAY,
        prev_level="premium",
        prev_expire_at=NOW + 10 * DAY,
    )
    # Still the change in force: what it replaced comes back.
    assert after_refund("premium", NOW + 40 * DAY, order, table, NOW) == (
        "premium",
        NOW + 10 * DAY,
    )
    # What it replaced has ended meanwhile: free.
    assert after_refund("premium", NOW + 40 * DAY, order, table, NOW + 11 * DAY) == ("free", None)
    # A later order extended it: its 30 days come off the current expiry.
    assert after_refund("premium", NOW + 70 * DAY, order, table, NOW) == ("premium", NOW + 40 * DAY)
    # Nothing left after taking them off: free.
    assert after_refund("premium", NOW + 20 * DAY, order, table, NOW) == ("free", None)

    assert effective_level("premium", NOW + DAY, NOW) == "premium"
    assert effective_level("premium", NOW, NOW) == "free"
    assert effective_level("basic", None, NOW) == "free"
    assert effective_level("admin", None, NOW) == "admin"
    assert effective_level(None, None, NOW) == "free"
    assert Plan("basic", "quarterly", Decimal("1.00"), "CNY").days == 90


# End to end ---------------------------------------------------------------------------------


async def test_done_when_a_free_user_buys_premium_and_is_downgraded_when_it_ends(
    api: Api,
) -> None:
    quotas = api.app.adapters.quotas
    free_works = quotas.limits("free").works
    assert free_works is not None and quotas.limits("premium").works is None
    writer = await api.sign_up()
    for index in range(free_works):
        await make_work(api, writer, title=f"第{index + 1}部")
    body = {"title": "超出的一部", "type": "novel"}
    refused(await api.call("POST", "/api/v1/works", writer, json=body), 402, 40201)

    placed = await place(api, writer, "premium", "monthly")
    assert placed["status"] == "pending" and placed["amount"] == "39.90"
    assert httpx.URL(placed["pay_url"]).path == f"/api/v1/payments/sandbox/{placed['order_no']}"
    assert await pay_on_page(api, placed["pay_url"]) == "paid"

    mine = await membership(api, writer)  # premium at once: no job, no re-login
    assert mine["level"] == "premium" and mine["limits"]["works"] is None
    assert mine["plan"]["order_no"] == placed["order_no"]
    paid = await order_of(api, writer, placed["order_no"])
    assert paid["status"] == "paid"
    assert at(mine["expire_at"]) == at(paid["payment_time"]) + timedelta(days=30)
    ok(await api.call("POST", "/api/v1/works", writer, json=body), 201)
    assert (await membership(api, writer))["usage"]["works"] == free_works + 1

    database = api.app.adapters.database
    end = at(mine["expire_at"])
    assert await expire_members(database, end - timedelta(seconds=1)) == 0
    assert (await membership(api, writer))["level"] == "premium"
    assert await expire_members(database, end) == 1
    assert await expire_members(database, end) == 0  # once

    mine = await membership(api, writer)
    assert mine["level"] == "free" and mine["expire_at"] is None and mine["plan"] is None
    assert mine["limits"]["works"] == free_works
    assert mine["remaining"]["works"] == 0
    refused(await api.call("POST", "/api/v1/works", writer, json=body), 402, 40201)


async def test_renewal_extends_from_the_current_expiry(api: Api) -> None:
    writer = await api.sign_up()
    first = await buy(api, writer, "premium", "monthly")
    second = await buy(api, writer, "premium", "quarterly")
    assert at(second["expire_time"]) == at(first["expire_time"]) + timedelta(days=90)
    user = await stored_user(api, writer.id)
    assert user.member_level == "premium"
    assert user.member_expire_at == at(second["expire_time"])


async def test_upgrade_converts_the_unused_lower_time(api: Api) -> None:
    writer = await api.sign_up()
    basic = await buy(api, writer, "basic", "monthly")
    premium = await buy(api, writer, "premium", "monthly")
    table = plan_table(api.app.adapters.settings)
    paid_at = at(premium["payment_time"])
    unused = (at(basic["expire_time"]) - paid_at).total_seconds()
    ratio = table.monthly_price("basic") / table.monthly_price("premium")
    credit = timedelta(seconds=int(Decimal(int(unused)) * ratio))
    assert at(premium["expire_time"]) == paid_at + timedelta(days=30) + credit
    assert (await membership(api, writer))["level"] == "premium"
    # Buying the lower level while the higher runs is refused.
    body = {"level": "basic", "plan_type": "yearly", "provider": "sandbox"}
    refused(await api.call("POST", "/api/v1/orders", writer, json=body), 409, 40912)


async def test_refund_of_the_latest_order_restores_what_it_replaced(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    basic = await buy(api, writer, "basic", "monthly")
    premium = await buy(api, writer, "premium", "monthly")
    assert (await membership(api, writer))["level"] == "premium"

    path = f"/api/v1/admin/orders/{premium['order_no']}/refund"
    refunded = ok(await api.call("POST", path, admin))
    assert refunded["status"] == "refunded" and refunded["refunded_at"]
    mine = await membership(api, writer)
    assert mine["level"] == "basic" and at(mine["expire_at"]) == at(basic["expire_time"])
    refused(await api.call("POST", path, admin), 409, 40911)  # once only

    ok(await api.call("POST", f"/api/v1/admin/orders/{basic['order_no']}/refund", admin))
    mine = await membership(api, writer)
    assert mine["level"] == "free" and mine["expire_at"] is None
    user = await stored_user(api, writer.id)
    assert (user.member_level, user.member_expire_at) == ("free", None)


async def test_refund_of_an_earlier_order_takes_its_period_off(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    first = await buy(api, writer, "premium", "monthly")
    second = await buy(api, writer, "premium", "monthly")
    ok(await api.call("POST", f"/api/v1/admin/orders/{first['order_no']}/refund", admin))
    mine = await membership(api, writer)
    assert mine["level"] == "premium"
    assert at(mine["expire_at"]) == at(second["expire_time"]) - timedelta(days=30)
    ok(await api.call("POST", f"/api/v1/admin/orders/{second['order_no']}/refund", admin))
    assert (await membership(api, writer))["level"] == "free"


async def test_an_expired_level_counts_as_free_before_the_job_runs(api: Api) -> None:
    writer = await api.sign_up()
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    async with api.app.adapters.database.session() as session:
        await session.execute(
            update(User)
            .where(User.id == writer.id)
            .values(member_level="premium", member_expire_at=past)
        )
    mine = await membership(api, writer)
    assert mine["level"] == "free"
    free_works = api.app.adapters.quotas.limits("free").works
    assert mine["limits"]["works"] == free_works
    # Renewing after the end starts from the payment, not from the old expiry.
    renewed = await buy(api, writer, "premium", "monthly")
    assert at(renewed["expire_time"]) == at(renewed["payment_time"]) + timedelta(days=30)
