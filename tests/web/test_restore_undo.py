"""Restoring a version, then pressing Ctrl+Z, in two real editors (DESIGN, invariant 4).

An editor's undo may take back its own typing after the restore, or do nothing; it never reaches
across the restore (that re-inserted text the restore had removed: a garbled mix of old and new).
The restore itself is undone by restoring the version that holds the state just before it.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import Browser

from tests.api.test_works import ok
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, server_text, shared_chapter
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

DRAFT = "信封上的字迹已经模糊。\n他把信折好，收进抽屉。"


async def same_text(writer: Writer, expected: str) -> None:
    assert await writer.wait_text(f"(text) => text === {json.dumps(expected)}") == expected


async def undo_twice_shows(writer: Writer, expected: str) -> None:
    """Ctrl+Z twice; an undo applies to the editor at once, so its text is read right after."""
    await writer.page.click(".cm-content")
    for _ in range(2):
        await writer.page.keyboard.press("Control+z")
        assert await writer.text() == expected, f"{writer.name}'s undo mixed in old text"


async def test_undo_after_a_restore_never_mixes_old_and_new_text(
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
        await same_text(writer, DRAFT)

    # Both delete and retype before the restore: undoing a deletion re-inserts the old text.
    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+End")
    for _ in "收进抽屉。":
        await owner.page.keyboard.press("Backspace")
    await owner.page.keyboard.type("烧掉了。")
    await editor.wait_contains("烧掉了。")
    await editor.page.click(".cm-content")
    await editor.page.keyboard.press("Control+Home")
    await editor.page.keyboard.press("End")
    for _ in "模糊。":
        await editor.page.keyboard.press("Backspace")
    await editor.page.keyboard.type("清楚。")
    before = "信封上的字迹已经清楚。\n他把信折好，烧掉了。"
    for writer in (owner, editor):
        await same_text(writer, before)

    async def stored() -> bool:
        return await server_text(web, owner_account, chapter_id) == before

    await eventually(stored, what="both edits on the server")

    # The owner restores the draft through the versions panel; both editors show it live.
    await owner.page.click("[data-testid=tab-versions]")
    draft_row = owner.page.locator("[data-testid=version]:has-text('初稿')")
    await draft_row.locator("[data-testid=version-restore]").click()
    for writer in (owner, editor):
        await same_text(writer, DRAFT)

    # Neither the restorer's undo nor the co-author's reaches across the restore.
    await undo_twice_shows(owner, DRAFT)
    await undo_twice_shows(editor, DRAFT)

    # Typing after the restore is undone, and only that.
    await owner.page.keyboard.press("Control+End")
    await owner.page.keyboard.insert_text("\n甲在恢复后写的。")
    await same_text(editor, DRAFT + "\n甲在恢复后写的。")
    await undo_twice_shows(owner, DRAFT)
    await editor.page.keyboard.press("Control+End")
    await editor.page.keyboard.insert_text("\n乙在恢复后写的。")
    await same_text(owner, DRAFT + "\n乙在恢复后写的。")
    await undo_twice_shows(editor, DRAFT)
    await same_text(owner, DRAFT)
    assert await server_text(web, owner_account, chapter_id) == DRAFT

    # "Undo the restore": restore the version that holds the state just before it, exactly.
    listed = ok(await web.call("GET", versions, owner_account))
    assert [v["name"].split(" ")[0] for v in listed] == ["初稿", "恢复前"]
    await owner.page.click("[data-testid=version-undo-restore]")
    for writer in (owner, editor):
        await same_text(writer, before)
    assert await server_text(web, owner_account, chapter_id) == before
    await undo_twice_shows(owner, before)
    await undo_twice_shows(editor, before)
    await owner.screenshot("restore_undo")
    assert_no_page_errors(owner, editor)
