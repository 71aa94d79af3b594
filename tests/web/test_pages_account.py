"""The account side of the web editor, each page used end to end: the notification bell (live
over the socket, marked read), account settings (profile, avatar, password, sign out
everywhere) and membership (plans, today's usage, an upgrade through the sandbox, my orders)."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.async_api import Browser, Dialog

from tests.api.test_works import make_work, ok, share
from tests.support.api import PASSWORD, Api

from .conftest import open_writer
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser


def png() -> bytes:
    image = Image.new("RGB", (64, 40), (200, 80, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_bell_and_account_settings(browser: Browser, web: Api) -> None:
    account, inviter = await web.sign_up("林黛玉"), await web.sign_up("贾宝玉")
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page
    await writer.goto("/works")
    bell = page.locator("[data-testid=bell-count]")
    await page.wait_for_selector("[data-testid=bell-count][data-count='0']", state="attached")
    assert await bell.is_hidden()

    # An invitation arrives over the socket while the page stays as it is.
    work_id = (await make_work(web, inviter, title="葬花词"))["id"]
    await share(web, inviter, work_id, account, "editor")
    await page.wait_for_selector("[data-testid=bell-count][data-count='1']")
    await page.click("[data-testid=bell]")
    notice = page.locator("[data-testid=notification]").first
    await notice.locator("text=你被邀请参与《葬花词》").wait_for()
    await notice.locator("[data-testid=notification-read]").click()
    await page.wait_for_selector("[data-testid=bell-count][data-count='0']", state="attached")
    assert ok(await web.call("GET", "/api/v1/notifications/unread-count", account))["unread"] == 0
    await page.wait_for_selector("[data-testid=notification][data-read=true]")

    # Profile and avatar.
    await page.click("[data-testid=nav-account]")
    await page.fill("[data-testid=profile-username]", "潇湘妃子")
    await page.click("[data-testid=profile-save]")
    await page.locator("[data-testid=profile-message]:has-text('已保存')").wait_for()
    await page.locator("[data-testid=whoami]:has-text('潇湘妃子')").wait_for()
    picture = {"name": "me.png", "mimeType": "image/png", "buffer": png()}
    await page.set_input_files("[data-testid=avatar-file]", files=[picture])
    await page.click("[data-testid=avatar-upload]")
    await page.locator("[data-testid=avatar-message]:has-text('头像已更新')").wait_for()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=avatar-img]').naturalWidth > 0"
    )
    me = ok(await web.call("GET", "/api/v1/users/me", account))
    assert me["username"] == "潇湘妃子" and me["avatar_url"] == f"/api/v1/users/{account.id}/avatar"
    await writer.screenshot("pages_account")

    # A wrong current password is refused with its code; the right one ends every session.
    await page.fill("[data-testid=password-old]", "not-my-password")
    await page.fill("[data-testid=password-new]", "new-horse-battery")
    await page.click("[data-testid=password-save]")
    await page.wait_for_selector("[data-testid=password-message][data-code='40003']")
    await page.fill("[data-testid=password-old]", PASSWORD)
    await page.click("[data-testid=password-save]")
    await page.wait_for_url("**/login")
    assert (await web.call("GET", "/api/v1/users/me", account)).status_code == 401
    login = {"email": account.email, "password": "new-horse-battery"}
    tokens = ok(await web.call("POST", "/api/v1/auth/login", json=login))

    # Sign out everywhere, from a session signed in with the new password.
    account.token, account.refresh_token = tokens["token"], tokens["refresh_token"]
    again = await open_writer(browser, web, "again", account)
    await again.context.add_init_script("localStorage.setItem('inkweave.lang', 'en')")
    await again.goto("/account")
    again.page.once("dialog", accept)
    await again.page.click("[data-testid=sign-out-everywhere]:has-text('Sign out everywhere')")
    await again.page.wait_for_url("**/login")
    assert (await web.call("GET", "/api/v1/users/me", account)).status_code == 401
    assert_no_page_errors(writer, again)


async def test_membership_page_upgrades_through_the_sandbox(browser: Browser, web: Api) -> None:
    account = await web.sign_up("王熙凤")
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page
    await writer.goto("/works")
    await page.click("[data-testid=nav-membership]")
    await page.wait_for_selector("[data-testid=member-level][data-level=free]")
    ai = page.locator("[data-testid=member-ai]")
    plans = ok(await web.call("GET", "/api/v1/membership/plans", account))
    free = next(level for level in plans["levels"] if level["level"] == "free")
    assert await ai.get_attribute("data-used") == "0"
    assert await ai.get_attribute("data-limit") == str(free["limits"]["ai_per_day"])
    assert await page.locator("[data-testid=plan]").count() == len(plans["levels"])
    await page.locator("[data-testid=member-orders] >> text=还没有订单").wait_for()

    # Buy basic, monthly: the sandbox pay page, then back to the membership page.
    basic = page.locator("[data-testid=plan][data-level=basic]")
    await basic.locator("[data-testid=plan-buy][data-plan=monthly]").click()
    await page.wait_for_url("**/payments/sandbox/**")
    await page.click("button[value=pay]")
    back = await page.locator("a:has-text('Back to Inkweave')").get_attribute("href")
    assert back is not None
    parts = urlsplit(back)  # the app's public URL is not this test server's: follow its path
    await writer.goto(f"{parts.path}?{parts.query}")
    await page.wait_for_url("**/membership?order_no=*")
    await page.wait_for_selector("[data-testid=member-level][data-level=basic]")
    await page.locator("[data-testid=message]:has-text('已支付')").wait_for()
    order = page.locator("[data-testid=order]").first
    assert await order.get_attribute("data-status") == "paid"
    mine = ok(await web.call("GET", "/api/v1/membership", account))
    assert mine["level"] == "basic"
    await writer.screenshot("pages_membership")
    assert_no_page_errors(writer)
