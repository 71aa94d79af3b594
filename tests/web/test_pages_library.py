"""The writing side of the web editor, each page used end to end: search across my works and
materials, chapters reordered by drag, a chapter and a work through the trash and back, a
manuscript imported with its progress, and the materials library (filters, whole entries, my
own, inserting only after the writer agrees)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog

from tests.api.test_works import make_chapter, make_work, ok, save
from tests.support.api import Api

from .conftest import open_writer
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

MANUSCRIPT = (
    "《石头记》\n\n第一回 甄士隐梦幻识通灵\n　　此开卷第一回也。\n\n"
    "第二回 贾夫人仙逝扬州城\n　　诗云：一局输赢料不真。\n"
)


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def chapter_titles(api: Api, account: object, work_id: int) -> list[str]:
    page = ok(await api.call("GET", f"/api/v1/works/{work_id}/chapters", account))
    return [chapter["title"] for chapter in page["items"]]


async def test_search_reorder_trash_and_import(browser: Browser, web: Api) -> None:
    account = await web.sign_up("曹雪芹")
    work_id = (await make_work(web, account, title="红楼梦"))["id"]
    chapters = [await make_chapter(web, account, work_id, title) for title in ("甲", "乙", "丙")]
    ok(await save(web, account, work_id, chapters[1]["id"], "宝玉梦游太虚幻境，警幻仙姑作曲。"))
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page

    # Search: the hit is marked in its snippet and opens the chapter.
    await writer.goto("/works")
    await page.click("[data-testid=nav-search]")
    await page.fill("[data-testid=search-q]", "太虚")
    await page.click("[data-testid=search-submit]")
    hit = page.locator("[data-testid=search-hit][data-type=chapter]").first
    assert await hit.locator("mark").first.text_content() == "太虚"
    await page.locator("[data-testid=search-total]:has-text('找到')").wait_for()
    await hit.locator("a").click()
    await writer.wait_connection("online")
    await writer.wait_contains("警幻仙姑")

    # Drag the third chapter onto the first: the server's order follows.
    await writer.goto(f"/works/{work_id}")
    rows = page.locator("[data-testid=chapters] li.chapter")
    await rows.nth(2).drag_to(rows.nth(0))
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=chapters] li.chapter a').textContent === '丙'"
    )
    assert await chapter_titles(web, account, work_id) == ["丙", "甲", "乙"]

    # Delete a chapter (asked first), then the work: it waits in the trash and comes back.
    page.once("dialog", accept)
    await page.locator("li.chapter:has-text('甲') [data-testid=chapter-delete]").click()
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=chapters] li.chapter').length === 2"
    )
    assert await chapter_titles(web, account, work_id) == ["丙", "乙"]
    page.once("dialog", accept)
    await page.click("[data-testid=work-delete]")
    await page.wait_for_url("**/trash")
    trashed = page.locator(f"[data-testid=trash-work][data-work-id='{work_id}']")
    await trashed.locator("[data-testid=trash-restore]").click()
    await page.locator("[data-testid=message]:has-text('已恢复《红楼梦》')").wait_for()
    await page.locator("[data-testid=trash] >> text=回收站是空的").wait_for()
    assert ok(await web.call("GET", f"/api/v1/works/{work_id}", account))["title"] == "红楼梦"
    # The chapter waited in the trash too: it comes back to its place.
    gone = page.locator(f"[data-testid=trash-chapter][data-chapter-id='{chapters[0]['id']}']")
    await gone.locator("[data-testid=trash-chapter-restore]").click()
    await page.locator("[data-testid=trash-chapters] >> text=回收站是空的").wait_for()
    assert await chapter_titles(web, account, work_id) == ["丙", "甲", "乙"]
    assert await page.locator("[data-testid=bell] svg.bell-icon").count() == 1

    # Import a manuscript: the progress reaches 100 and the new work opens.
    await writer.goto("/works")
    await page.click("[data-testid=import] summary")
    await page.set_input_files(
        "[data-testid=import-file]",
        files=[{"name": "石头记.txt", "mimeType": "text/plain", "buffer": MANUSCRIPT.encode()}],
    )
    await page.click("[data-testid=import-start]")
    await page.wait_for_selector("[data-testid=import-status][data-status=completed]")
    progress = page.locator("[data-testid=import-progress]")
    assert await progress.get_attribute("data-progress") == "100"
    await page.click("[data-testid=import-open]")
    await page.locator("[data-testid=work-heading]:has-text('石头记')").wait_for()
    titles = await page.locator("[data-testid=chapter-link]").all_text_contents()
    assert titles == ["第一回 甄士隐梦幻识通灵", "第二回 贾夫人仙逝扬州城"]
    await writer.screenshot("pages_library")
    assert_no_page_errors(writer)


async def test_materials_library_and_insert_after_asking(browser: Browser, web: Api) -> None:
    account = await web.sign_up("金庸")
    work_id = (await make_work(web, account, title="射雕"))["id"]
    chapter_id = (await make_chapter(web, account, work_id, "风雪惊变"))["id"]
    writer = await open_writer(browser, web, "writer", account)
    page = writer.page
    await writer.goto("/materials")
    await page.locator("[data-testid=material]").first.wait_for()

    # Filters: type and genre narrow the list to what the server has of both.
    await page.select_option("[data-testid=materials-type]", "character")
    await page.select_option("[data-testid=materials-genre]", "武侠")
    query = {"type": "character", "genre": "武侠", "page_size": 30}
    expected = ok(await web.call("GET", "/api/v1/materials", account, params=query))["items"]
    assert expected
    ids = [str(item["id"]) for item in expected]
    await page.wait_for_function(
        "(ids) => [...document.querySelectorAll('[data-testid=material]')]"
        ".map((row) => row.dataset.materialId).join() === ids.join()",
        arg=ids,
    )
    # The whole entry, not only its first lines.
    first = page.locator("[data-testid=material]").first
    await first.locator("[data-testid=material-expand]").click()
    whole = await first.locator("[data-testid=material-body]").text_content()
    assert whole == expected[0]["content"]

    # A material of my own.
    await page.click("[data-testid=material-new] summary")
    await page.fill("[data-testid=material-new-title]", "郭靖的降龙十八掌")
    await page.select_option("[data-testid=material-new-type]", "plot")
    await page.fill("[data-testid=material-new-genre]", "武侠")
    await page.fill("[data-testid=material-new-content]", "亢龙有悔，飞龙在天。")
    await page.click("[data-testid=material-create]")
    await page.locator("[data-testid=material-create-message]:has-text('素材已添加')").wait_for()
    await page.check("[data-testid=materials-mine]")
    await page.select_option("[data-testid=materials-type]", "plot")
    mine = page.locator("[data-testid=material]:has-text('郭靖的降龙十八掌')")
    await mine.wait_for()
    assert await page.locator("[data-testid=material]").count() == 1

    # In the chapter: inserting shows the text and asks; cancelling leaves the chapter alone.
    await writer.open_chapter(work_id, chapter_id)
    await writer.type_at_end("开篇。")
    await page.click("[data-testid=tab-materials]")
    await page.fill("[data-testid=materials-keyword]", "降龙")
    await page.click("[data-testid=materials-search]")
    row = page.locator("[data-testid=material]:has-text('郭靖的降龙十八掌')")
    await row.locator("[data-testid=material-insert]").click()
    confirm = row.locator("[data-testid=material-confirm]")
    assert "亢龙有悔" in (await confirm.locator("pre").text_content() or "")
    await confirm.locator("[data-testid=material-insert-cancel]").click()
    assert await writer.text() == "开篇。"
    # A search that redraws the list while the question is open keeps the question open.
    await row.locator("[data-testid=material-insert]").click()
    drawn = await row.element_handle()
    await page.click("[data-testid=materials-search]")
    await page.wait_for_function("(old) => !old.isConnected", arg=drawn)
    await row.locator("[data-testid=material-insert-confirm]").click()
    assert await writer.wait_contains("亢龙有悔") == "开篇。亢龙有悔，飞龙在天。"
    await writer.screenshot("pages_materials")
    assert_no_page_errors(writer)
