"""With no model configured, the editor says what the offline provider's text is: demo text from no
model, with a hint on connecting one (its peer too); a polish with nothing to correct is no edit."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.api.test_works import ok
from tests.support.api import Api
from tests.web.conftest import open_writer, server_text, shared_chapter
from tests.web.test_browser import assert_no_page_errors

CORRECT = "林小雨推开门，风铃响了。"
SLIP = "他很快的跑了过去。"


async def test_offline_text_is_labelled_demo_and_a_correct_selection_is_left_alone(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("林小雨")
    work_id, chapter_id = await shared_chapter(web, account, [], f"{CORRECT}\n{SLIP}")
    writer = await open_writer(browser, web, "writer", account)
    await writer.open_chapter(work_id, chapter_id)
    await writer.wait_contains(SLIP)
    page = writer.page

    # The first line has nothing to correct: no task, no edit, and the panel says so.
    await page.click(".cm-content")
    await page.keyboard.press("Control+Home")
    await page.keyboard.press("Shift+End")
    await page.click("[data-testid=ai-polish]")
    message = page.locator("[data-testid=ai-message]")
    await message.filter(has_text="没有需要修改").wait_for()
    assert await page.locator("[data-testid=ai-task]").count() == 0
    assert ok(await web.call("GET", "/api/v1/ai/tasks", account)) == []

    # The second line has a 的/地 slip: corrected, with its reason, labelled as demo text.
    await page.click(".cm-content")
    await page.keyboard.press("Control+End")
    await page.keyboard.press("Shift+Home")
    await page.click("[data-testid=ai-polish]")
    row = page.locator("[data-testid=ai-task][data-status=completed]")
    await row.wait_for()
    await writer.wait_contains("他很快地跑了过去。")
    # The task, and the suggestions, say "demo text · no model", never "offline · offline"...
    badge = row.locator("[data-testid=ai-demo]")
    assert await badge.inner_text() == "演示文字 · 未调用模型"
    assert "offline" not in await row.inner_text()
    suggestions = page.locator("[data-testid=ai-suggestions]")
    assert await suggestions.locator("[data-testid=ai-demo]").count() == 1
    # ...and the panel says once how to connect a model (the badge's tooltip says it too).
    hint = await page.locator(
        "[data-testid=ai-demo-notice] [data-testid=ai-demo-hint]"
    ).inner_text()
    assert "INKWEAVE_OPENAI_BASE_URL" in hint and "INKWEAVE_ANTHROPIC_API_KEY" in hint
    assert await badge.get_attribute("title") == hint
    assert "「很快的跑」→「很快地跑」：修饰动词用“地”" in await suggestions.inner_text()
    assert await server_text(web, account, chapter_id) == f"{CORRECT}\n他很快地跑了过去。"

    # While the offline provider types, its peer in the presence list is marked as demo too.
    await page.click("[data-testid=ai-continue]")
    await page.locator("[data-testid=presence] [data-kind=ai] [data-testid=peer-demo]").wait_for()
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=ai-task][data-status=completed]').length === 2"
    )
    await writer.screenshot("offline_label")
    assert_no_page_errors(writer)
