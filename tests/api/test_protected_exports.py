"""Watermarked and password-protected exports over HTTP, read back from the downloaded files:
the mark names the account and the date, the export is recorded in SQL under the id the file
carries, and the password is in no row and no log line. One test runs on MariaDB too."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

import docx
import httpx
import pypdf
import pytest
import pyzipper
from sqlalchemy import inspect, select, text

from api.settings import Settings
from storage.sql.models import ExportMark
from tests.api.test_works import refused
from tests.jobs.conftest import SQLITE_ONLY
from tests.jobs.test_export_api import export, finished_export, novel
from tests.support.api import Api, running_api

PASSWORD = "月光-secret-42"


async def download(view: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        response = await http.get(view["download_url"])
    assert response.status_code == 200, response.text
    return response


async def every_stored_value(api: Api) -> str:
    """Every row of every table, as stored (plain SQL: no column type decodes anything)."""
    rows: list[str] = []
    async with api.app.adapters.database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            result = await connection.execute(text(f"SELECT * FROM {name}"))
            rows.extend(repr(tuple(row)) for row in result)
    return "\n".join(rows)


async def test_a_watermarked_pdf_with_a_password_through_http(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = await api.sign_up("黛玉")
    work_id = await novel(api, owner)
    protection = {"password": PASSWORD, "can_print": True, "can_copy": False}
    task_id = await export(
        api, owner, work_id, "pdf", options={"watermark": True}, protection=protection
    )
    view = await finished_export(api, owner, task_id)
    assert view["watermark"] is True and view["protected"] is True
    assert view["filename"] == "长夜将尽.pdf"
    data = (await download(view)).content

    async with api.app.adapters.database.session() as session:
        mark = await session.scalar(select(ExportMark).where(ExportMark.task_id == task_id))
    assert mark is not None
    assert mark.sha256 == hashlib.sha256(data).hexdigest() and mark.size == len(data)
    assert mark.account.startswith("黛玉 #") and mark.visible and mark.protected
    assert mark.format == "pdf" and mark.work_id == work_id

    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.is_encrypted and not reader.decrypt("wrong")
    assert reader.decrypt(PASSWORD)
    assert reader.metadata["/Keywords"] == f"inkweave-export:{mark.id}"
    stamp = f"{mark.account} · {mark.created_at.date().isoformat()} · {mark.id[:12]}"
    assert all(stamp in page.extract_text() for page in reader.pages)
    permissions = reader.user_access_permissions
    assert permissions is not None
    assert permissions & pypdf.constants.UserAccessPermissions.PRINT
    assert not permissions & pypdf.constants.UserAccessPermissions.EXTRACT

    # The password was never stored: not in the task row, nor anywhere else, nor in a log line.
    assert PASSWORD not in await every_stored_value(api)
    assert PASSWORD not in caplog.text
    passwords = api.app.services.exports.passwords
    assert passwords is not None and len(passwords) == 0  # dropped once the file was stored


@SQLITE_ONLY
async def test_a_protected_word_export_is_an_aes_zip(api: Api) -> None:
    owner = await api.sign_up()
    work_id = await novel(api, owner)
    task_id = await export(api, owner, work_id, "word", protection={"password": PASSWORD})
    view = await finished_export(api, owner, task_id)
    assert view["filename"] == "长夜将尽.docx.zip" and view["watermark"] is False
    response = await download(view)
    assert response.headers["content-type"] == "application/zip"
    archive = pyzipper.AESZipFile(io.BytesIO(response.content))
    archive.setpassword(PASSWORD.encode())
    document = docx.Document(io.BytesIO(archive.read("长夜将尽.docx")))
    async with api.app.adapters.database.session() as session:
        mark = await session.scalar(select(ExportMark).where(ExportMark.task_id == task_id))
    assert mark is not None and document.core_properties.identifier == mark.id
    assert not mark.visible
    footers = [p.text for section in document.sections for p in section.footer.paragraphs]
    assert not any(mark.id[:12] in line for line in footers)


@SQLITE_ONLY
async def test_a_member_level_can_require_the_visible_watermark(settings: Settings) -> None:
    forced = settings.model_copy(update={"export_watermark_levels": ["free"]})
    async with running_api(forced) as api:
        owner = await api.sign_up("宝玉")
        work_id = await novel(api, owner)
        view = await finished_export(api, owner, await export(api, owner, work_id, "word"))
        assert view["watermark"] is True
        document = docx.Document(io.BytesIO((await download(view)).content))
    footers = [p.text for section in document.sections for p in section.footer.paragraphs]
    assert any(line.startswith("宝玉 #") for line in footers)


@SQLITE_ONLY
async def test_a_password_is_refused_where_another_process_runs_the_jobs(
    settings: Settings,
) -> None:
    elsewhere = settings.model_copy(update={"jobs_in_process": False})
    async with running_api(elsewhere) as api:
        owner = await api.sign_up()
        work = await api.call("POST", "/api/v1/works", owner, json={"title": "夜", "type": "novel"})
        body = {
            "work_id": work.json()["data"]["work_id"],
            "format": "pdf",
            "protection": {"password": PASSWORD},
        }
        response = await api.call(
            "POST", "/api/v1/export", owner, json=body, headers={"Accept-Language": "en"}
        )
    answer = refused(response, 400, 40023)
    assert "not available" in answer["message"]
