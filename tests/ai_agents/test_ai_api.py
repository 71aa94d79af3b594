"""The AI endpoints end to end: a real app, real accounts, the AI as a peer in the live document.

The embedded default (offline provider, no keys) and model providers reached through the real
SDKs at a local server speaking their wire formats (`tests/support/fake_llm.py`). The REST
endpoints of AI tasks, story tools and moderation run on SQLite and on the local MariaDB; tests
of provider behaviour behind them run on SQLite only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from ai_agents.agents.summaries import refresh_summaries
from api.settings import Settings
from storage.text.fountain import parse as parse_fountain
from tests.api.test_works import make_chapter, make_work, ok, refused, save, share
from tests.support.api import Account, Api, running_api
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.yclient import YClient

OPENING = "雨下到第三天，林小雨终于把店门口的木牌翻到了“休息”。她刚要关灯，门上的风铃响了。\n"


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """SQLite under `tmp_path` unless `database_url` names another database."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url or f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}",
        "auto_migrate": True,
        "room_unload_grace_s": 0.5,
        "projection_debounce_s": 0.05,
        "membership_recheck_s": 0.3,
        "ai_offline_delay_ms": 0,
        "ai_backoff_s": 0.01,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """The app on SQLite and on MariaDB."""
    async with running_api(make_settings(tmp_path, database_url)) as client:
        yield client


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(make_settings(tmp_path)) as client:
        yield client


async def chapter_with(api: Api, owner: Account, text: str = OPENING) -> tuple[int, dict[str, Any]]:
    work = await make_work(api, owner, genre="都市")
    chapter = await make_chapter(api, owner, work["id"], "第一章 雨夜")
    ok(await save(api, owner, work["id"], chapter["id"], text))
    return work["id"], chapter


async def finished(api: Api, account: Account, task_id: str) -> dict[str, Any]:
    """The task once its runner is done with it: completed or failed, or cancelled with all it
    wrote recorded (the runner records that when it has stopped writing: no more `writing`)."""

    async def done() -> dict[str, Any] | None:
        task = ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", account))
        if task["status"] in ("completed", "failed"):
            return task
        result = task["result"]
        if task["status"] == "cancelled" and result is not None and not result.get("writing"):
            return task
        return None

    return await eventually(done, what=f"task {task_id} to finish")


async def content(api: Api, account: Account, chapter_id: int) -> str:
    return ok(await api.call("GET", f"/api/v1/chapters/{chapter_id}/content", account))["content"]


async def content_becomes(api: Api, account: Account, chapter_id: int, expected: str) -> None:
    """Wait until the chapter reads `expected` over REST.

    A task is completed once its peer has sent its last piece and left; the server may still be
    storing that piece (write-ahead) before it applies it, so the text follows a moment later.
    """

    async def arrived() -> bool:
        return await content(api, account, chapter_id) == expected

    await eventually(arrived, what=f"chapter {chapter_id} to read {expected[-20:]!r}")


def ai_marked(client: YClient, task_id: str) -> str:
    return "".join(s for s, attrs in client.text.diff() if (attrs or {}).get("ai") == task_id)


def ai_peers(client: YClient) -> list[dict[str, Any]]:
    """The AI entries in `client`'s awareness."""
    return [s for s in client.awareness.values() if s.get("user", {}).get("kind") == "ai"]


async def continue_(api: Api, account: Account, work_id: int, chapter_id: int, **body: Any) -> str:
    payload = {"work_id": work_id, "chapter_id": chapter_id, "length": 120, **body}
    return ok(await api.call("POST", "/api/v1/ai/continue", account, json=payload))["task_id"]


async def test_offline_continuation_types_into_the_chapter_next_to_a_coauthor(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, ai_offline_delay_ms=15)
    async with running_api(settings) as api:
        await offline_continuation_next_to_a_coauthor(api)


async def offline_continuation_next_to_a_coauthor(api: Api) -> None:
    owner, coauthor = await api.sign_up(), await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    await share(api, owner, work_id, coauthor, "editor")
    watcher = await YClient(api.app.sync_url, chapter["content_id"], token=coauthor.token).connect()
    seen_ai: list[dict[str, Any]] = []
    try:
        task_id = await continue_(api, owner, work_id, chapter["id"], length=150)

        def ai_present() -> bool:
            entries = ai_peers(watcher)
            seen_ai.extend(entries)
            return bool(entries)

        await eventually(ai_present, what="the AI in the co-author's awareness")
        task = await finished(api, owner, task_id)
        assert task["status"] == "completed", task
        assert task["provider"] == "offline" and task["result"]["review"] == "pending"
        written = task["result"]["text"]
        assert 100 <= len(written) <= 200
        await eventually(lambda: str(watcher.text) == OPENING + written, what="the AI's text")
        assert ai_marked(watcher, task_id) == written
        assert seen_ai[0]["user"]["task_id"] == task_id
        assert seen_ai[0]["user"]["name"] == "AI · 续写"
        await eventually(lambda: not ai_peers(watcher), what="the AI to leave the room")
    finally:
        await watcher.close()
    assert await content(api, owner, chapter["id"]) == OPENING + written
    histories = ok(await api.call("GET", "/api/v1/ai/histories", owner))
    calls = [c for c in histories["items"] if c["task_id"] == task_id]
    assert [(c["action_type"], c["provider"], c["status"]) for c in calls] == [
        ("continue", "offline", "ok")
    ]


async def test_continuation_at_a_position_lands_there(api: Api) -> None:
    owner = await api.sign_up()
    text = "第一句。第二句。"
    work_id, chapter = await chapter_with(api, owner, text)
    task = await finished(
        api, owner, await continue_(api, owner, work_id, chapter["id"], position=4)
    )
    written = task["result"]["text"]
    await content_becomes(api, owner, chapter["id"], "第一句。" + written + "第二句。")


async def test_a_model_streams_through_the_sdk_and_its_usage_is_recorded(tmp_path: Path) -> None:
    async with running_fake_llm() as llm:
        llm.script(Reply(text="陈默推门进来，肩上全是雨水。", chunk_chars=3, usage=(321, 17)))
        settings = make_settings(tmp_path, ai_providers=[llm.provider_config("qwen")])
        async with running_api(settings) as api:
            owner = await api.sign_up()
            work_id, chapter = await chapter_with(api, owner)
            task = await finished(api, owner, await continue_(api, owner, work_id, chapter["id"]))
            assert task["status"] == "completed", task
            assert (task["provider"], task["model"]) == ("qwen", "fake-model")
            assert (task["demo"], task["hint"]) == (False, None)  # a model wrote it
            await content_becomes(
                api, owner, chapter["id"], OPENING + "陈默推门进来，肩上全是雨水。"
            )
            calls = ok(await api.call("GET", "/api/v1/ai/histories", owner))["items"]
            assert [(c["provider"], c["tokens"]) for c in calls] == [("qwen", 338)]
    (request,) = llm.requests
    assert "续写" in request.system
    assert "林小雨终于把店门口的木牌" in request.messages[-1]["content"]


async def test_failover_to_the_second_provider_is_recorded(tmp_path: Path) -> None:
    async with running_fake_llm() as first, running_fake_llm() as second:
        first.script(Reply(status=500), Reply(status=500), Reply(status=500))
        second.script(Reply(text="风铃又响了一声。"))
        settings = make_settings(
            tmp_path,
            ai_providers=[first.provider_config("first"), second.provider_config("second")],
            ai_retries=1,
        )
        async with running_api(settings) as api:
            owner = await api.sign_up()
            work_id, chapter = await chapter_with(api, owner)
            task = await finished(api, owner, await continue_(api, owner, work_id, chapter["id"]))
            assert task["provider"] == "second"
            calls = ok(await api.call("GET", "/api/v1/ai/histories", owner))["items"]
            outcomes = sorted((c["provider"], c["status"]) for c in calls)
            assert ("first", "error") in outcomes and ("second", "ok") in outcomes


async def test_every_task_works_offline_when_no_provider_is_reachable(tmp_path: Path) -> None:
    dead = {"name": "dead", "base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "m"}
    settings = make_settings(tmp_path, ai_providers=[dead], ai_retries=0)
    async with running_api(settings) as api:
        owner = await api.sign_up()
        work_id, chapter = await chapter_with(api, owner, OPENING + "“还有热的吗？”陈默低声问。\n")
        requests: list[tuple[str, dict[str, Any]]] = [
            ("/api/v1/ai/continue", {"chapter_id": chapter["id"], "length": 60}),
            (
                "/api/v1/ai/convert",
                {"chapter_id": chapter["id"], "from_type": "novel", "to_type": "script"},
            ),
            ("/api/v1/ai/outline", {"prompt": "林小雨的咖啡馆里来了一位记者", "chapters": 3}),
            ("/api/v1/ai/review", {}),
        ]
        for path, body in requests:
            queued = ok(await api.call("POST", path, owner, json={"work_id": work_id, **body}))
            task = await finished(api, owner, queued["task_id"])
            assert task["status"] == "completed", (path, task)
            assert task["provider"] == "offline", (path, task)
        polished = ok(
            await api.call(
                "POST",
                "/api/v1/ai/polish",
                owner,
                json={
                    "work_id": work_id,
                    "content": '他很快的跑了过去,说:"走吧!!!"',
                    "style": "formal",
                },
            )
        )
        assert polished["provider"] == "offline"
        assert "，" in polished["polished_content"] and polished["suggestions"]


async def test_cancel_stops_the_stream_keeps_its_text_and_reject_removes_only_the_ai_text(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, ai_offline_delay_ms=40)
    async with running_api(settings) as api:
        owner = await api.sign_up()
        work_id, chapter = await chapter_with(api, owner)
        human = await YClient(api.app.sync_url, chapter["content_id"], token=owner.token).connect()
        try:
            task_id = await continue_(api, owner, work_id, chapter["id"], length=1000)
            await eventually(lambda: len(ai_marked(human, task_id)) >= 12, what="the AI typing")
            cancelled = ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/cancel", owner))
            assert cancelled["status"] == "cancelled"
            task = await finished(api, owner, task_id)  # the runner stopped and kept its text
            kept = task["result"]["text"]
            assert 12 <= len(kept) < 1000
            await eventually(lambda: not ai_peers(human), what="the AI to leave the room")
            # What the task recorded is all it wrote: the document holds exactly that.
            await eventually(lambda: str(human.text) == OPENING + kept, what="the kept text")
            await content_becomes(api, owner, chapter["id"], OPENING + kept)
            assert ai_marked(human, task_id) == kept
            # A human types inside the AI's text and after it: reject must keep both.
            human.insert(len(OPENING) + 4, "【人】")
            human.append("（作者补记）")
            typed = str(human.text)

            await content_becomes(api, owner, chapter["id"], typed)
            ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/reject", owner))
            await eventually(
                lambda: str(human.text) == OPENING + "【人】（作者补记）", what="the rejection"
            )
            again = await api.call("POST", f"/api/v1/ai/tasks/{task_id}/accept", owner)
            refused(again, 409)
        finally:
            await human.close()


async def test_accept_keeps_the_text_and_drops_the_marking(api: Api) -> None:
    owner = await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    task = await finished(api, owner, await continue_(api, owner, work_id, chapter["id"]))
    client = await YClient(api.app.sync_url, chapter["content_id"], token=owner.token).connect()
    try:
        written = task["result"]["text"]
        await eventually(lambda: ai_marked(client, task["task_id"]) == written, what="the text")
        accepted = ok(await api.call("POST", f"/api/v1/ai/tasks/{task['task_id']}/accept", owner))
        assert accepted["result"]["review"] == "accepted"
        await eventually(lambda: ai_marked(client, task["task_id"]) == "", what="the unmarking")
        assert str(client.text) == OPENING + task["result"]["text"]
    finally:
        await client.close()


# Quotas count per minute and per day of the UTC wall clock, which this test holds still (and
# then moves on by a minute), so the calls never straddle a minute however slow the machine is.
QUOTA_MOMENT = datetime(2031, 3, 4, 12, 0, 1, tzinfo=UTC)


async def test_viewers_and_strangers_cannot_ask_and_limits_are_enforced(
    tmp_path: Path, database_url: str
) -> None:
    quotas = {"free": {"ai_per_minute": 3, "ai_per_day": 5, "ai_continue_max_chars": 300}}
    settings = make_settings(tmp_path, database_url, quotas=quotas)
    with time_machine.travel(QUOTA_MOMENT, tick=False) as wall_clock:
        async with running_api(settings) as api:
            await viewers_strangers_and_limits(api, wall_clock)


async def viewers_strangers_and_limits(api: Api, wall_clock: time_machine.Traveller) -> None:
    owner, viewer, stranger = await api.sign_up(), await api.sign_up(), await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    await share(api, owner, work_id, viewer, "viewer")
    body = {"work_id": work_id, "chapter_id": chapter["id"], "length": 50}
    refused(await api.call("POST", "/api/v1/ai/continue", viewer, json=body), 403)
    refused(await api.call("POST", "/api/v1/ai/continue", stranger, json=body), 404)
    refused(await api.call("POST", "/api/v1/ai/continue", owner, json={**body, "length": 301}), 422)
    for _ in range(3):
        ok(await api.call("POST", "/api/v1/ai/continue", owner, json=body))
    limited = await api.call("POST", "/api/v1/ai/continue", owner, json=body)
    refused(limited, 429, 42903)
    assert int(limited.headers["retry-after"]) == 59  # to the next minute
    wall_clock.shift(60)  # the next minute: its own count, but the daily quota (5) still counts
    for _ in range(2):
        ok(await api.call("POST", "/api/v1/ai/continue", owner, json=body))
    refused(await api.call("POST", "/api/v1/ai/continue", owner, json=body), 403, 40303)
    tasks = ok(await api.call("GET", "/api/v1/ai/tasks", owner))
    stranger_task = tasks[0]["task_id"]
    refused(await api.call("GET", f"/api/v1/ai/tasks/{stranger_task}", stranger), 404)
    assert ok(await api.call("GET", f"/api/v1/ai/tasks/{stranger_task}", viewer))
    # The five tasks end before the server does: a task cut off by the shutdown is not what
    # this test is about (tests/ai_agents/test_ai_text_never_stranded.py is).
    for task in tasks:
        await finished(api, owner, task["task_id"])


async def test_polish_apply_rewrites_the_selection_as_ai_text(api: Api) -> None:
    owner = await api.sign_up()
    text = '开头。他很快的跑了过去,说:"走吧!!!"结尾。'
    work_id, chapter = await chapter_with(api, owner, text)
    selection = '他很快的跑了过去,说:"走吧!!!"'
    start = text.index(selection)
    body = {
        "work_id": work_id,
        "content": selection,
        "style": "formal",
        "apply": True,
        "chapter_id": chapter["id"],
        "start": start,
        "end": start + len(selection),
    }
    polished = ok(await api.call("POST", "/api/v1/ai/polish", owner, json=body))
    task = await finished(api, owner, polished["task_id"])
    assert task["status"] == "completed", task
    await content_becomes(
        api, owner, chapter["id"], "开头。" + polished["polished_content"] + "结尾。"
    )
    ok(await api.call("POST", f"/api/v1/ai/tasks/{task['task_id']}/reject", owner))
    # Reject removes the AI's text and gives the writer's own words back.
    assert await content(api, owner, chapter["id"]) == text


async def test_offline_text_is_labelled_demo_with_a_hint_on_connecting_a_model(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    owner = await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    task_id = await continue_(api, owner, work_id, chapter["id"])
    task = await finished(api, owner, task_id)
    assert (task["provider"], task["demo"]) == ("offline", True)
    assert "演示文字" in task["hint"]
    for setting in ("INKWEAVE_OPENAI_BASE_URL", "Ollama", "INKWEAVE_ANTHROPIC_API_KEY"):
        assert setting in task["hint"]
    english = {"Accept-Language": "en"}
    listed = ok(await api.call("GET", "/api/v1/ai/tasks", owner, headers=english))
    assert listed[0]["demo"] is True and "demo text" in listed[0]["hint"]
    accepted = ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/accept", owner))
    assert accepted["demo"] is True and accepted["hint"] == task["hint"]

    body = {"work_id": work_id, "content": "他很快的跑了过去。", "style": "casual"}
    polished = ok(await api.call("POST", "/api/v1/ai/polish", owner, json=body, headers=english))
    assert (polished["demo"], polished["changed"]) == (True, True)
    assert "INKWEAVE_OPENAI_BASE_URL" in polished["hint"]
    assert polished["suggestions"] == ["「很快的跑」→「很快地跑」：修饰动词用“地”"]


async def test_a_polish_with_nothing_to_correct_applies_no_edit(sqlite_api: Api) -> None:
    api = sqlite_api
    owner = await api.sign_up()
    text = "开头。林小雨推开门，风铃响了。\n结尾。"
    work_id, chapter = await chapter_with(api, owner, text)
    selection = "林小雨推开门，风铃响了。\n"
    start = text.index(selection)
    body = {
        "work_id": work_id,
        "content": selection,
        "style": "casual",
        "apply": True,
        "chapter_id": chapter["id"],
        "start": start,
        "end": start + len(selection),
    }
    polished = ok(await api.call("POST", "/api/v1/ai/polish", owner, json=body))
    assert polished["changed"] is False
    assert (polished["polished_content"], polished["suggestions"]) == (selection, [])
    assert (polished["task_id"], polished["status"]) == (None, None)
    assert ok(await api.call("GET", "/api/v1/ai/tasks", owner)) == []
    assert await content(api, owner, chapter["id"]) == text


async def test_convert_a_chapter_into_a_screenplay_chapter(api: Api) -> None:
    owner = await api.sign_up()
    novel = "雨夜，咖啡馆里只剩林小雨一个人。\n\n“还有热的吗？”陈默低声问。\n\n林小雨没有回答。\n"
    work_id, chapter = await chapter_with(api, owner, novel)
    body = {
        "work_id": work_id,
        "chapter_id": chapter["id"],
        "from_type": "novel",
        "to_type": "script",
    }
    task = await finished(
        api, owner, ok(await api.call("POST", "/api/v1/ai/convert", owner, json=body))["task_id"]
    )
    assert task["status"] == "completed", task
    script = task["result"]["text"]
    await content_becomes(api, owner, task["result"]["chapter_id"], script)
    kinds = {(e.kind, e.text) for e in parse_fountain(script).elements}
    assert ("character", "陈默") in kinds and ("dialogue", "还有热的吗？") in kinds
    assert await content(api, owner, chapter["id"]) == novel  # the source is untouched
    into_work = ok(
        await api.call("POST", "/api/v1/ai/convert", owner, json={**body, "target": "work"})
    )
    task = await finished(api, owner, into_work["task_id"])
    new_work = ok(await api.call("GET", f"/api/v1/works/{task['result']['work_id']}", owner))
    assert new_work["type"] == "script" and new_work["id"] != work_id


async def test_outline_apply_creates_the_chapters(api: Api) -> None:
    owner = await api.sign_up()
    work = await make_work(api, owner, genre="悬疑")
    body = {
        "work_id": work["id"],
        "prompt": "退休刑警周正在旧书里发现一张车票",
        "chapters": 4,
        "apply": True,
    }
    task = await finished(
        api, owner, ok(await api.call("POST", "/api/v1/ai/outline", owner, json=body))["task_id"]
    )
    assert task["status"] == "completed", task
    planned = task["result"]["chapters"]
    assert len(planned) == 4 and all(c["title"] and c["summary"] for c in planned)
    listed = ok(await api.call("GET", f"/api/v1/works/{work['id']}/chapters", owner))
    chapters = listed["items"]  # a page of the table of contents
    assert [c["title"] for c in chapters] == [c["title"] for c in planned]


async def test_review_finds_an_inconsistent_name(api: Api) -> None:
    owner = await api.sign_up()
    work_id, _first = await chapter_with(api, owner, "林小雨推开门。林小雨笑了。林小雨坐下。" * 5)
    second = await make_chapter(api, owner, work_id, "第二章")
    ok(await save(api, owner, work_id, second["id"], "林晓雨端起杯子。" + "她看着窗外。" * 5))
    body = {"work_id": work_id}
    task = await finished(
        api, owner, ok(await api.call("POST", "/api/v1/ai/review", owner, json=body))["task_id"]
    )
    findings = task["result"]["findings"]
    assert any("林晓雨" in f["message"] and f["chapter_id"] == second["id"] for f in findings), (
        findings
    )


async def test_review_findings_are_read_a_page_at_a_time_to_the_end(sqlite_api: Api) -> None:
    api = sqlite_api
    owner = await api.sign_up()
    said_again = "那封没有署名的信一直压在抽屉最底层，信纸已经发黄变脆了。"
    work_id, _chapter = await chapter_with(api, owner, "\n".join([said_again] * 7))
    body = {"work_id": work_id}
    task_id = ok(await api.call("POST", "/api/v1/ai/review", owner, json=body))["task_id"]
    result = (await finished(api, owner, task_id))["result"]
    assert len(result["findings"]) == result["found"] == 6 and not result["truncated"]
    assert result["counts"] == {"timeline": 0, "name": 0, "repetition": 6}

    path = f"/api/v1/ai/tasks/{task_id}/findings"
    pages = [ok(await api.call("GET", f"{path}?page={n}&page_size=4", owner)) for n in (1, 2, 3)]
    assert [len(page["items"]) for page in pages] == [4, 2, 0]
    assert all(page["total"] == 6 and page["counts"] == result["counts"] for page in pages)
    assert [item for page in pages for item in page["items"]] == result["findings"]
    assert pages[0]["items"][0]["severity"] == "low"
    none = ok(await api.call("GET", f"{path}?kind=timeline", owner))
    assert (none["total"], none["items"], none["found"]) == (0, [], 6)
    stranger = await api.sign_up()
    refused(await api.call("GET", path, stranger), 404)


async def test_snowflake_steps_are_saved_to_the_work(api: Api) -> None:
    owner = await api.sign_up()
    work = await make_work(api, owner, genre="奇幻")
    path = f"/api/v1/works/{work['id']}/snowflake"
    ok(
        await api.call(
            "PUT", f"{path}/premise", owner, json={"premise": "少女阿青在沙漠里寻找失落的水城"}
        )
    )
    refused(await api.call("POST", f"{path}/3", owner), 422)  # steps go in order
    first = ok(await api.call("POST", f"{path}/1", owner))
    second = ok(await api.call("POST", f"{path}/2", owner))
    assert first["content"] and second["content"]
    steps = ok(await api.call("GET", path, owner))
    assert len(steps) == 10
    assert [s["content"] for s in steps[:2]] == [first["content"], second["content"]]
    assert steps[2]["content"] is None


async def test_moderation_check_finds_and_masks_words(api: Api) -> None:
    owner = await api.sign_up()
    word = api.app.adapters.safety.words[0]
    text = f"前文{word}后文"
    result = ok(await api.call("POST", "/api/v1/moderation/check", owner, json={"text": text}))
    assert result["passed"] is False
    assert result["hits"] == [{"word": word, "start": 2, "end": 2 + len(word)}]
    assert result["masked"] == "前文" + "＊" * len(word) + "后文"
    clean = ok(
        await api.call("POST", "/api/v1/moderation/check", owner, json={"text": "春眠不觉晓"})
    )
    assert clean == {"passed": True, "hits": [], "masked": "春眠不觉晓"}


async def test_long_works_send_cached_summaries_of_earlier_chapters(tmp_path: Path) -> None:
    async with running_fake_llm() as llm:
        llm.default = Reply(text="概要：林小雨与陈默在雨夜重逢。")
        settings = make_settings(tmp_path, ai_providers=[llm.provider_config("m")])
        async with running_api(settings) as api:
            owner = await api.sign_up()
            work = await make_work(api, owner)
            ids = []
            for n in range(1, 5):
                chapter = await make_chapter(api, owner, work["id"], f"第{n}章")
                ok(await save(api, owner, work["id"], chapter["id"], f"第{n}章正文。" * 4500))
                ids.append(chapter)
            await api.app.app.state.adapters.projection.flush()  # summaries read the SQL projection
            last = ids[-1]

            async def ask() -> list[Any]:
                before = len(llm.requests)
                task_id = await continue_(api, owner, work["id"], last["id"])
                assert (await finished(api, owner, task_id))["status"] == "completed"
                return llm.requests[before:]

            first_calls = await ask()
            summaries = [r for r in first_calls if "前情提要" in r.system or "概括" in r.system]
            assert len(summaries) == 3  # one per earlier chapter
            prompt = first_calls[-1].messages[-1]["content"]
            assert prompt.count("概要：林小雨与陈默在雨夜重逢。") == 3
            assert len(prompt) < settings.ai_context_chars + 2000
            assert len(await ask()) == 1  # cached: only the continuation itself
            ok(await save(api, owner, work["id"], ids[0]["id"], "改写后的第一章。" * 3000))
            await api.app.app.state.adapters.projection.flush()
            assert len(await ask()) == 2  # the changed chapter is summarised again


async def test_the_periodic_job_refreshes_stale_summaries_of_long_works(sqlite_api: Api) -> None:
    api = sqlite_api
    owner = await api.sign_up()
    work = await make_work(api, owner)
    short = await make_work(api, owner, title="短篇")
    chapters = []
    for n in range(1, 4):
        chapter = await make_chapter(api, owner, work["id"], f"第{n}章")
        ok(await save(api, owner, work["id"], chapter["id"], f"林小雨第{n}次来到江边。" * 4000))
        chapters.append(chapter)
    little = await make_chapter(api, owner, short["id"])
    ok(await save(api, owner, short["id"], little["id"], "很短的一章。"))
    database = api.app.adapters.database
    projection = api.app.adapters.projection
    await projection.flush()  # the job reads the SQL projection
    assert await refresh_summaries(database) == 3  # the short work needs none
    assert await refresh_summaries(database) == 0  # nothing is stale
    ok(await save(api, owner, work["id"], chapters[1]["id"], "江水改了方向。" * 5000))
    await projection.flush()
    assert await refresh_summaries(database) == 1
