"""A forgotten password is reset from the sign-in page by an emailed code (issue 15, item 12);
the new password signs in, the old one no longer does (tests/api/test_security_auth.py holds
the server's side: no enumeration, every old session ended)."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.support.api import PASSWORD, Api
from tests.web.conftest import open_writer
from tests.web.test_browser import assert_no_page_errors

NEW_PASSWORD = "梅花香自苦寒来-2026"


async def test_forgot_password_link_resets_it_by_an_emailed_code(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up()
    # Its sign-up code's minute is over: the reset page may ask for another one.
    await web.app.adapters.kv.delete(f"code:{account.email}")
    writer = await open_writer(browser, web, "writer")
    await writer.goto("/login")
    await writer.page.click("[data-testid=login-forgot]")
    await writer.page.wait_for_url("**/reset-password")
    await writer.page.fill("[data-testid=reset-email]", account.email)
    await writer.page.click("[data-testid=reset-send-code]")
    await writer.page.wait_for_selector("[data-testid=message]:has-text('验证码已发送')")
    assert "重置密码" in web.mails()[-1]["subject"]
    await writer.page.fill("[data-testid=reset-code]", web.last_code(account.email))
    await writer.page.fill("[data-testid=reset-password]", NEW_PASSWORD)
    await writer.page.click("[data-testid=reset-submit]")
    await writer.page.wait_for_selector("[data-testid=reset-done]")

    await writer.page.click("a[href='/login']")
    await writer.page.fill("[data-testid=login-account]", account.email)
    await writer.page.fill("[data-testid=login-password]", PASSWORD)
    await writer.page.click("[data-testid=login-submit]")
    await writer.page.locator("[data-testid=message][data-code='40102']").wait_for()
    await writer.page.fill("[data-testid=login-password]", NEW_PASSWORD)
    await writer.page.click("[data-testid=login-submit]")
    await writer.page.wait_for_url("**/works")
    assert_no_page_errors(writer)
    await writer.context.close()
