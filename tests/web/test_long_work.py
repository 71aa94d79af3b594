"""A work longer than one page of chapters: the list loads more on request, a reorder that
reaches past what is shown still names every chapter, and a chapter beyond the first page opens."""

from __future__ import annotations

from playwright.async_api import Browser

from api.services.chapter_pages import DEFAULT_PAGE_SIZE
from tests.api.test_works import make_chapter, make_work, ok
from tests.support.api import Api
from tests.web.conftest import open_writer

CHAPTERS = DEFAULT_PAGE_SIZE + 2


async def test_a_long_chapter_list_loads_more_and_reorders_past_the_first_page(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up()
    work = await make_work(web, account)
    made = [await make_chapter(web, account, work["id"]) for _ in range(CHAPTERS)]
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page
    rows = page.locator("[data-testid=chapters] li.chapter")
    more = page.locator("[data-testid=chapters-more]")

    await writer.goto(f"/works/{work['id']}")
    await more.wait_for()
    assert await rows.count() == DEFAULT_PAGE_SIZE
    assert f"({DEFAULT_PAGE_SIZE}/{CHAPTERS})" in (await more.text_content() or "")
    await more.click()
    await page.locator(f"[data-chapter-id='{made[-1]['id']}']").wait_for()
    assert await rows.count() == CHAPTERS
    assert not await more.is_visible()

    # Fresh page: the last chapter shown moves down past the first page's end.
    await writer.goto(f"/works/{work['id']}")
    await more.wait_for()
    last_shown = page.locator(f"[data-chapter-id='{made[DEFAULT_PAGE_SIZE - 1]['id']}']")
    await last_shown.locator("[data-testid=chapter-down]").click()
    moved = page.locator("[data-testid=chapters] li.chapter").nth(DEFAULT_PAGE_SIZE)
    await moved.locator(f"text={made[DEFAULT_PAGE_SIZE - 1]['title']}").wait_for()
    listed = ok(
        await web.call("GET", f"/api/v1/works/{work['id']}/chapters?fields=summary&page=2", account)
    )
    assert [c["id"] for c in listed["items"]] == [
        made[DEFAULT_PAGE_SIZE - 1]["id"],
        made[DEFAULT_PAGE_SIZE + 1]["id"],
    ]

    # A chapter beyond the work's first page opens in the editor.
    await writer.open_chapter(work["id"], made[-1]["id"])
    heading = page.locator("[data-testid=chapter-heading]")
    assert await heading.text_content() == made[-1]["title"]
    assert not writer.errors
