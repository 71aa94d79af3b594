"""The editor works under its Content-Security-Policy, and the policy stops injected script.

Two writers co-edit with live carets and presence (CodeMirror's style sheets, y-codemirror's
coloured carets, the sync socket): Chromium reports no violation. Then markup that an XSS would
inject (an inline event handler, an inline script element) is refused. (Waits poll with
`page.evaluate`, which the policy does not govern: Playwright's `wait_for_function` would itself
be refused.)
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.support.api import Api
from tests.support.waiting import eventually

from .conftest import Writer, open_writer, shared_chapter

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__violations = []
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`)
})
"""


async def violations(writer: Writer) -> list[str]:
    return await writer.page.evaluate("() => window.__violations")


async def test_the_editor_runs_under_its_policy_and_injected_script_does_not(
    browser: Browser, web: Api
) -> None:
    owner_account = await web.sign_up("王熙凤")
    guest_account = await web.sign_up("平儿")
    work_id, chapter_id = await shared_chapter(
        web, owner_account, [(guest_account, "editor")], "凤姐笑道。"
    )
    owner = await open_writer(browser, web, "owner", owner_account, enforce_csp=True)
    guest = await open_writer(browser, web, "guest", guest_account, enforce_csp=True)
    for writer in (owner, guest):
        await writer.context.add_init_script(RECORD_VIOLATIONS)
        await writer.open_chapter(work_id, chapter_id)
    await owner.type_at_end("我来迟了。")

    async def arrived() -> bool:  # not `wait_contains`: its predicate is an eval
        return "我来迟了。" in await guest.text()

    await eventually(arrived, what="the owner's line in the guest's editor")
    await guest.page.wait_for_selector(".cm-ySelectionInfo:has-text('王熙凤')")
    await guest.page.locator("[data-testid=presence] [data-name='王熙凤']").wait_for()
    for writer in (owner, guest):
        assert await violations(writer) == [], writer.name
        assert writer.errors == [], writer.errors

    await guest.page.evaluate(
        """() => document.body.insertAdjacentHTML(
            'beforeend', '<img src="/nope.png" onerror="window.__ran = true">')"""
    )

    async def refused() -> list[str]:
        seen = await violations(guest)
        assert seen, "no violation reported yet"
        return seen

    await eventually(refused, what="the browser to refuse the inline handler")
    assert await guest.page.evaluate("() => window.__ran === undefined")
    await guest.page.evaluate(
        """() => {
          const script = document.createElement('script')
          script.textContent = 'window.__inline = true'
          document.head.append(script)
        }"""
    )
    assert await guest.page.evaluate("() => window.__inline === undefined")
    assert all(v.startswith("script-src") for v in await violations(guest)), await violations(guest)
