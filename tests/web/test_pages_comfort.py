"""Writing comfort in the chapter editor (find and replace, the optional 两字缩进 on new
paragraphs, a distraction-free mode), and the whole interface in English at 390 px wide."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.api.test_works import make_work
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import open_writer, server_text, shared_chapter
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"


async def test_find_replace_indent_and_focus_mode(browser: Browser, web: Api) -> None:
    account = await web.sign_up("张爱玲")
    work_id, chapter_id = await shared_chapter(web, account, [], "月亮很大。月亮很圆。")
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page
    await writer.open_chapter(work_id, chapter_id)
    await writer.wait_contains("月亮很圆")

    # Find and replace, every match at once, in Chinese.
    await page.click("[data-testid=find-replace]")
    await page.fill(".cm-search input[name=search]", "月亮")
    await page.fill(".cm-search input[name=replace]", "太阳")
    await page.click(".cm-search button[name=replaceAll]:has-text('全部替换')")
    assert await writer.wait_contains("太阳很圆") == "太阳很大。太阳很圆。"
    await page.click(".cm-search button[name=close]")

    # With the indent on, Enter starts the paragraph with two full-width spaces; off, it doesn't.
    await page.check("[data-testid=indent-toggle]")
    await writer.type_at_end("")
    await page.keyboard.press("Enter")
    await page.keyboard.type("她走了。")
    await writer.wait_contains("\u3000\u3000她走了。")
    await page.uncheck("[data-testid=indent-toggle]")
    await writer.type_at_end("")
    await page.keyboard.press("Enter")
    await page.keyboard.type("完")
    expected = "太阳很大。太阳很圆。\n\u3000\u3000她走了。\n完"
    assert await writer.wait_contains("完") == expected

    async def stored() -> bool:
        return await server_text(web, account, chapter_id) == expected

    await eventually(stored, what="the indented paragraph on the server")

    # Distraction-free: only the text and the way out; Escape leaves.
    await page.click("[data-testid=focus-mode]")
    await page.locator(".topbar").wait_for(state="hidden")
    assert await page.locator("[data-testid=tab-ai]").is_hidden()
    await writer.screenshot("pages_focus_mode")
    await page.keyboard.press("Escape")
    await page.locator(".topbar").wait_for(state="visible")
    assert_no_page_errors(writer)


async def test_english_at_390_px(browser: Browser, web: Api) -> None:
    account = await web.sign_up("Jane")
    work_id, chapter_id = await shared_chapter(web, account, [], "It was a truth.")
    await make_work(web, account, title="Emma")
    writer = await open_writer(browser, web, "phone", account)
    page = writer.page
    await writer.context.add_init_script("localStorage.setItem('inkweave.lang', 'en')")
    await page.set_viewport_size({"width": 390, "height": 844})

    for path, heading in [
        ("/works", "My works"),
        ("/search?q=truth", "Search"),
        ("/materials", "Materials"),
        ("/trash", "Trash"),
        ("/membership", "Membership"),
        ("/account", "Account settings"),
    ]:
        await writer.goto(path)
        await page.locator(f"h1:has-text('{heading}')").wait_for()
        await page.wait_for_load_state("networkidle")
        assert await page.evaluate(FITS_JS), f"{path} is wider than 390 px"
        await writer.screenshot(f"pages_390_{path.strip('/').split('?')[0]}")
    assert await page.locator("[data-testid=nav-trash]").text_content() == "Trash"
    assert await page.locator("[data-testid=bell]").get_attribute("title") == "Notifications"

    await writer.open_chapter(work_id, chapter_id)
    await page.click("[data-testid=find-replace]")
    assert await page.locator(".cm-search button[name=replaceAll]").text_content() == "replace all"
    assert await page.locator("[data-testid=focus-mode]").text_content() == "Focus mode"
    assert await page.evaluate(FITS_JS), "the chapter page is wider than 390 px"
    await writer.screenshot("pages_390_chapter")
    assert_no_page_errors(writer)
