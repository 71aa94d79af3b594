"""AI alternatives in the editor: three panes fill side by side, the picked one enters the text."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.api.test_works import ok
from tests.support.api import Api
from tests.web.conftest import open_writer, shared_chapter
from tests.web.test_browser import assert_no_page_errors

OPENING = "夜深了，林小雨还坐在窗前。窗外的雨一直没有停。\n"


async def test_three_alternatives_fill_side_by_side_and_the_picked_one_is_written(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("蒲松龄")
    work_id, chapter_id = await shared_chapter(web, account, [], OPENING)
    writer = await open_writer(browser, web, "writer", account)
    await writer.open_chapter(work_id, chapter_id)
    await writer.wait_contains("窗外的雨")

    await writer.page.select_option("[data-testid=ai-alternatives-count]", "3")
    await writer.page.select_option("[data-testid=ai-length]", "100")
    await writer.page.click("[data-testid=ai-continue]")
    panes = writer.page.locator("[data-testid=alt-pane]")
    await expect(panes).to_have_count(3)
    picks = writer.page.locator("[data-testid=alt-pick]:not([disabled])")
    # Every alternative written and ready to pick (a busy machine streams slowly).
    await expect(picks).to_have_count(3, timeout=30_000)
    texts = [
        await pane.text_content() or ""
        for pane in await writer.page.locator("[data-testid=alt-text]").all()
    ]
    assert all(texts) and len(set(texts)) == 3, texts
    assert await writer.text() == OPENING  # the chapter holds none of them yet
    await writer.screenshot("ai_alternatives")

    await picks.nth(1).click()
    await expect(panes).to_have_count(0)
    await writer.wait_contains(texts[1])
    text = await writer.text()
    assert texts[0] not in text and texts[2] not in text
    tasks = ok(await web.call("GET", "/api/v1/ai/tasks", account))
    statuses = sorted(task["status"] for task in tasks)
    assert statuses == ["cancelled", "cancelled", "completed"], statuses
    await writer.page.locator("[data-testid=ai-text]").wait_for()  # reviewable AI text
    assert_no_page_errors(writer)


async def test_two_polishes_of_a_selection_side_by_side_and_the_picked_one_replaces_it(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("纪昀")
    slip = "他很快的跑了过去。"
    work_id, chapter_id = await shared_chapter(web, account, [], OPENING + slip)
    writer = await open_writer(browser, web, "writer", account)
    await writer.open_chapter(work_id, chapter_id)
    await writer.wait_contains(slip)
    page = writer.page

    await page.click(".cm-content")
    await page.keyboard.press("Control+End")
    await page.keyboard.press("Shift+Home")  # the last line selected
    await page.select_option("[data-testid=ai-alternatives-count]", "2")
    await page.click("[data-testid=ai-polish]")
    panes = page.locator("[data-testid=alt-pane]")
    await expect(panes).to_have_count(2)
    picks = page.locator("[data-testid=alt-pick]:not([disabled])")
    await expect(picks).to_have_count(2, timeout=30_000)
    # The offline rules are deterministic: both panes hold the same correction.
    await expect(page.locator("[data-testid=alt-text]").first).to_have_text("他很快地跑了过去。")
    assert await writer.text() == OPENING + slip  # the chapter holds neither yet
    await writer.screenshot("ai_polish_alternatives")

    await picks.nth(1).click()
    await expect(panes).to_have_count(0)
    text = await writer.wait_contains("他很快地跑了过去。")
    assert text == OPENING + "他很快地跑了过去。"
    await page.locator("[data-testid=ai-task][data-status=completed]").wait_for()
    await page.locator("[data-testid=ai-text]").wait_for()  # reviewable AI text
    tasks = ok(await web.call("GET", "/api/v1/ai/tasks", account))
    assert sorted(task["status"] for task in tasks) == ["cancelled", "completed"], tasks
    assert_no_page_errors(writer)
