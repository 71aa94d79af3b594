"""The web editor in a real browser: sign-up, co-editing, the AI as a peer, offline, read-only.

Each person is a separate browser context (own storage, own network switch) on the app running
in-process; what is asserted is what the pages show, and the server's copy of the text.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import Browser

from storage.text.wordcount import count_words
from tests.api.test_works import ok, save
from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, server_text, shared_chapter

pytestmark = pytest.mark.browser


def assert_no_page_errors(*writers: Writer) -> None:
    for writer in writers:
        assert writer.errors == [], f"{writer.name}: {writer.errors}"


async def test_sign_up_invite_and_co_edit_with_live_cursors(browser: Browser, web: Api) -> None:
    # The owner signs up through the pages, creates a novel and a chapter, invites a co-author.
    owner = await open_writer(browser, web, "owner")
    await owner.goto("/")
    await owner.page.wait_for_url("**/login")
    await owner.page.click("a[href='/signup']")
    email = "daiyu@example.com"
    await owner.page.fill("[data-testid=signup-email]", email)
    await owner.page.click("[data-testid=signup-send-code]")
    await owner.page.wait_for_selector("[data-testid=message]:has-text('验证码已发送')")
    await owner.page.fill("[data-testid=signup-code]", web.last_code(email))
    await owner.page.fill("[data-testid=signup-username]", "林黛玉")
    await owner.page.fill("[data-testid=signup-password]", "a-long-password")
    await owner.page.click("[data-testid=signup-submit]")
    await owner.page.wait_for_url("**/works")
    await owner.page.fill("[data-testid=work-title]", "红楼新梦")
    await owner.page.click("[data-testid=work-create]")
    await owner.page.wait_for_selector("[data-testid=work-heading]:has-text('红楼新梦')")
    await owner.page.fill("[data-testid=chapter-title]", "第一回 初见")
    await owner.page.click("[data-testid=chapter-add]")
    co_author = await web.sign_up("贾宝玉")
    await owner.page.fill("[data-testid=invite-who]", co_author.username)
    await owner.page.select_option("[data-testid=invite-role]", "editor")
    await owner.page.click("[data-testid=invite-submit]")
    await owner.page.wait_for_selector(f"[data-testid=members] >> text={co_author.username}")
    await owner.page.click("[data-testid=chapter-link]:has-text('第一回 初见')")
    await owner.wait_connection("online")
    chapter_path = owner.page.url.split(web.app.http_url, 1)[1]

    # The co-author signs in through the form; a wrong password first shows the server's error.
    editor = await open_writer(browser, web, "editor")
    await editor.goto(chapter_path)
    await editor.page.wait_for_url("**/login?next=*")
    await editor.page.fill("[data-testid=login-account]", co_author.email)
    await editor.page.fill("[data-testid=login-password]", "not-the-password")
    await editor.page.click("[data-testid=login-submit]")
    error = editor.page.locator("[data-testid=message][data-code='40102']")
    await error.wait_for()
    assert "账号或密码错误" in (await error.text_content() or "")
    await editor.page.fill("[data-testid=login-password]", "correct-horse-9")
    await editor.page.click("[data-testid=login-submit]")
    await editor.page.wait_for_url(f"**{chapter_path}")
    await editor.wait_connection("online")

    # Both type; each sees the other's words and the other's named cursor.
    # Mixed scripts for the 字数 check: CJK, an ideograph outside the BMP, full-width and
    # accented Latin, digits, kana, hangul.
    await owner.type_at_end("黛玉初进荣国府，步步留心。Lin Daiyu 1791年 ＡＢＣ café 𠀋 かな 한글")
    await editor.wait_contains("黛玉初进荣国府")
    await editor.type_at_end("宝玉笑道：这个妹妹我曾见过的。")
    text = await owner.wait_contains("黛玉初进荣国府，步步留心。", "한글", "这个妹妹我曾见过的。")
    assert await editor.wait_text(f"(text) => text === {json.dumps(text)}") == text
    await owner.page.wait_for_selector(".cm-ySelectionInfo:has-text('贾宝玉')")
    await editor.page.wait_for_selector(".cm-ySelectionInfo:has-text('林黛玉')")
    for writer in (owner, editor):
        presence = writer.page.locator("[data-testid=presence]")
        await presence.locator("[data-name='林黛玉']").wait_for()
        await presence.locator("[data-name='贾宝玉']").wait_for()
        await writer.page.wait_for_function(
            "(n) => document.querySelector('[data-testid=wordcount]').dataset.count === String(n)",
            arg=count_words(text),
        )
    chapter_id = int(chapter_path.rsplit("/", 1)[1])
    # Both editors show it, so the server has it: it stores an update before relaying it.
    assert await server_text(web, co_author, chapter_id) == text
    await owner.screenshot("co_edit")
    await editor.screenshot("co_edit")
    assert_no_page_errors(owner, editor)


async def test_ai_continuation_streams_into_both_editors(browser: Browser, web: Api) -> None:
    paths = web.app.app.openapi()["paths"]
    if "/api/v1/ai/continue" not in paths:
        pytest.skip("the AI endpoints (issue 5) are not mounted in this build")
    owner_account = await web.sign_up("曹雪芹")
    editor_account = await web.sign_up("高鹗")
    # An ideograph outside the BMP before the cursor: one code point, two UTF-16 units.
    first = "雨下到第三天𠀋，林小雨终于把店门口的木牌翻到了“休息”。"
    second = "\n她刚要关灯，门上的风铃响了。"
    opening = first + second
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(editor_account, "editor")], opening
    )
    owner = await open_writer(browser, web, "owner", owner_account)
    editor = await open_writer(browser, web, "editor", editor_account)
    for writer in (owner, editor):
        await writer.open_chapter(work_id, chapter_id)
        await writer.wait_contains(opening)
        # Record what the page shows while the AI types: its text, its caret, its presence.
        await writer.page.evaluate(
            """() => {
              window.__seen = {lengths: [], counts: [], caret: false, peer: false}
              setInterval(() => {
                const marked = [...document.querySelectorAll('.cm-ai-text')]
                  .map((el) => el.textContent).join('').length
                const lengths = window.__seen.lengths
                if (marked && lengths[lengths.length - 1] !== marked) lengths.push(marked)
                // 字数 next to how much AI text there is at that moment
                const badge = document.querySelector('[data-testid=wordcount]')
                const count = Number(badge.dataset.count)
                const counts = window.__seen.counts
                const last = counts[counts.length - 1]
                if (marked && (!last || last[0] !== marked || last[1] !== count))
                  counts.push([marked, count])
                for (const info of document.querySelectorAll('.cm-ySelectionInfo'))
                  if (info.textContent.startsWith('AI')) window.__seen.caret = true
                if (document.querySelector('[data-testid=presence] [data-kind=ai]'))
                  window.__seen.peer = true
              }, 15)
            }"""
        )

    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+Home")
    await owner.page.keyboard.press("End")  # the end of the first paragraph
    await owner.page.select_option("[data-testid=ai-length]", "100")
    await owner.page.click("[data-testid=ai-continue]")
    await editor.page.wait_for_function("window.__seen.peer")
    await editor.screenshot("ai_typing")
    finished = ", ".join(
        f"[data-testid=ai-task][data-status={status}]"
        for status in ("completed", "failed", "cancelled")
    )
    task_row = owner.page.locator(finished)
    await task_row.wait_for(timeout=30_000)
    task_id = await task_row.get_attribute("data-task")
    task = ok(await web.call("GET", f"/api/v1/ai/tasks/{task_id}", owner_account))
    assert task["status"] == "completed", task
    written = task["result"]["text"]
    assert written
    assert task["result"]["position"] == len(first)  # code points, as the API counts
    # A highlight is drawn line by line: the line breaks are between its pieces, not in them.
    highlighted = written.replace("\n", "")

    async def marked_as_ai(writer: Writer) -> str:
        await writer.page.wait_for_function(
            "([task, n]) => [...document.querySelectorAll(`.cm-ai-text[data-ai-task='${task}']`)]"
            ".map((el) => el.textContent).join('').length === n",
            arg=[task_id, len(highlighted)],
        )
        marked = writer.page.locator(f".cm-ai-text[data-ai-task='{task_id}']")
        return "".join(await marked.all_text_contents())

    for writer in (owner, editor):
        assert await marked_as_ai(writer) == highlighted
        seen = await writer.page.evaluate("window.__seen")
        assert len(seen["lengths"]) >= 2, f"{writer.name} saw no streaming: {seen}"
        assert seen["lengths"] == sorted(seen["lengths"]), seen
        assert seen["caret"] and seen["peer"], f"{writer.name} never saw the AI: {seen}"
        # The live 字数 moved while the AI wrote, not only once it had finished.
        while_writing = {count for marked, count in seen["counts"] if marked < len(highlighted)}
        assert len(while_writing) >= 2, f"{writer.name}'s word count froze: {seen}"
        row = writer.page.locator(f"[data-testid=ai-text][data-task='{task_id}']")
        await row.wait_for()
        assert await writer.text() == first + written + second
    await owner.screenshot("ai_stream")
    await editor.screenshot("ai_stream")

    # Typing right after the AI's text does not make the typist's words the AI's.
    await editor.page.click(".cm-content")
    await editor.page.keyboard.press("Control+End")
    for _ in second:
        await editor.page.keyboard.press("ArrowLeft")
    await editor.page.keyboard.type("——完")
    expected = first + written + "——完" + second
    for writer in (owner, editor):
        assert await writer.wait_text(f"(text) => text === {json.dumps(expected)}") == expected
        assert await marked_as_ai(writer) == highlighted

    # The co-author accepts: the highlight goes away in both editors, the text stays.
    await editor.page.click(f"[data-testid=ai-text][data-task='{task_id}'] [data-testid=ai-accept]")
    for writer in (owner, editor):
        await writer.page.locator(".cm-ai-text").first.wait_for(state="detached")
        assert await writer.text() == expected
    assert await server_text(web, owner_account, chapter_id) == expected
    assert_no_page_errors(owner, editor)


async def test_offline_edits_merge_on_reconnect(browser: Browser, web: Api) -> None:
    owner_account = await web.sign_up("苏轼")
    editor_account = await web.sign_up("苏辙")
    opening = "明月几时有？"
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(editor_account, "editor")], opening
    )
    owner = await open_writer(browser, web, "owner", owner_account)
    editor = await open_writer(browser, web, "editor", editor_account)
    for writer in (owner, editor):
        await writer.open_chapter(work_id, chapter_id)
        await writer.wait_contains(opening)

    await editor.context.set_offline(True)
    await editor.wait_connection("offline")
    await editor.type_at_end("把酒问青天。")
    await owner.type_at_end("不知天上宫阙，今夕是何年。")
    await owner.wait_contains("今夕是何年")

    async def owners_line_stored() -> bool:
        return "今夕是何年" in await server_text(web, owner_account, chapter_id)

    # The editor typed first; once the owner's later line is stored, a line the offline editor
    # could still send would be there too.
    await eventually(owners_line_stored, what="the owner's line on the server")
    assert "把酒问青天" not in await server_text(web, owner_account, chapter_id)
    assert "把酒问青天" not in await owner.text()
    assert "今夕是何年" not in await editor.text()
    await editor.screenshot("offline")

    await editor.context.set_offline(False)
    await editor.wait_connection("online")
    merged = await editor.wait_contains("把酒问青天。", "今夕是何年。")
    assert await owner.wait_text(f"(text) => text === {json.dumps(merged)}") == merged
    assert merged.startswith(opening)
    assert await server_text(web, owner_account, chapter_id) == merged
    await owner.screenshot("reconnected")
    await editor.screenshot("reconnected")
    assert_no_page_errors(owner, editor)


async def test_a_viewer_reads_live_but_cannot_write(browser: Browser, web: Api) -> None:
    owner_account = await web.sign_up("罗贯中")
    viewer_account = await web.sign_up("读者甲")
    opening = "滚滚长江东逝水"
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(viewer_account, "viewer")], opening
    )
    owner = await open_writer(browser, web, "owner", owner_account)
    viewer = await open_writer(browser, web, "viewer", viewer_account)
    await owner.open_chapter(work_id, chapter_id)
    await viewer.open_chapter(work_id, chapter_id)
    await viewer.wait_contains(opening)

    await viewer.page.locator("[data-testid=readonly]").wait_for()
    assert await viewer.page.locator(".cm-content").get_attribute("contenteditable") == "false"
    assert await viewer.page.locator("[data-testid=ai-continue]").is_hidden()
    await viewer.page.click(".cm-content")
    await viewer.page.keyboard.type("读者乱写")
    await owner.type_at_end("，浪花淘尽英雄。")
    expected = opening + "，浪花淘尽英雄。"
    assert await viewer.wait_text(f"(text) => text === {json.dumps(expected)}") == expected
    await owner.page.locator("[data-testid=presence] [data-name='读者甲']").wait_for()
    assert await server_text(web, owner_account, chapter_id) == expected
    assert await owner.text() == expected

    # The interface switches to English, and so do the server's error messages.
    await viewer.page.click("[data-testid=lang-switch]")
    await viewer.wait_connection("online")
    await viewer.page.locator("[data-testid=readonly]:has-text('Read-only')").wait_for()
    await viewer.wait_text(f"(text) => text === {json.dumps(expected)}")
    await viewer.page.wait_for_function(
        "(n) => document.querySelector('[data-testid=wordcount]').dataset.count === String(n)",
        arg=count_words(expected),
    )
    await viewer.screenshot("read_only")
    await viewer.goto("/works/999999")
    missing = viewer.page.locator("[data-testid=message][data-code='40401']")
    await missing.wait_for()
    assert "Not found" in (await missing.text_content() or "")
    assert_no_page_errors(owner, viewer)


async def test_chapters_members_versions_materials_and_export(browser: Browser, web: Api) -> None:
    owner_account = await web.sign_up("施耐庵")
    helper = await web.sign_up("金圣叹")
    work_id, first_id = await shared_chapter(web, owner_account, [(helper, "editor")])
    second = ok(
        await web.call(
            "POST", f"/api/v1/works/{work_id}/chapters", owner_account, json={"title": "第二回"}
        ),
        201,
    )
    owner = await open_writer(browser, web, "owner", owner_account)
    owner.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))

    # Chapters: rename the second, move it first.
    await owner.goto(f"/works/{work_id}")
    row = owner.page.locator(f"[data-chapter-id='{second['id']}']")
    await row.locator("[data-testid=chapter-rename]").click()
    await owner.page.fill("[data-testid=chapter-rename-input]", "第二回 风雪山神庙")
    await owner.page.click("[data-testid=chapter-rename-save]")
    await row.locator("text=第二回 风雪山神庙").wait_for()
    await row.locator("[data-testid=chapter-up]").click()
    await (
        owner.page.locator("[data-testid=chapters] li")
        .first.locator("text=第二回 风雪山神庙")
        .wait_for()
    )
    listed = ok(await web.call("GET", f"/api/v1/works/{work_id}/chapters", owner_account))
    assert [c["id"] for c in listed["items"]] == [second["id"], first_id]

    # Members: the editor becomes a viewer, then leaves the work.
    member = owner.page.locator(f"[data-testid=members] [data-user-id='{helper.id}']")
    await member.locator("[data-testid=member-role]").select_option("viewer")

    async def role_on_the_server() -> bool:
        members = ok(await web.call("GET", f"/api/v1/works/{work_id}/members", owner_account))
        return {m["user_id"]: m["role"] for m in members}[helper.id] == "viewer"

    # The select shows the new role at once; the PATCH it sends lands a moment later.
    await eventually(role_on_the_server, what="the page's role change reached the server")
    await member.locator("[data-testid=member-remove]").click()
    await member.wait_for(state="detached")
    members = ok(await web.call("GET", f"/api/v1/works/{work_id}/members", owner_account))
    assert helper.id not in {m["user_id"] for m in members}

    # Versions: name a state, write on, preview the version, restore it live.
    await owner.open_chapter(work_id, first_id)
    await owner.type_at_end("林冲夜奔。")
    await owner.wait_contains("林冲夜奔。")
    await owner.page.click("[data-testid=tab-versions]")
    await owner.page.fill("[data-testid=version-name]", "初稿")
    await owner.page.click("[data-testid=version-create]")
    version = owner.page.locator("[data-testid=version]:has-text('初稿')")
    await version.wait_for()
    await owner.type_at_end("风雪漫天。")
    await owner.wait_contains("风雪漫天。")
    await version.locator("[data-testid=version-preview-button]").click()
    preview = owner.page.locator("[data-testid=version-preview-text]")
    await preview.wait_for()
    assert await preview.text_content() == "林冲夜奔。"
    await version.locator("[data-testid=version-restore]").click()
    assert await owner.wait_text("(text) => text === '林冲夜奔。'") == "林冲夜奔。"

    # Materials: search the library and insert one at the cursor.
    await owner.page.click("[data-testid=tab-materials]")
    first_material = owner.page.locator("[data-testid=material]").first
    await first_material.wait_for()
    material_id = int(await first_material.get_attribute("data-material-id") or "0")
    material = ok(await web.call("GET", f"/api/v1/materials/{material_id}", owner_account))
    await owner.page.click(".cm-content")
    await owner.page.keyboard.press("Control+End")
    await first_material.locator("[data-testid=material-insert]").click()
    await first_material.locator("[data-testid=material-insert-confirm]").click()
    inserted = await owner.wait_contains(material["content"])
    assert inserted == "林冲夜奔。" + material["content"]
    await owner.screenshot("versions_materials")

    # Export: the file downloads once the task is done.
    await owner.page.click("[data-testid=tab-export]")
    await owner.page.select_option("[data-testid=export-format]", "txt")
    async with owner.page.expect_download(timeout=30_000) as download_info:
        await owner.page.click("[data-testid=export-start]")
    download = await download_info.value
    exported = Path(await download.path()).read_text(encoding="utf-8")
    assert "林冲夜奔。" in exported and "第二回 风雪山神庙" in exported
    await owner.screenshot("export")
    assert_no_page_errors(owner)


async def test_story_tools_snowflake_outline_and_review(browser: Browser, web: Api) -> None:
    paths = web.app.app.openapi()["paths"]
    if "/api/v1/works/{work_id}/snowflake" not in paths:
        pytest.skip("the story tools are not mounted in this build")
    account = await web.sign_up("吴承恩")
    work = ok(
        await web.call(
            "POST", "/api/v1/works", account, json={"title": "西行新记", "type": "novel"}
        ),
        201,
    )
    work_id = work["id"]
    writer = await open_writer(browser, web, "owner", account)
    await writer.goto(f"/works/{work_id}")
    story = writer.page.locator("[data-testid=story]")
    await story.wait_for()

    # Snowflake: the premise, then step 1 drafted by the AI; it survives a reload.
    await story.locator("[data-testid=snowflake-premise]").fill("一只石猴护送僧人西行取经")
    await story.locator("[data-testid=snowflake-premise-save]").click()
    await story.locator("[data-testid=snowflake-message]:has-text('构想已保存')").wait_for()
    steps = story.locator("[data-testid=snowflake-step]")
    assert await steps.count() == 10
    assert await steps.first.get_attribute("data-step") == "1"
    # Step 3 before step 2: the server refuses, and the page says why.
    third = steps.nth(2)
    await third.locator("[data-testid=snowflake-draft]").click()
    refused = third.locator("[data-testid=snowflake-step-message][data-code='42201']")
    await refused.wait_for()
    assert "step 2" in (await refused.text_content() or "")
    first = steps.first
    await first.locator("[data-testid=snowflake-draft]").click()
    await first.locator("[data-testid=ai-source][data-provider=offline]").wait_for()
    drafted = await first.locator("[data-testid=snowflake-content]").input_value()
    assert drafted
    saved = ok(await web.call("GET", f"/api/v1/works/{work_id}/snowflake", account))
    assert saved[0]["content"] == drafted
    await writer.page.reload()
    content = writer.page.locator("[data-testid=snowflake-step][data-step='1'] textarea")
    await writer.page.wait_for_function(
        "(text) => document.querySelector("
        "\"[data-testid=snowflake-step][data-step='1'] textarea\")?.value === text",
        arg=drafted,
    )
    assert await content.input_value() == drafted

    # Outline: 3 chapters, created in the work; the offline provider says it is offline.
    await story.locator("[data-testid=outline-prompt]").fill("石猴出世，拜师学艺，大闹天宫")
    await story.locator("[data-testid=outline-chapters]").fill("3")
    await story.locator("[data-testid=outline-apply]").check()
    await story.locator("[data-testid=outline-start]").click()
    outline_status = story.locator("[data-testid=outline-status][data-status=completed]")
    await outline_status.wait_for(timeout=30_000)
    source = outline_status.locator("[data-testid=ai-source]")
    assert await source.get_attribute("data-provider") == "offline"
    assert "离线" in (await source.text_content() or "")
    tasks = ok(await web.call("GET", "/api/v1/ai/tasks", account))
    outline = next(task for task in tasks if task["type"] == "outline")
    assert outline["provider"] == "offline" and outline["result"]["applied"]
    titles = [chapter["title"] for chapter in outline["result"]["chapters"]]
    assert len(titles) == 3
    shown = story.locator("[data-testid=outline-chapter] strong")
    assert await shown.all_text_contents() == titles
    links = writer.page.locator("[data-testid=chapters] [data-testid=chapter-link]")
    await writer.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=chapters] [data-testid=chapter-link]')"
        ".length === 3"
    )
    assert await links.all_text_contents() == titles

    # Review of the three empty chapters: nothing to report, and the page says so.
    await story.locator("[data-testid=review-start]").click()
    await story.locator("[data-testid=review-none]:has-text('没有发现问题')").wait_for(
        timeout=30_000
    )
    assert await story.locator("[data-testid=review-finding]").count() == 0

    # The same passage in two chapters: the review lists it, linked to each chapter's editor.
    chapters = ok(await web.call("GET", f"/api/v1/works/{work_id}/chapters", account))["items"]
    passage = "悟空纵身一跃，翻了一个筋斗云，十万八千里外落在五根肉红柱子前，撒了一泡尿才回来。"
    for chapter in chapters[:2]:
        ok(await save(web, account, work_id, chapter["id"], f"开篇一句。\n{passage}\n收尾一句。"))
    await story.locator("[data-testid=review-start]").click()
    rows = story.locator("[data-testid=review-finding]")
    await rows.first.wait_for(timeout=30_000)
    tasks = ok(await web.call("GET", "/api/v1/ai/tasks", account))
    review = next(task for task in tasks if task["type"] == "review")
    findings = review["result"]["findings"]
    assert findings and "repetition" in {f["kind"] for f in findings}
    assert await rows.count() == len(findings)
    assert await rows.evaluate_all("(rows) => rows.map((row) => row.dataset.kind)") == [
        f["kind"] for f in findings
    ]
    hrefs = await rows.locator("[data-testid=review-finding-link]").evaluate_all(
        "(links) => links.map((link) => link.getAttribute('href'))"
    )
    assert hrefs == [f"/works/{work_id}/chapters/{f['chapter_id']}" for f in findings]
    await writer.screenshot("story_tools")
    await rows.first.locator("[data-testid=review-finding-link]").click()
    await writer.page.wait_for_url(f"**/works/{work_id}/chapters/{findings[0]['chapter_id']}")
    await writer.wait_contains(passage)
    assert_no_page_errors(writer)
