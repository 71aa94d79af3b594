"""The versions panel's changes view: a co-author's insertion in their colour, a deletion struck
through, counts per author, in Chinese at 1280 px and at 390 px."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.api.test_works import ok
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import open_writer, server_text, shared_chapter
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

DRAFT = "林小雨推开门。雨还在下。"
ADDED = "😀风很冷。"


async def test_the_changes_view_shows_who_inserted_and_what_was_deleted(
    browser: Browser, web: Api
) -> None:
    owner_account = await web.sign_up("曹雪芹")
    editor_account = await web.sign_up("高鹗")
    work_id, chapter_id = await shared_chapter(web, owner_account, [(editor_account, "editor")])
    owner = await open_writer(browser, web, "owner", owner_account)
    editor = await open_writer(browser, web, "editor", editor_account)
    for writer in (owner, editor):
        await writer.open_chapter(work_id, chapter_id)
    await owner.type_at_end(DRAFT)
    await editor.wait_contains(DRAFT)

    async def stored(expected: str) -> None:
        async def there() -> bool:
            return await server_text(web, owner_account, chapter_id) == expected

        await eventually(there, what=f"{expected!r} on the server")

    await stored(DRAFT)
    versions = f"/api/v1/chapters/{chapter_id}/versions"
    ok(await web.call("POST", versions, owner_account, json={"name": "初稿"}), 201)

    await editor.type_at_end(ADDED)
    await owner.wait_contains(DRAFT + ADDED)
    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+Home")
    for _ in range(2):
        await owner.page.keyboard.press("Delete")
    await stored(DRAFT[2:] + ADDED)
    ok(await web.call("POST", versions, owner_account, json={"name": "二稿"}), 201)

    await owner.page.click("[data-testid=tab-versions]")
    row = owner.page.locator("[data-testid=version]:has-text('二稿')")
    await row.locator("[data-testid=version-changes-button]").click()
    view = owner.page.locator("[data-testid=version-changes]")
    await view.wait_for()
    inserted = view.locator(f"ins[data-author='user:{editor_account.id}']")
    assert await inserted.inner_text() == ADDED
    assert await view.locator("del").inner_text() == "林小"
    text = await view.locator("[data-testid=version-changes-text]").inner_text()
    assert text == "林小" + DRAFT[2:] + ADDED
    legend = view.locator(f"[data-testid=change-author][data-author='user:{editor_account.id}']")
    assert "新写 5 字" in await legend.inner_text()
    await owner.screenshot("version_changes")
    await owner.page.set_viewport_size({"width": 390, "height": 844})
    await owner.screenshot("version_changes_390px")
    width = await owner.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the changes view scrolls sideways at 390 px"
    for writer in (owner, editor):
        assert_no_page_errors(writer)
