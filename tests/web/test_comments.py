"""Comments (批注) in two real editors: a thread on selected text shows live for the co-author,
stays on its text through concurrent edits around and inside it and through a version restore,
shows as orphaned (not lost) once its text is deleted; replies, resolve and reopen sync live; a
viewer comments only once the owner allows it."""

from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import Browser, Locator, Page

from tests.api.test_works import ok
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, shared_chapter
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

DRAFT = "雨下到第三天，林小雨终于把店门口的木牌翻到了休息。\n她刚要关灯，门上的风铃响了。"
QUOTE = "林小雨"

# Where `needle` is on screen: the left edge of its first character and the right edge of its
# last, across the text nodes decorations split it into (remote carets' labels left out).
LOCATE_JS = """(needle) => {
  const content = document.querySelector('.cm-content')
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest('.cm-ySelectionCaret, .cm-ySelectionInfo')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  })
  const nodes = []
  let all = ''
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    nodes.push([node, all.length])
    all += node.data
  }
  const at = all.indexOf(needle)
  if (at < 0) return null
  const rectOf = (index) => {
    const [node, start] = nodes.filter(([, start]) => start <= index).pop()
    const range = document.createRange()
    range.setStart(node, index - start)
    range.setEnd(node, index - start + 1)
    return range.getBoundingClientRect()
  }
  const first = rectOf(at)
  const last = rectOf(at + needle.length - 1)
  return {x1: first.left + 1, y1: (first.top + first.bottom) / 2,
          x2: last.right - 1, y2: (last.top + last.bottom) / 2}
}"""


async def select_text(page: Page, needle: str) -> None:
    """Select `needle` in the editor with the mouse, as a reader would (read-only editors too)."""
    box = await page.evaluate(LOCATE_JS, needle)
    assert box, f"{needle!r} is not on screen"
    await page.mouse.move(box["x1"], box["y1"])
    await page.mouse.down()
    await page.mouse.move(box["x2"], box["y2"], steps=4)
    await page.mouse.up()


def thread(writer: Writer, body: str) -> Locator:
    return writer.page.locator(
        f"[data-testid=comment-thread]:has([data-testid=comment-root] [data-testid=comment-text]"
        f":text-is({json.dumps(body, ensure_ascii=False)}))"
    )


async def comment(writer: Writer, needle: str, body: str) -> None:
    await select_text(writer.page, needle)
    await writer.page.fill("[data-testid=comment-body]", body)
    await writer.page.click("[data-testid=comment-add]")


# The commented text the editor highlights, remote carets' labels left out.
HIGHLIGHTED_JS = """() => [...document.querySelectorAll('.cm-comment')].map((el) => {
  const copy = el.cloneNode(true)
  copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer').forEach((node) => node.remove())
  return copy.textContent
}).join('')"""


async def highlighted(writer: Writer, text: str) -> None:
    """The editor highlights exactly `text` as commented."""
    try:
        await writer.page.wait_for_function(
            f"(text) => ({HIGHLIGHTED_JS})() === text", arg=text, polling=50
        )
    except Exception:
        shown = await writer.page.evaluate(HIGHLIGHTED_JS)
        raise AssertionError(f"{writer.name} highlights {shown!r}, not {text!r}") from None


async def test_a_comment_follows_its_text_live_and_is_orphaned_not_lost(
    browser: Browser, web: Api
) -> None:
    owner_account = await web.sign_up("鲁迅")
    editor_account = await web.sign_up("许广平")
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(editor_account, "editor")], DRAFT
    )
    versions = f"/api/v1/chapters/{chapter_id}/versions"
    ok(await web.call("POST", versions, owner_account, json={"name": "初稿"}), 201)
    owner = await open_writer(browser, web, "owner", owner_account)
    editor = await open_writer(browser, web, "editor", editor_account)
    owner.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    for writer in (owner, editor):
        await writer.open_chapter(work_id, chapter_id)
        await writer.wait_contains(DRAFT)
        await writer.page.click("[data-testid=tab-comments]")

    # The owner comments on a name and mentions the co-author, who sees it without reloading.
    body = "名字要统一 @许广平"
    await comment(owner, QUOTE, body)
    for writer in (owner, editor):
        quote = thread(writer, body).locator("[data-testid=comment-quote]")
        await quote.filter(has_text=QUOTE).wait_for()
        await highlighted(writer, QUOTE)
    notes = ok(await web.call("GET", "/api/v1/notifications", editor_account))["items"]
    assert [n["kind"] for n in notes if n["kind"] == "comment"] == ["comment"]

    # Both write at once: the owner before the name, the co-author inside it.
    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+Home")
    await select_text(editor.page, "林")
    await editor.page.keyboard.press("ArrowRight")  # the caret after 林
    await asyncio.gather(owner.page.keyboard.type("前言。"), editor.page.keyboard.type("·"))
    moved = "林·小雨"
    for writer in (owner, editor):
        await writer.wait_contains("前言。", moved)
        await highlighted(writer, moved)
        await (
            thread(writer, body)
            .locator(
                f"[data-testid=comment-quote]:text-is({json.dumps(moved, ensure_ascii=False)})"
            )
            .wait_for()
        )

    async def server_agrees() -> bool:
        threads = ok(
            await web.call("GET", f"/api/v1/chapters/{chapter_id}/comments", owner_account)
        )
        return threads[0]["text"] == moved

    await eventually(server_agrees, what="the server's view of the moved anchor")
    await editor.screenshot("comments_live")

    # A restore of the draft takes the edits back; the comment stays on its text.
    await owner.page.click("[data-testid=tab-versions]")
    draft_row = owner.page.locator("[data-testid=version]:has-text('初稿')")
    await draft_row.locator("[data-testid=version-restore]").click()
    for writer in (owner, editor):
        await writer.wait_text(f"(text) => text === {json.dumps(DRAFT)}")
        await highlighted(writer, QUOTE)
    await owner.page.click("[data-testid=tab-comments]")

    # Clicking the thread selects its text; deleting that text orphans the thread, kept.
    await thread(owner, body).locator("[data-testid=comment-quote]").click()
    await owner.page.keyboard.press("Backspace")
    for writer in (owner, editor):
        orphan = thread(writer, body).and_(writer.page.locator("[data-state=orphaned]"))
        await orphan.locator("[data-testid=comment-orphaned]").wait_for()
        assert QUOTE in (await orphan.locator("[data-testid=comment-quote]").text_content() or "")
        await writer.page.locator(".cm-comment").first.wait_for(state="detached")

    # Replies, resolve and reopen go both ways live.
    reply = editor.page.locator(
        f"[data-thread='{await thread(editor, body).get_attribute('data-thread')}']"
    )
    await reply.locator("[data-testid=comment-reply-body]").fill("已改 @鲁迅")
    await reply.locator("[data-testid=comment-reply]").click()
    await (
        thread(owner, body).locator("[data-testid=comment-reply-item]:has-text('已改')").wait_for()
    )
    await thread(owner, body).locator("[data-testid=comment-resolve]").click()
    await thread(editor, body).and_(editor.page.locator("[data-resolved=true]")).wait_for()
    await thread(editor, body).locator("[data-testid=comment-reopen]").click()
    await thread(owner, body).and_(owner.page.locator("[data-resolved=false]")).wait_for()
    owner_notes = ok(await web.call("GET", "/api/v1/notifications", owner_account))["items"]
    assert any(n["kind"] == "comment" for n in owner_notes)

    await owner.screenshot("comments_orphaned")
    await editor.page.set_viewport_size({"width": 390, "height": 844})
    await editor.screenshot("comments_390px")
    assert_no_page_errors(owner, editor)


async def test_a_viewer_comments_only_once_the_owner_allows(browser: Browser, web: Api) -> None:
    owner_account = await web.sign_up("罗贯中")
    viewer_account = await web.sign_up("读者甲")
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(viewer_account, "viewer")], DRAFT
    )
    owner = await open_writer(browser, web, "owner", owner_account)
    viewer = await open_writer(browser, web, "viewer", viewer_account)
    for writer in (owner, viewer):
        await writer.open_chapter(work_id, chapter_id)
        await writer.wait_contains(DRAFT)
        await writer.page.click("[data-testid=tab-comments]")
    await viewer.page.locator("[data-testid=comments-closed]").wait_for()
    assert await viewer.page.locator("[data-testid=comment-policy]").is_hidden()

    await comment(viewer, "风铃", "这里很好")
    await viewer.page.locator("[data-testid=comments-message][data-code='40341']").wait_for()

    await owner.page.check("[data-testid=comment-policy]")

    async def allowed() -> bool:
        policy = ok(
            await web.call("GET", f"/api/v1/works/{work_id}/comment-policy", viewer_account)
        )
        return policy["viewers_may_comment"]

    await eventually(allowed, what="the policy saved")
    await viewer.page.click("[data-testid=comment-add]")
    await (
        thread(owner, "这里很好").locator("[data-testid=comment-quote]:text-is('风铃')").wait_for()
    )
    await viewer.page.locator("[data-testid=comments-closed]").wait_for(state="hidden")
    await highlighted(viewer, "风铃")
    await viewer.screenshot("comments_viewer")

    # 举报: the owner reports the viewer's comment from the panel (none on one's own).
    reported = thread(owner, "这里很好").locator("[data-testid=comment-root]")
    assert await thread(viewer, "这里很好").locator("[data-testid=report-open]").count() == 0
    await reported.locator("[data-testid=report-open]").click()
    await reported.locator("[data-testid=report-reason]").select_option("spam")
    await reported.locator("[data-testid=report-submit]").click()
    await reported.locator("[data-testid=report-message]:has-text('已收到你的举报')").wait_for()
    assert_no_page_errors(owner, viewer)
