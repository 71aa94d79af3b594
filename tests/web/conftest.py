"""Browser tests of the web editor: the app in-process, Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright drives `/usr/bin/chromium` (`make install-dev` installs it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from api.settings import Settings
from tests.api.test_works import make_chapter, make_work, ok, save
from tests.support.api import Account, Api, running_api

CHROMIUM = Path(os.environ.get("INKWEAVE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).with_name("artifacts")
# As root and on a machine with no network: no sandbox, no background calls home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 15_000

# The editor's text as the user sees it: every line, without remote carets or the placeholder.
EDITOR_TEXT_JS = """() => [...document.querySelectorAll('.cm-content .cm-line')].map((line) => {
  const copy = line.cloneNode(true)
  copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder, .cm-widgetBuffer')
      .forEach((node) => node.remove())
  return copy.textContent
}).join('\\n')"""


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Api]:
    """The whole app (editor included) on a free port, with an API client for set-up."""
    settings = Settings(
        data_dir=tmp_path / "data",
        auto_migrate=True,
        room_unload_grace_s=0.5,
        projection_debounce_s=0.05,
        membership_recheck_s=0.3,
        rate_limit_user_per_min=10_000,
        rate_limit_ip_per_min=100_000,
        ai_offline_delay_ms=40,
    )
    async with running_api(settings) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install-dev` installs Debian's chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Writer:
    """One person in one browser context (its own storage, its own network switch)."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def console_error(self, kind: str, text: str) -> None:
        # CodeMirror reports a crashed plugin (an editor that silently stops syncing) this way.
        # Failed requests are logged too: those the tests provoke are checked where they happen.
        if kind == "error" and not text.startswith("Failed to load resource"):
            self.errors.append(f"console: {text}")

    async def goto(self, path: str) -> None:
        await self.page.goto(path)

    async def open_chapter(self, work_id: int, chapter_id: int) -> None:
        await self.goto(f"/works/{work_id}/chapters/{chapter_id}")
        await self.wait_connection("online")

    async def wait_connection(self, state: str) -> None:
        await self.page.wait_for_selector(f"[data-testid=conn][data-state={state}]")

    async def type_at_end(self, text: str) -> None:
        await self.page.click(".cm-content")
        await self.page.keyboard.press("Control+End")
        await self.page.keyboard.type(text)

    async def text(self) -> str:
        return await self.page.evaluate(EDITOR_TEXT_JS)

    async def wait_text(self, predicate: str, timeout: int = TIMEOUT_MS) -> str:
        """Wait until the editor text satisfies the JS `predicate(text)`; returns the text."""
        await self.page.wait_for_function(
            f"(({predicate}))(({EDITOR_TEXT_JS})())", timeout=timeout, polling=50
        )
        return await self.text()

    async def wait_contains(self, *parts: str) -> str:
        return await self.wait_text(
            f"(text) => {json.dumps(list(parts))}.every((part) => text.includes(part))"
        )

    async def word_count(self) -> int:
        locator = self.page.locator("[data-testid=wordcount]")
        return int(await locator.get_attribute("data-count") or "-1")

    async def screenshot(self, test: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", f"{test}-{self.name}")
        await self.page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)


async def open_writer(
    browser: Browser,
    api: Api,
    name: str,
    account: Account | None = None,
    *,
    enforce_csp: bool = False,
) -> Writer:
    """A new context on the app; with `account`, already signed in as that user.

    The page's Content-Security-Policy is bypassed unless `enforce_csp`: Playwright's
    `wait_for_function` evaluates its predicate as a string, which the editor's policy (no
    `unsafe-eval`) refuses. tests/web/test_content_security_policy.py runs under it."""
    context = await browser.new_context(
        base_url=api.app.http_url,
        locale="zh-CN",
        viewport={"width": 1280, "height": 800},
        bypass_csp=not enforce_csp,
    )
    context.set_default_timeout(TIMEOUT_MS)
    if account is not None:
        session = {
            "user_id": account.id,
            "username": account.username,
            "token": account.token,
            "refresh_token": account.refresh_token,
        }
        await context.add_init_script(
            f"localStorage.setItem('inkweave.session', {json.dumps(json.dumps(session))})"
        )
    page = await context.new_page()
    writer = Writer(name, context, page)
    page.on("pageerror", lambda error: writer.errors.append(str(error)))
    page.on("console", lambda message: writer.console_error(message.type, message.text))
    return writer


async def shared_chapter(
    api: Api, owner: Account, members: list[tuple[Account, str]], text: str = "", **work: Any
) -> tuple[int, int]:
    """A work of `owner` shared with `members` (account, role) and one chapter holding `text`."""
    created = await make_work(api, owner, **work)
    for member, role in members:
        body = {"username_or_email": member.username, "role": role}
        path = f"/api/v1/works/{created['id']}/members"
        ok(await api.call("POST", path, owner, json=body), 201)
    chapter = await make_chapter(api, owner, created["id"], "第一回")
    if text:
        ok(await save(api, owner, created["id"], chapter["id"], text))
    return created["id"], chapter["id"]


async def server_text(api: Api, account: Account, chapter_id: int) -> str:
    path = f"/api/v1/chapters/{chapter_id}/content"
    return ok(await api.call("GET", path, account))["content"]
