"""The CLI rebuilds the derived text from the document store (DESIGN invariant 3)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import update

from api.settings import Settings
from storage.sql.database import Database
from storage.sql.models import Chapter
from tests.support.api import Account, Api
from tests.support.inprocess import running_app
from tests.support.waiting import eventually
from tests.support.yclient import YClient


async def content_is(api: Api, account: Account, chapter_id: int, text: str) -> bool:
    answer = await api.call("GET", f"/api/v1/chapters/{chapter_id}/content", account)
    return answer.json()["data"]["content"] == text


async def test_reproject_rebuilds_a_tampered_projection(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_app(Settings(data_dir=data, projection_debounce_s=0.05)) as app:
        api = Api(app)
        owner = await api.sign_up()
        work = (
            await api.call("POST", "/api/v1/works", owner, json={"title": "书", "type": "novel"})
        ).json()["data"]
        work_id = work.get("work_id") or work["id"]
        chapter = (
            await api.call("POST", f"/api/v1/works/{work_id}/chapters", owner, json={"title": "一"})
        ).json()["data"]
        client = await YClient(app.sync_url, chapter["content_id"], token=owner.token).connect()
        client.append("风雨如晦，鸡鸣不已。")
        # Applied means stored (write-ahead); REST reads the live document.
        await eventually(
            lambda: content_is(api, owner, chapter["id"], "风雨如晦，鸡鸣不已。"),
            what="the edit applied",
        )
        await client.close()
        await api.close()
    # Tamper with the projection while the server is down.
    database = Database(Settings(data_dir=data).resolved_database_url())
    async with database.session() as session:
        await session.execute(update(Chapter).values(text="被改坏了", word_count=0))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api",
        "reproject",
        "--data-dir",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert "rebuilt 1 chapters" in stdout.decode()
    async with database.session() as session:
        chapter_row = await session.get(Chapter, chapter["id"])
        assert chapter_row is not None
        assert chapter_row.text == "风雨如晦，鸡鸣不已。"
        assert chapter_row.word_count == 10
    await database.close()


async def test_set_level_makes_the_first_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_app(Settings(data_dir=data)) as app:
        api = Api(app)
        owner = await api.sign_up()
        refused = await api.call("GET", "/api/v1/admin/users", owner)
        assert refused.status_code == 403, refused.text
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "api",
            "set-level",
            owner.email,
            "admin",
            "--data-dir",
            str(data),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        assert process.returncode == 0 and b"is now admin" in out
        listed = await api.call("GET", "/api/v1/admin/users", owner)
        assert listed.status_code == 200, listed.text
        missing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "api",
            "set-level",
            "nobody@example.com",
            "admin",
            "--data-dir",
            str(data),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await missing.communicate()
        assert missing.returncode != 0 and b"no account" in err
        await api.close()
