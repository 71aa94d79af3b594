"""Reports in the web editor: a reader reports a public material from the library, an
administrator hides it from the queue page, and its owner is told why."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.api.test_membership import make_admin
from tests.api.test_works import ok
from tests.support.api import Api

from .conftest import open_writer
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser


async def test_a_report_from_the_library_is_resolved_in_the_queue(
    browser: Browser, web: Api
) -> None:
    owner, reader, admin = await web.sign_up(), await web.sign_up(), await make_admin(web)
    body = {"title": "夜行者甲", "type": "character", "content": "黑衣人", "is_public": True}
    material = ok(await web.call("POST", "/api/v1/materials", owner, json=body), 201)

    reporter = await open_writer(browser, web, "reader", reader)
    page = reporter.page
    await reporter.goto("/materials")
    await page.locator("[data-testid=material]").first.wait_for()  # the first listing is in
    await page.fill("[data-testid=materials-keyword]", "夜行者甲")
    await page.click("[data-testid=materials-search]")
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=material]').length === 1"
    )
    row = page.locator(f"[data-material-id='{material['material_id']}']")
    await row.locator("[data-testid=report-open]").click()
    await row.locator("[data-testid=report-reason]").select_option("sexual")
    await row.locator("[data-testid=report-note]").fill("描写露骨")
    await row.locator("[data-testid=report-submit]").click()
    await row.locator("[data-testid=report-message]:has-text('已收到你的举报')").wait_for()

    moderator = await open_writer(browser, web, "admin", admin)
    queue = moderator.page
    await moderator.goto("/admin/reports")
    item = queue.locator(f"[data-target='material:{material['material_id']}']")
    assert await item.locator("[data-testid=queue-count]").text_content() == "1"
    assert await item.locator("[data-testid=queue-title]").text_content() == "夜行者甲"
    await item.locator("[data-testid=queue-message]").fill("含有露骨描写")
    await item.locator("[data-testid=queue-hide]").click()
    await queue.locator("[data-testid=message]:has-text('内容已隐藏')").wait_for()
    await queue.locator("[data-testid=queue-empty]").wait_for()

    path = f"/api/v1/materials/{material['material_id']}"
    assert ok(await web.call("GET", path, owner))["is_public"] is False
    inbox = ok(await web.call("GET", "/api/v1/notifications", owner))["items"]
    assert inbox[0]["body"] == "含有露骨描写"
    for person in (reporter, moderator):
        assert_no_page_errors(person)
