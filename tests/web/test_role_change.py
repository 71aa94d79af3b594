"""A role change reaches an open editor at once, and no text stays on one screen only.

The owner lowers a co-author to viewer while the co-author's editor is open. The server pushes
the change to the open socket (it does not wait for the periodic re-check, set to an hour here),
the page turns read-only, and whatever the co-author typed that the server refused is rolled
back visibly: the page shows exactly the server's text and says why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from api.settings import Settings
from tests.api.test_works import ok
from tests.support.api import Account, Api, running_api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, server_text, shared_chapter


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data",
        auto_migrate=True,
        projection_debounce_s=0.05,
        membership_recheck_s=3600,  # only a push can reach the open editor within the test
        rate_limit_user_per_min=10_000,
        rate_limit_ip_per_min=100_000,
    )
    async with running_api(settings) as client:
        yield client


async def typed_offline(
    browser: Browser, web: Api, names: tuple[str, str], opening: str, line: str
) -> tuple[Account, Writer, int, int, str]:
    """An owner and a co-author (`names`) share a chapter holding `opening`; the co-author's
    editor goes offline and types `line`. Returns the owner, that editor, the work and chapter
    ids, and the path of the co-author's membership."""
    owner_account = await web.sign_up(names[0])
    editor_account = await web.sign_up(names[1])
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(editor_account, "editor")], opening
    )
    editor = await open_writer(browser, web, "editor", editor_account)
    await editor.open_chapter(work_id, chapter_id)
    await editor.wait_contains(opening)
    await editor.context.set_offline(True)
    await editor.wait_connection("offline")
    await editor.type_at_end(line)
    await editor.wait_contains(line)
    members = f"/api/v1/works/{work_id}/members/{editor_account.id}"
    return owner_account, editor, work_id, chapter_id, members


async def test_a_lowered_role_turns_the_open_editor_read_only_and_rolls_back(
    browser: Browser, web: Api
) -> None:
    opening = "花谢花飞飞满天。"
    setup = await typed_offline(browser, web, ("林黛玉", "薛宝钗"), opening, "红消香断有谁怜？")
    owner_account, editor, _work_id, chapter_id, members = setup
    # Meanwhile the owner makes them a viewer.
    ok(await web.call("PATCH", members, owner_account, json={"role": "viewer"}))

    # Back online the server refuses the line: the page rolls it back and says so.
    await editor.context.set_offline(False)
    await editor.page.locator("[data-testid=readonly]:visible").wait_for()
    assert await editor.wait_text(f"(text) => text === {json.dumps(opening)}") == opening
    await editor.page.locator("[data-testid=message]", has_text="只读").wait_for()
    assert await server_text(web, owner_account, chapter_id) == opening
    await editor.screenshot("demoted")

    # Promoted again, a fresh line is stored: nothing of the refused one comes back.
    ok(await web.call("PATCH", members, owner_account, json={"role": "editor"}))
    await editor.page.reload()
    await editor.wait_connection("online")
    await editor.type_at_end("一年三百六十日。")
    await editor.wait_contains("一年三百六十日。")

    async def stored() -> bool:
        return await server_text(web, owner_account, chapter_id) == opening + "一年三百六十日。"

    await eventually(stored, what="the line typed after promotion on the server")


async def test_a_role_lowered_while_the_editor_is_open_makes_it_read_only(
    browser: Browser, web: Api
) -> None:
    owner_account = await web.sign_up("贾宝玉")
    editor_account = await web.sign_up("史湘云")
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(editor_account, "editor")], "醉眠芍药裀。"
    )
    editor = await open_writer(browser, web, "editor", editor_account)
    await editor.open_chapter(work_id, chapter_id)
    assert await editor.page.locator("[data-testid=readonly]").is_hidden()
    members = f"/api/v1/works/{work_id}/members/{editor_account.id}"
    ok(await web.call("PATCH", members, owner_account, json={"role": "viewer"}))
    await editor.page.locator("[data-testid=readonly]:visible").wait_for()
    assert await editor.page.locator(".cm-content[contenteditable=false]").count() == 1


async def test_a_removed_co_author_loses_the_chapter_and_what_the_server_refused(
    browser: Browser, web: Api
) -> None:
    opening = "机关算尽太聪明。"
    setup = await typed_offline(browser, web, ("王熙凤", "平儿"), opening, "反算了卿卿性命。")
    owner_account, editor, work_id, chapter_id, members = setup
    # Meanwhile the owner removes them from the work.
    ok(await web.call("DELETE", members, owner_account))

    # Back online the socket is refused: the text leaves the screen and the page says why.
    await editor.context.set_offline(False)
    await editor.page.locator("[data-testid=access-lost]").wait_for()
    assert await editor.page.locator(".cm-content").count() == 0
    assert "卿卿性命" not in (await editor.page.locator("main").inner_text())
    assert await server_text(web, owner_account, chapter_id) == opening
    await editor.screenshot("removed")

    # Given access again, the browser's copy did not keep the refused line to send it now.
    body = {"username_or_email": "平儿", "role": "editor"}
    ok(await web.call("POST", f"/api/v1/works/{work_id}/members", owner_account, json=body), 201)
    await editor.open_chapter(work_id, chapter_id)
    await editor.wait_connection("online")
    assert await editor.wait_text(f"(text) => text === {json.dumps(opening)}") == opening
    await editor.type_at_end("一场欢喜忽悲辛。")

    async def stored() -> bool:
        return await server_text(web, owner_account, chapter_id) == opening + "一场欢喜忽悲辛。"

    await eventually(stored, what="only the line typed after access came back, on the server")
