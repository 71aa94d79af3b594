"""The export dialog's options in a real browser: a visible watermark and a password with PDF
permissions reach the file that downloads; the password field is emptied once sent."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from playwright.async_api import Browser

from tests.support.api import Api

from .conftest import open_writer, shared_chapter

pytestmark = pytest.mark.browser


async def test_a_watermarked_pdf_with_a_password_from_the_export_dialog(
    browser: Browser, web: Api
) -> None:
    account = await web.sign_up("探春")
    work_id, chapter_id = await shared_chapter(web, account, [], "秋雨连绵。")
    writer = await open_writer(browser, web, "owner", account)
    await writer.goto(f"/works/{work_id}/chapters/{chapter_id}")
    page = writer.page
    await page.click("[data-testid=tab-export]")
    await page.select_option("[data-testid=export-format]", "pdf")
    await page.check("[data-testid=export-watermark]")
    await page.fill("[data-testid=export-password]", "秋爽斋-2026")
    await page.uncheck("[data-testid=export-can-print]")
    async with page.expect_download(timeout=30_000) as download_info:
        await page.click("[data-testid=export-start]")
    download = await download_info.value
    data = Path(await download.path()).read_bytes()
    assert await page.input_value("[data-testid=export-password]") == ""

    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.is_encrypted and reader.decrypt("秋爽斋-2026")
    assert all("探春 #" in page_.extract_text() for page_ in reader.pages)
    permissions = reader.user_access_permissions
    assert permissions is not None
    assert not permissions & pypdf.constants.UserAccessPermissions.PRINT
    assert writer.errors == []
