"""However an AI task ends, what it wrote stays reviewable (DESIGN, "AI agents are peers").

A model behind the real SDK (the local fake model server) streams three pieces, fifteen
characters, into a chapter and then fails, stalls or is cut off: the model errors, the writer
cancels, the AI peer's socket drops, the server is stopped or killed and started again. A
y-websocket client reads the chapter; accept and reject go through REST.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ai_agents import marks
from jobs.tasks import TaskStore
from storage.sql.database import Database
from tests.ai_agents.test_ai_api import (
    OPENING,
    ai_marked,
    chapter_with,
    content_becomes,
    continue_,
    finished,
    make_settings,
)
from tests.api.test_works import ok, refused
from tests.support.api import Account, Api, RestClient, running_api
from tests.support.cluster import NodeApi
from tests.support.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.support.server import ServerProcess
from tests.support.waiting import eventually
from tests.support.yclient import YClient

PIECES = ["陈默推门进", "来，肩上全", "是雨水。她"]
WRITTEN = "".join(PIECES)  # what the task has written when the model stops
NEVER_SENT = ["抬头看了他", "一眼，没有", "说话。"]
TASK_RUNNING = 40906


def model_stops_after_three_pieces(**how: Any) -> Reply:
    """The model's answer; `how` says what happens after the third piece."""
    return Reply(chunks=[*PIECES, *NEVER_SENT], **how)


STALLS = {"stall_after": len(PIECES), "stall_s": 120.0}


def model_settings(llm: FakeLLM) -> dict[str, Any]:
    """The app's one model is `llm`, whose stalls no timeout cuts short."""
    return {
        "ai_providers": [llm.provider_config("qwen")],
        "ai_retries": 0,
        "ai_idle_timeout_s": 300,
        "ai_call_timeout_s": 600,
    }


@asynccontextmanager
async def app_and_model(
    tmp_path: Path, database_url: str | None, *replies: Reply, **settings: Any
) -> AsyncIterator[Api]:
    """The app on `database_url` (None: SQLite), its model answering `replies`."""
    async with running_fake_llm() as llm:
        llm.script(*replies)
        values = {**model_settings(llm), **settings}
        async with running_api(make_settings(tmp_path, database_url, **values)) as api:
            yield api


def ai_client_ids(client: YClient) -> list[int]:
    """The Yjs client ids of the AI peers in `client`'s awareness."""
    return [
        client_id
        for client_id, state in client.awareness.items()
        if state.get("user", {}).get("kind") == "ai"
    ]


async def task_view(api: RestClient, account: Account, task_id: str) -> dict[str, Any]:
    return ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", account))


async def review(api: RestClient, account: Account, task_id: str, decision: str) -> Any:
    return await api.call("POST", f"/api/v1/ai/tasks/{task_id}/{decision}", account)


async def wait_for_the_pieces(reader: YClient, task_id: str) -> None:
    await eventually(
        lambda: str(reader.text) == OPENING + WRITTEN and ai_marked(reader, task_id) == WRITTEN,
        what="the model's three pieces in the chapter, marked as the task's",
    )


def assert_recorded(task: dict[str, Any], doc: str, reader: YClient) -> None:
    """The task's result names the chapter's document and the peer whose text it is."""
    result = task["result"]
    assert result["doc"] == doc, task
    assert result["review"] == "pending", task
    authored = marks.task_ranges(reader.text, task["task_id"], authors=[result["client_id"]])
    assert authored == [(len(OPENING), len(OPENING) + len(WRITTEN))], (task, authored)


async def review_and_check(
    api: RestClient, owner: Account, task: dict[str, Any], reader: YClient, decision: str
) -> None:
    """Accept keeps the task's text and drops its marking; reject removes exactly its text,
    not what the writer typed right after it."""
    task_id = task["task_id"]
    reader.append("（作者补记）")
    await content_becomes(api, owner, task["chapter_id"], OPENING + WRITTEN + "（作者补记）")
    reviewed = ok(await review(api, owner, task_id, decision))
    assert reviewed["result"]["review"] == f"{decision}ed"
    if decision == "reject":
        assert reviewed["result"]["reviewed_chars"] == len(WRITTEN)
    expected = OPENING + (WRITTEN if decision == "accept" else "") + "（作者补记）"
    await eventually(
        lambda: str(reader.text) == expected and ai_marked(reader, task_id) == "",
        what=f"the task's text {decision}ed",
    )
    refused(await review(api, owner, task_id, "reject"), 409)


@dataclass
class Continuing:
    """An AI continuation under way in a chapter that `reader` (the owner's socket) watches."""

    api: Api
    owner: Account
    chapter: dict[str, Any]
    reader: YClient
    task_id: str


@asynccontextmanager
async def continuing(tmp_path: Path, database_url: str, reply: Reply) -> AsyncIterator[Continuing]:
    async with app_and_model(tmp_path, database_url, reply) as api:
        owner = await api.sign_up()
        work_id, chapter = await chapter_with(api, owner)
        reader = await YClient(api.app.sync_url, chapter["content_id"], token=owner.token).connect()
        try:
            task_id = await continue_(api, owner, work_id, chapter["id"])
            yield Continuing(api, owner, chapter, reader, task_id)
        finally:
            await reader.close()


@pytest.mark.parametrize("decision", ["accept", "reject"])
async def test_a_model_failing_mid_stream_leaves_a_failed_task_whose_text_can_be_reviewed(
    tmp_path: Path, database_url: str, decision: str
) -> None:
    reply = model_stops_after_three_pieces(error_after=len(PIECES))
    async with continuing(tmp_path, database_url, reply) as c:
        task = await finished(c.api, c.owner, c.task_id)
        assert task["status"] == "failed" and "failed mid-stream" in task["error"], task
        await wait_for_the_pieces(c.reader, c.task_id)
        assert_recorded(task, c.chapter["content_id"], c.reader)
        assert task["result"]["text"] == WRITTEN and "writing" not in task["result"]
        await review_and_check(c.api, c.owner, task, c.reader, decision)


async def test_a_model_failing_before_its_first_piece_says_its_task_wrote_nothing(
    tmp_path: Path,
) -> None:
    refusals = [Reply(status=500)] * 3
    async with app_and_model(tmp_path, None, *refusals, ai_offline_fallback=False) as api:
        owner = await api.sign_up()
        work_id, chapter = await chapter_with(api, owner)
        task_id = await continue_(api, owner, work_id, chapter["id"])
        task = await finished(api, owner, task_id)
        assert task["status"] == "failed" and task["result"] is None, task
        for decision in ("accept", "reject"):
            body = refused(await review(api, owner, task_id, decision), 409)
            assert "wrote nothing" in body["error"], body


async def test_a_task_names_its_document_and_peer_from_its_first_piece_and_a_cancel_keeps_them(
    tmp_path: Path, database_url: str
) -> None:
    async with continuing(tmp_path, database_url, model_stops_after_three_pieces(**STALLS)) as c:
        api, owner, task_id, reader = c.api, c.owner, c.task_id, c.reader
        await wait_for_the_pieces(reader, task_id)
        (peer_id,) = ai_client_ids(reader)

        async def recorded_while_writing() -> dict[str, Any] | None:
            task = await task_view(api, owner, task_id)
            result = task["result"] or {}
            return task if result.get("text") == WRITTEN else None

        task = await eventually(recorded_while_writing, what="the text so far in the task")
        assert task["status"] == "processing"
        assert task["result"]["writing"] is True and task["result"]["client_id"] == peer_id
        assert_recorded(task, c.chapter["content_id"], reader)
        refused(await review(api, owner, task_id, "reject"), 409, TASK_RUNNING)

        ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/cancel", owner))
        task = await finished(api, owner, task_id)
        assert task["status"] == "cancelled" and task["result"]["text"] == WRITTEN, task
        assert_recorded(task, c.chapter["content_id"], reader)
        await review_and_check(api, owner, task, reader, "reject")


async def test_the_ai_peer_losing_its_socket_mid_stream_fails_the_task_and_its_text_stays(
    tmp_path: Path, database_url: str
) -> None:
    async with continuing(tmp_path, database_url, model_stops_after_three_pieces(**STALLS)) as c:
        await wait_for_the_pieces(c.reader, c.task_id)
        (peer_id,) = ai_client_ids(c.reader)
        room = c.api.app.adapters.rooms.rooms[c.chapter["content_id"]]
        (socket,) = [conn for conn in room.connections if peer_id in conn.client_ids]
        socket.close(1011, "the network went away")  # the model keeps the task waiting

        task = await finished(c.api, c.owner, c.task_id)
        assert task["status"] == "failed" and "network went away" in task["error"], task
        assert task["result"]["client_id"] == peer_id and "writing" not in task["result"]
        assert_recorded(task, c.chapter["content_id"], c.reader)
        await review_and_check(c.api, c.owner, task, c.reader, "reject")


async def reviewable_after_the_restart(
    api: RestClient, owner: Account, task_id: str, sync_url: str, llm: FakeLLM
) -> dict[str, Any]:
    """The restarted server's job recovery has ended the task, without running it again, and
    its text is there to review."""
    task = await eventually(
        lambda: ended(api, owner, task_id), what="the task ended after the restart"
    )
    assert task["status"] == "failed" and task["error"], task
    assert len(llm.requests) == 1, "the task ran again"
    reader = await YClient(sync_url, task["result"]["doc"], token=owner.token).connect()
    try:
        await wait_for_the_pieces(reader, task_id)
        assert_recorded(task, task["result"]["doc"], reader)
        await review_and_check(api, owner, task, reader, "reject")
    finally:
        await reader.close()
    return task


async def ended(api: RestClient, owner: Account, task_id: str) -> dict[str, Any] | None:
    task = await task_view(api, owner, task_id)
    return task if task["status"] in ("completed", "failed", "cancelled") else None


async def start_writing(api: RestClient, owner: Account, sync_url: str) -> str:
    """A continuation that has written its three pieces and waits on the model."""
    work_id, chapter = await chapter_with(api, owner)
    reader = await YClient(sync_url, chapter["content_id"], token=owner.token).connect()
    try:
        task_id = await continue_(api, owner, work_id, chapter["id"])
        await wait_for_the_pieces(reader, task_id)
    finally:
        await reader.close()
    return task_id


async def test_a_task_cut_short_by_stopping_the_server_is_not_run_again_and_its_text_stays(
    tmp_path: Path, database_url: str
) -> None:
    """Stopped mid-stream, the task is handed back (queued) or fails as its peer's socket
    closes; either way the server started again does not run it a second time."""
    async with running_fake_llm() as llm:
        llm.script(model_stops_after_three_pieces(**STALLS))
        settings = make_settings(tmp_path, database_url, **model_settings(llm))
        async with running_api(settings) as api:
            owner = await api.sign_up()
            task_id = await start_writing(api, owner, api.app.sync_url)
        async with running_api(settings) as api:  # the same databases, another port
            await reviewable_after_the_restart(api, owner, task_id, api.app.sync_url, llm)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_task_left_processing_by_a_killed_server_is_ended_at_the_restart_and_its_text_stays(
    tmp_path: Path, database_url: str
) -> None:
    """`kill -9` mid-stream leaves the task `processing`; the job system of the server started
    again recovers it: it fails with the reason rather than writing a second answer."""
    async with running_fake_llm() as llm:
        llm.script(model_stops_after_three_pieces(**STALLS))
        env = {
            "INKWEAVE_AUTH": "on",
            "INKWEAVE_SECRET_KEY": secrets.token_urlsafe(48),
            "INKWEAVE_DATABASE_URL": database_url,
            "INKWEAVE_AUTO_MIGRATE": "true",
            **{f"INKWEAVE_{k.upper()}": json.dumps(v) for k, v in model_settings(llm).items()},
        }
        server = ServerProcess(tmp_path / "data", env=env).start()
        api = NodeApi(server)
        try:
            owner = await api.sign_up()
            task_id = await start_writing(api, owner, server.sync_url)
            server.kill()
            assert await status_in_sql(database_url, task_id) == "processing"
            restarted = ServerProcess(server.data_dir, env=env)
            restarted.port = server.port
            server = restarted.start()
            task = await reviewable_after_the_restart(api, owner, task_id, server.sync_url, llm)
            assert "中断" in task["error"], task
        finally:
            await api.close()
            server.stop()


async def status_in_sql(database_url: str, task_id: str) -> str | None:
    """The task's status as the killed server left it."""
    database = Database(database_url)
    try:
        return await TaskStore(database).status(task_id)
    finally:
        await database.close()
