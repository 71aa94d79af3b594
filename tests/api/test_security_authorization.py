"""Authority is re-checked on every action (SECURITY.md): having asked for an AI task or an export
grants nothing once the member has been removed from the work or made a viewer.

Over HTTP on SQLite and MariaDB, with the offline AI provider and the in-process job runner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ai_agents.test_ai_api import (
    OPENING,
    chapter_with,
    content,
    content_becomes,
    continue_,
    finished,
    make_settings,
)
from tests.api.test_works import ok, refused, share
from tests.jobs.test_export_api import export, finished_export, novel
from tests.support.api import Account, Api, running_api


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path, database_url, rate_limit_user_per_min=100_000)
    async with running_api(settings) as client:
        yield client


def members_path(work_id: int, member: Account) -> str:
    return f"/api/v1/works/{work_id}/members/{member.id}"


async def coauthors_task(api: Api) -> tuple[Account, Account, int, dict[str, Any], dict[str, Any]]:
    """An owner, an editor, the work, its chapter, and a finished continuation the editor asked
    for, its text in the chapter and still pending review."""
    owner, editor = await api.sign_up(), await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    await share(api, owner, work_id, editor, "editor")
    task = await finished(api, editor, await continue_(api, editor, work_id, chapter["id"]))
    assert task["status"] == "completed" and task["result"]["review"] == "pending", task
    await content_becomes(api, owner, chapter["id"], OPENING + task["result"]["text"])
    return owner, editor, work_id, chapter, task


def task_paths(task_id: str) -> dict[str, str]:
    base = f"/api/v1/ai/tasks/{task_id}"
    return {action: f"{base}/{action}" for action in ("cancel", "accept", "reject")}


async def test_a_removed_member_loses_their_own_ai_task(api: Api) -> None:
    owner, editor, work_id, chapter, task = await coauthors_task(api)
    task_id, written = task["task_id"], OPENING + task["result"]["text"]
    ok(await api.call("DELETE", members_path(work_id, editor), owner))

    refused(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", editor), 404)
    for path in task_paths(task_id).values():
        refused(await api.call("POST", path, editor), 404)
    assert ok(await api.call("GET", "/api/v1/ai/tasks", editor)) == []
    assert await content(api, owner, chapter["id"]) == written  # nothing was deleted

    # The work's current members still see the task and decide on its text.
    assert ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", owner))["task_id"] == task_id
    rejected = ok(await api.call("POST", task_paths(task_id)["reject"], owner))
    assert rejected["result"]["review"] == "rejected"
    await content_becomes(api, owner, chapter["id"], OPENING)


async def test_a_member_made_viewer_reads_but_cannot_act_on_their_own_ai_task(api: Api) -> None:
    owner, editor, work_id, chapter, task = await coauthors_task(api)
    task_id, written = task["task_id"], OPENING + task["result"]["text"]
    member = members_path(work_id, editor)
    ok(await api.call("PATCH", member, owner, json={"role": "viewer"}))

    assert ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", editor))["task_id"] == task_id
    assert [t["task_id"] for t in ok(await api.call("GET", "/api/v1/ai/tasks", editor))] == [
        task_id
    ]
    for path in task_paths(task_id).values():
        refused(await api.call("POST", path, editor), 403, 40301)
    assert await content(api, owner, chapter["id"]) == written
    viewed = ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", editor))
    assert viewed["result"]["review"] == "pending"

    # An editor again: the same request goes through.
    ok(await api.call("PATCH", member, owner, json={"role": "editor"}))
    accepted = ok(await api.call("POST", task_paths(task_id)["accept"], editor))
    assert accepted["result"]["review"] == "accepted"
    assert await content(api, owner, chapter["id"]) == written


async def test_export_links_end_with_membership(api: Api) -> None:
    owner, viewer = await api.sign_up(), await api.sign_up()
    work_id = await novel(api, owner)
    await share(api, owner, work_id, viewer, "viewer")
    theirs = await finished_export(api, viewer, await export(api, viewer, work_id, "txt"))
    mine = await finished_export(api, owner, await export(api, owner, work_id, "txt"))
    async with httpx.AsyncClient() as http:
        assert (await http.get(theirs["download_url"])).status_code == 200  # while a member
        ok(await api.call("DELETE", members_path(work_id, viewer), owner))

        # The link minted before the removal is refused at once, not when it expires...
        refused(await http.get(theirs["download_url"]), 403, 40301)
        # ...and no fresh one is handed out.
        task_path = f"/api/v1/export/tasks/{theirs['task_id']}"
        refused(await api.call("GET", task_path, viewer), 404)
        # The owner's export is untouched.
        again = ok(await api.call("GET", f"/api/v1/export/tasks/{mine['task_id']}", owner))
        for url in (mine["download_url"], again["download_url"]):
            download = await http.get(url)
            assert download.status_code == 200 and "第一章 风起" in download.text

        # A member again (even a viewer may export): their links work again.
        await share(api, owner, work_id, viewer, "viewer")
        assert (await http.get(theirs["download_url"])).status_code == 200
        fresh = ok(await api.call("GET", task_path, viewer))
        assert (await http.get(fresh["download_url"])).status_code == 200
