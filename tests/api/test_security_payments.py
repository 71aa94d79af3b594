"""The sandbox pay page is its order owner's alone (SECURITY.md): the pay URL carries the owner's
page token, the page's form a CSRF token tied to a cookie of the browser that rendered it. An
anonymous POST, another user's, or one without (or with a forged) CSRF token is refused, and
the order stays pending. Over HTTP on SQLite and MariaDB; each "browser" is its own cookie jar.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.api.test_membership import (
    membership,
    open_pay_page,
    order_of,
    outcome,
    page_path,
    place,
)
from tests.api.test_works import refused
from tests.support.api import Account, Api


@asynccontextmanager
async def browser(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own: no API token, its own cookies."""
    async with httpx.AsyncClient(base_url=api.app.http_url, timeout=30) as client:
        yield client


def action_path(order_no: str) -> str:
    return f"/api/v1/payments/sandbox/{order_no}"


async def still_pending(api: Api, owner: Account, order_no: str) -> None:
    order = await order_of(api, owner, order_no)
    assert order["status"] == "pending" and order["cancelled_at"] is None, order
    assert (await membership(api, owner))["level"] == "free"


async def test_anonymous_and_forged_requests_change_nothing(api: Api) -> None:
    owner = await api.sign_up()
    order = await place(api, owner)
    order_no, path = order["order_no"], action_path(order["order_no"])
    async with browser(api) as owners, browser(api) as stranger:
        for action in ("cancel", "pay"):
            # No page token at all: an anonymous POST, or the page opened without its URL's `t`.
            refused(await stranger.post(path, data={"action": action}), 403, 40301)
        refused(await stranger.get(path), 403, 40301)
        await still_pending(api, owner, order_no)

        form = await open_pay_page(api, order["pay_url"], owners)
        forged_page = {**form, "t": "0" * len(form["t"])}
        forged_csrf = {**form, "csrf": "0" * len(form["csrf"])}
        refused(await stranger.get(f"{path}?t={forged_page['t']}"), 403, 40301)
        for action in ("pay", "cancel"):
            refused(await owners.post(path, data={**forged_page, "action": action}), 403, 40301)
            # The owner's page token but no CSRF token, or a forged one.
            no_csrf = {"t": form["t"], "action": action}
            refused(await owners.post(path, data=no_csrf), 403, 40301)
            refused(await owners.post(path, data={**forged_csrf, "action": action}), 403, 40301)
            # The whole form, posted by another site into this browser: SameSite keeps the
            # cookie back, so the form's CSRF token alone is refused.
            refused(await stranger.post(path, data={**form, "action": action}), 403, 40301)
        await still_pending(api, owner, order_no)


async def test_another_users_page_opens_nothing_of_theirs(api: Api) -> None:
    owner, other = await api.sign_up(), await api.sign_up()
    order, theirs = await place(api, owner), await place(api, other)
    path = action_path(order["order_no"])
    async with browser(api) as others:
        their_form = await open_pay_page(api, theirs["pay_url"], others)
        for action in ("cancel", "pay"):
            refused(await others.post(path, data={**their_form, "action": action}), 403, 40301)
        refused(await others.get(f"{path}?t={their_form['t']}"), 403, 40301)
        # Their own order is theirs to cancel.
        own = action_path(theirs["order_no"])
        assert outcome(await others.post(own, data={**their_form, "action": "cancel"})) == (
            "cancelled"
        )
    await still_pending(api, owner, order["order_no"])


async def test_the_owner_pays_through_the_page(api: Api) -> None:
    owner = await api.sign_up()
    order = await place(api, owner)
    path = action_path(order["order_no"])
    assert "t" in httpx.URL(order["pay_url"]).params  # the owner's page token
    async with browser(api) as tab:
        page = await tab.get(page_path(order["pay_url"]))
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        cookie = page.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", f"path={path.lower()}"):
            assert attribute in cookie, cookie
        first = await open_pay_page(api, order["pay_url"], tab)
        second = await open_pay_page(api, order["pay_url"], tab)  # another tab: both forms work
        assert first["t"] == second["t"] and first["csrf"] and first["csrf"] == second["csrf"]
        assert outcome(await tab.post(path, data={**first, "action": "pay"})) == "paid"
        # The page left open in the other tab is stale now: pressing a button changes nothing.
        assert outcome(await tab.post(path, data={**second, "action": "cancel"})) == "paid"
    assert (await order_of(api, owner, order["order_no"]))["status"] == "paid"
    assert (await membership(api, owner))["level"] == "premium"
