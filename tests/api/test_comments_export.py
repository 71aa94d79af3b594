"""Exports leave comments out by default and add them as an appendix when asked."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_works import make_chapter, make_work, ok, save
from tests.jobs.test_export_api import export, finished_export
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _download(api: Api, view: dict[str, object]) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(str(view["download_url"]))).content.decode("utf-8")


async def test_a_txt_export_has_the_comments_only_when_asked(api: Api) -> None:
    owner = await api.sign_up()
    work_id = (await make_work(api, owner, title="长夜将尽"))["work_id"]
    chapter = await make_chapter(api, owner, work_id, "第一章 风起")
    ok(await save(api, owner, work_id, chapter["id"], "他推开门，夜色很深。"))
    path = f"/api/v1/chapters/{chapter['id']}/comments"
    made = ok(await api.call("POST", path, owner, json={"body": "太短", "from": 0, "to": 4}), 201)
    reply = {"body": "再加一句"}
    ok(await api.call("POST", f"{path}/{made['id']}/replies", owner, json=reply), 201)

    plain = await _download(
        api, await finished_export(api, owner, await export(api, owner, work_id, "txt"))
    )
    assert "太短" not in plain and "批注" not in plain
    asked = await export(api, owner, work_id, "txt", options={"include_comments": True})
    text = await _download(api, await finished_export(api, owner, asked))
    appendix = text[text.index("批注") :]
    assert "【第一章 风起】" in appendix and "「他推开门」" in appendix
    assert f"{owner.username}：太短" in appendix and f"{owner.username}：再加一句" in appendix
