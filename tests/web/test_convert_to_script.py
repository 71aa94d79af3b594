"""“转为剧本” in the editor: the result opens as a screenplay in a new script work."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.api.test_works import ok
from tests.support.api import Api
from tests.web.conftest import open_writer, shared_chapter
from tests.web.test_browser import assert_no_page_errors

NOVEL = "夜深了，林小雨还坐在窗前。\n“你还在等他吗？”母亲在身后问。\n“嗯。”\n"


async def test_convert_to_script_opens_the_result_as_a_screenplay(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("汤显祖")
    novel_id, chapter_id = await shared_chapter(web, account, [], NOVEL)
    writer = await open_writer(browser, web, "writer", account)
    await writer.open_chapter(novel_id, chapter_id)
    await writer.wait_contains("母亲在身后问")
    assert await writer.page.locator(".fountain-character").count() == 0  # a novel is prose

    await writer.page.click("[data-testid=ai-convert]")
    await writer.page.locator("[data-testid=ai-task][data-status=completed]").wait_for()
    await writer.page.click("[data-testid=ai-result-link]")
    await writer.page.wait_for_url("**/chapters/*")
    await writer.wait_connection("online")
    await writer.wait_contains("你还在等他吗？")

    # The cues are line decorations that CodeMirror redraws as the synced text lands: wait for both.
    await expect(writer.page.locator(".fountain-character")).to_have_text(["@母亲", "@林小雨"])
    assert await writer.page.locator(".fountain-scene").count() == 1
    new_work_id = int(writer.page.url.split("/works/")[1].split("/")[0])
    work = ok(await web.call("GET", f"/api/v1/works/{new_work_id}", account))
    assert work["type"] == "script" and new_work_id != novel_id
    chapters = ok(await web.call("GET", f"/api/v1/works/{novel_id}/chapters", account))["items"]
    assert [chapter["id"] for chapter in chapters] == [chapter_id]
    await writer.screenshot("convert_to_script")
    assert_no_page_errors(writer)
