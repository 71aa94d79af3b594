"""Convert to script over REST: the result is a script work (or a chapter of one), never a
chapter of the novel it came from, and it reads back as a screenplay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage.text.fountain import parse as parse_fountain
from tests.ai_agents.test_ai_api import chapter_with, content_becomes, finished, make_settings
from tests.api.test_works import make_work, ok, refused
from tests.support.api import Account, Api, running_api

NOVEL = "\n".join(
    [
        "夜深了，林小雨还坐在窗前。",
        "“你还在等他吗？”母亲在身后问。",
        "“嗯。”",
        "“早点睡吧。”母亲叹了口气。\n",
    ]
)
CONVERT_TARGET_TYPE = 42202


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    async with running_api(make_settings(tmp_path, database_url)) as client:
        yield client


async def convert(api: Api, owner: Account, body: dict[str, Any]) -> dict[str, Any]:
    """The finished task of a novel→script conversion of `body`."""
    queued = ok(await api.call("POST", "/api/v1/ai/convert", owner, json=body))
    task = await finished(api, owner, queued["task_id"])
    assert task["status"] == "completed", task
    return task


async def chapter_ids(api: Api, owner: Account, work_id: int) -> list[int]:
    listed = ok(await api.call("GET", f"/api/v1/works/{work_id}/chapters", owner))
    return [chapter["id"] for chapter in listed["items"]]


async def test_convert_to_script_makes_a_script_work_and_never_a_novel_chapter(api: Api) -> None:
    owner = await api.sign_up()
    novel_id, chapter = await chapter_with(api, owner, NOVEL)
    body = {"work_id": novel_id, "chapter_id": chapter["id"], "from_type": "novel"}
    body["to_type"] = "script"

    task = await convert(api, owner, body)
    work = ok(await api.call("GET", f"/api/v1/works/{task['result']['work_id']}", owner))
    assert work["type"] == "script" and work["id"] != novel_id  # the editor shows it as Fountain
    assert await chapter_ids(api, owner, work["id"]) == [task["result"]["chapter_id"]]
    script = task["result"]["text"]
    await content_becomes(api, owner, task["result"]["chapter_id"], script)
    elements = [(e.kind, e.text) for e in parse_fountain(script).elements]
    assert elements[0][0] == "scene_heading"
    assert [text for kind, text in elements if kind == "character"] == ["母亲", "林小雨", "母亲"]
    assert ("dialogue", "你还在等他吗？") in elements

    # Into a novel, this one or another, it is refused: in the caller's language.
    other_novel = await make_work(api, owner, title="另一部小说")
    for target in ({}, {"target_work_id": other_novel["id"]}):
        answer = await api.call(
            "POST", "/api/v1/ai/convert", owner, json={**body, "target": "chapter", **target}
        )
        assert (
            refused(answer, 422, CONVERT_TARGET_TYPE)["message"]
            == "改编结果只能放进新作品或同类型作品（剧本不能放进小说）"
        )
    english = await api.call(
        "POST",
        "/api/v1/ai/convert",
        owner,
        json={**body, "target": "chapter"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    message = refused(english, 422, CONVERT_TARGET_TYPE)["message"]
    assert message.startswith("The result goes into a new work or a work of its own type")
    refused(
        await api.call(
            "POST", "/api/v1/ai/convert", owner, json={**body, "target_work_id": work["id"]}
        ),
        422,
    )

    # Into a script work the writer picks: a new chapter there.
    into_script = await convert(
        api, owner, {**body, "target": "chapter", "target_work_id": work["id"]}
    )
    assert into_script["result"]["work_id"] == work["id"]
    assert await chapter_ids(api, owner, work["id"]) == [
        task["result"]["chapter_id"],
        into_script["result"]["chapter_id"],
    ]
    assert await chapter_ids(api, owner, novel_id) == [chapter["id"]]
    assert await chapter_ids(api, owner, other_novel["id"]) == []
