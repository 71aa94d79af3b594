"""The "authors" view: two people type in one chapter, an AI task continues it (the offline
provider), and the editor colours each run by who wrote it, with the counts the REST API gives
for the chapter and the work."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.api.test_works import make_chapter, ok, save
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, server_text, shared_chapter
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

OWNER_TYPES = "林小雨推开门。"
# An ideograph outside the BMP: one code point for the server, two UTF-16 units for the editor.
EDITOR_TYPES = "雨还在下，𠀋风很冷。"

# Per author (`data-author`), the text the editor colours as theirs, line breaks aside.
COLOURED_JS = """() => {
  const found = {}
  for (const el of document.querySelectorAll('.cm-author')) {
    const copy = el.cloneNode(true)
    copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer').forEach((node) => node.remove())
    found[el.dataset.author] = (found[el.dataset.author] ?? '') + copy.textContent
  }
  return found
}"""


async def coloured(writer: Writer) -> dict[str, str]:
    result: dict[str, str] = await writer.page.evaluate(COLOURED_JS)
    return result


def counts(totals: list[dict[str, Any]]) -> dict[str, int]:
    return {f"{t['author']['kind']}:{t['author']['id']}": t["chars"] for t in totals}


async def test_the_authors_view_colours_who_wrote_what(browser: Browser, web: Api) -> None:
    owner_account = await web.sign_up("曹雪芹")
    editor_account = await web.sign_up("高鹗")
    work_id, chapter_id = await shared_chapter(web, owner_account, [(editor_account, "editor")])
    # A second chapter, saved by REST: the owner's writing, counted for the work only.
    other = await make_chapter(web, owner_account, work_id, "第二回")
    ok(await save(web, owner_account, work_id, other["id"], "别的章节"))
    owner = await open_writer(browser, web, "owner", owner_account)
    editor = await open_writer(browser, web, "editor", editor_account)
    for writer in (owner, editor):
        await writer.open_chapter(work_id, chapter_id)

    await owner.type_at_end(OWNER_TYPES)
    await editor.wait_contains(OWNER_TYPES)
    await editor.type_at_end(EDITOR_TYPES)
    await owner.wait_contains(OWNER_TYPES + EDITOR_TYPES)

    # The owner runs an AI continuation at the end of the text.
    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+End")
    await owner.page.select_option("[data-testid=ai-length]", "100")
    await owner.page.click("[data-testid=ai-continue]")
    done = owner.page.locator("[data-testid=ai-task][data-status=completed]")
    await done.wait_for(timeout=30_000)
    task_id = await done.get_attribute("data-task")
    task = ok(await web.call("GET", f"/api/v1/ai/tasks/{task_id}", owner_account))
    written = task["result"]["text"]
    expected = OWNER_TYPES + EDITOR_TYPES + written

    async def stored() -> bool:
        return await server_text(web, owner_account, chapter_id) == expected

    await eventually(stored, what="everything on the server")

    chapter = ok(await web.call("GET", f"/api/v1/chapters/{chapter_id}/authorship", owner_account))
    work = ok(await web.call("GET", f"/api/v1/works/{work_id}/authorship", owner_account))
    owner_key, editor_key, ai_key = (
        f"user:{owner_account.id}",
        f"user:{editor_account.id}",
        f"ai:{task_id}",
    )
    assert set(counts(chapter["authors"])) == {owner_key, editor_key, ai_key}
    assert set(counts(work["authors"])) == {owner_key, editor_key, ai_key}
    in_work, in_chapter = counts(work["authors"]), counts(chapter["authors"])
    assert in_work[owner_key] == in_chapter[owner_key] + len("别的章节")

    for writer in (owner, editor):
        await writer.wait_text(f"(text) => text === {json.dumps(expected)}")
        await writer.page.click("[data-testid=authors-toggle]")
        # `current`: the runs drawn are those of the text the editor shows.
        await writer.page.locator("[data-testid=authors-legend][data-state=current]").wait_for()
        assert await coloured(writer) == {
            owner_key: OWNER_TYPES,
            editor_key: EDITOR_TYPES,
            ai_key: written.replace("\n", ""),
        }
        rows = writer.page.locator("[data-testid=author-row]")
        shown = {
            await row.get_attribute("data-author"): (
                int(await row.get_attribute("data-chapter-chars") or -1),
                int(await row.get_attribute("data-work-chars") or -1),
            )
            for row in await rows.all()
        }
        in_work = counts(work["authors"])
        assert shown == {
            key.replace("None", ""): (counts(chapter["authors"]).get(key, 0), chars)
            for key, chars in in_work.items()
        }
    # Each author in a colour of their own, the AI's its own too.
    colours = await owner.page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.cm-author')]
             .map((el) => [el.dataset.author, getComputedStyle(el).backgroundColor]))"""
    )
    assert len(set(colours.values())) == 3, colours
    await owner.screenshot("authors_view")

    # Typing while the view is on: the new words are coloured as the typist's once read again.
    await editor.type_at_end("完")
    await editor.page.wait_for_function(
        "([key, text]) => [...document.querySelectorAll(`.cm-author[data-author='${key}']`)]"
        ".some((el) => el.textContent.endsWith(text))",
        arg=[editor_key, "完"],
    )
    assert_no_page_errors(owner, editor)
