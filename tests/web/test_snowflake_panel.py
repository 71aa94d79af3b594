"""The Snowflake panel keeps the writer's words: the premise and the steps come back after a
reload and to a viewer; an AI draft replaces a written step only when the writer agrees; the
English interface names the steps in English. Also: inviting an email with no account."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog

from tests.api.test_works import make_work, ok, share
from tests.support.api import Api

from .conftest import open_writer
from .test_browser import assert_no_page_errors

pytestmark = pytest.mark.browser

PREMISE = "一只石猴护送僧人西行取经"
STEP_TWO = "石猴大闹天宫被压五行山；护送唐僧，三打白骨精；真假美猴王；终至灵山。"


async def test_premise_and_steps_survive_a_reload_and_reach_a_viewer(
    browser: Browser, web: Api
) -> None:
    account, reader = await web.sign_up("吴承恩"), await web.sign_up("读者")
    work_id = (await make_work(web, account, title="西行新记"))["id"]
    await share(web, account, work_id, reader, "viewer")
    owner = await open_writer(browser, web, "owner", account)
    await owner.goto(f"/works/{work_id}")
    story = owner.page.locator("[data-testid=story-snowflake]")
    await story.locator("[data-testid=snowflake-step]").first.wait_for()

    await story.locator("[data-testid=snowflake-premise]").fill(PREMISE)
    await story.locator("[data-testid=snowflake-premise-save]").click()
    await story.locator("[data-testid=snowflake-message]:has-text('构想已保存')").wait_for()
    second = story.locator("[data-testid=snowflake-step][data-step='2']")
    await second.locator("[data-testid=snowflake-content]").fill(STEP_TWO)
    await second.locator("[data-testid=snowflake-save]").click()
    await second.locator("[data-testid=snowflake-step-message]:has-text('已保存')").wait_for()

    await owner.page.reload()
    await owner.page.wait_for_function(
        "(text) => document.querySelector('[data-testid=snowflake-premise]')?.value === text",
        arg=PREMISE,
    )
    content = story.locator("[data-testid=snowflake-step][data-step='2'] textarea")
    assert await content.input_value() == STEP_TWO

    # A written step is not replaced by an AI draft unless the writer says so.
    draft = story.locator(
        "[data-testid=snowflake-step][data-step='2'] [data-testid=snowflake-draft]"
    )
    asked: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    owner.page.once("dialog", dismiss)
    await draft.click()
    assert asked == ["用 AI 草稿替换这一步已写的内容吗？"]
    steps = ok(await web.call("GET", f"/api/v1/works/{work_id}/snowflake", account))
    assert steps[1]["content"] == STEP_TWO and await content.input_value() == STEP_TWO

    # A viewer, in English: the premise and the step, read-only, the steps named in English.
    viewer = await open_writer(browser, web, "viewer", reader)
    await viewer.context.add_init_script("localStorage.setItem('inkweave.lang', 'en')")
    await viewer.goto(f"/works/{work_id}")
    panel = viewer.page.locator("[data-testid=story-snowflake]")
    await viewer.page.wait_for_function(
        "(text) => document.querySelector('[data-testid=snowflake-premise]')?.value === text",
        arg=PREMISE,
    )
    assert await panel.locator("[data-testid=snowflake-premise]").get_attribute("readonly") == ""
    assert await panel.locator("[data-testid=snowflake-premise-save]").count() == 0
    names = await panel.locator("[data-testid=snowflake-step-name]").all_text_contents()
    assert names[:2] == ["Step 1 · One-sentence summary", "Step 2 · One-paragraph summary"]
    assert names[9] == "Step 10 · First draft"
    shown = panel.locator("[data-testid=snowflake-step][data-step='2'] textarea")
    assert await shown.input_value() == STEP_TWO
    assert_no_page_errors(owner, viewer)


async def test_inviting_an_email_without_an_account_is_kept_and_cancellable(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("作者")
    work_id = (await make_work(web, account, title="待邀之书"))["id"]
    owner = await open_writer(browser, web, "owner", account)
    await owner.goto(f"/works/{work_id}")
    await owner.page.fill("[data-testid=invite-who]", "friend@example.com")
    await owner.page.select_option("[data-testid=invite-role]", "viewer")
    await owner.page.click("[data-testid=invite-submit]")
    await owner.page.locator("[data-testid=message]:has-text('邀请已保存')").wait_for()
    row = owner.page.locator("[data-testid=invitation][data-email='friend@example.com']")
    await row.wait_for()
    await owner.page.reload()
    await row.locator("[data-testid=invitation-cancel]").click()
    await row.wait_for(state="detached")
    assert ok(await web.call("GET", f"/api/v1/works/{work_id}/invitations", account)) == []
    assert_no_page_errors(owner)
