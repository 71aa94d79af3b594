"""Alternatives: three continuations (or polishes) stream side by side into previews, the one
picked is written into the chapter by its AI peer, the others never touch it (SQLite; the
offline provider, or for polish the local fake model server, whose answers differ)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine

from tests.ai_agents.test_ai_api import (
    OPENING,
    ai_marked,
    chapter_with,
    content,
    content_becomes,
    finished,
    make_settings,
)
from tests.api.test_works import ok, refused, share
from tests.support.api import Account, Api, running_api
from tests.support.fake_llm import Reply, running_fake_llm
from tests.support.waiting import eventually
from tests.support.yclient import YClient, wait_until

# Quotas count per UTC minute and day: the wall clock is held still (then moved by a minute).
MOMENT = datetime(2031, 3, 4, 12, 0, 1, tzinfo=UTC)


async def ask(api: Api, account: Account, work_id: int, chapter_id: int, count: int) -> Any:
    body = {"work_id": work_id, "chapter_id": chapter_id, "length": 80, "alternatives": count}
    return await api.call("POST", "/api/v1/ai/continue", account, json=body)


async def task(api: Api, account: Account, task_id: str) -> dict[str, Any]:
    return ok(await api.call("GET", f"/api/v1/ai/tasks/{task_id}", account))


async def ready(api: Api, account: Account, task_id: str) -> dict[str, Any]:
    async def written() -> dict[str, Any] | None:
        found = await task(api, account, task_id)
        return found if (found["result"] or {}).get("stage") == "ready" else None

    return await eventually(written, what=f"alternative {task_id} to be written")


async def stopped(api: Api, account: Account, task_id: str) -> None:
    """Cancelled, and (if it had started) done writing its preview."""

    async def done() -> bool:
        found = await task(api, account, task_id)
        return found["status"] == "cancelled" and not (found["result"] or {}).get("writing")

    await eventually(done, what=f"alternative {task_id} to stop")


async def test_three_alternatives_stream_apart_and_the_picked_one_enters_the_chapter(
    tmp_path: Path,
) -> None:
    quotas = {"free": {"ai_per_minute": 3, "ai_per_day": 5}}
    settings = make_settings(tmp_path, quotas=quotas, ai_offline_delay_ms=5)
    with time_machine.travel(MOMENT, tick=False) as wall_clock:
        async with running_api(settings) as api:
            await alternatives_flow(api, wall_clock)


async def alternatives_flow(api: Api, wall_clock: time_machine.Traveller) -> None:
    owner, viewer = await api.sign_up(), await api.sign_up()
    work_id, chapter = await chapter_with(api, owner)
    await share(api, owner, work_id, viewer, "viewer")
    doc = chapter["content_id"]
    watcher = await YClient(api.app.sync_url, doc, token=viewer.token).connect()

    refused(await ask(api, viewer, work_id, chapter["id"], 3), 403)
    asked = ok(await ask(api, owner, work_id, chapter["id"], 3))
    ids = asked["alternatives"]
    assert len(ids) == 3 and asked["task_id"] == ids[0]

    texts = [(await ready(api, owner, task_id))["result"]["text"] for task_id in ids]
    assert all(texts) and len(set(texts)) == 3, texts  # three different answers
    # Each streamed into its own preview, which a viewer reads and cannot write.
    previews = [
        await YClient(api.app.sync_url, f"{doc}~alt~{task_id}", token=viewer.token).connect()
        for task_id in ids
    ]
    for preview, text, task_id in zip(previews, texts, ids, strict=True):
        await wait_until(lambda p=preview, t=text: str(p.text) == t)
        assert ai_marked(preview, task_id) == text
    previews[0].append("读者改写")
    await wait_until(lambda: previews[0].permission_denied is not None)
    # Nothing of them is in the chapter.
    assert await content(api, owner, chapter["id"]) == OPENING
    assert str(watcher.text) == OPENING

    refused(await api.call("POST", f"/api/v1/ai/tasks/{ids[1]}/pick", viewer), 403)
    refused(await api.call("POST", f"/api/v1/ai/tasks/{ids[1]}/accept", owner), 409)
    ok(await api.call("POST", f"/api/v1/ai/tasks/{ids[1]}/pick", owner))
    refused(await api.call("POST", f"/api/v1/ai/tasks/{ids[0]}/pick", owner), 409, 40905)

    picked = await finished(api, owner, ids[1])
    assert picked["status"] == "completed", picked
    assert picked["result"]["doc"] == doc and picked["result"]["text"] == texts[1]
    await content_becomes(api, owner, chapter["id"], OPENING + texts[1])
    await wait_until(lambda: str(watcher.text) == OPENING + texts[1])
    assert ai_marked(watcher, ids[1]) == texts[1]
    for other in (ids[0], ids[2]):
        ended = await finished(api, owner, other)
        assert ended["status"] == "cancelled" and ended["result"]["review"] == "discarded"
        assert ai_marked(watcher, other) == ""
        refused(await api.call("POST", f"/api/v1/ai/tasks/{other}/reject", owner), 409)
    # The previews are closed once their tasks end.
    for preview in previews:
        await wait_until(lambda p=preview: p.closed.is_set())
        await preview.close()
    late = YClient(api.app.sync_url, f"{doc}~alt~{ids[0]}", token=owner.token)
    await late.connect(wait_synced=False)
    await wait_until(lambda: late.closed.is_set())
    assert late.close_code == 4403
    # The picked text is reviewable as any AI text.
    ok(await api.call("POST", f"/api/v1/ai/tasks/{ids[1]}/accept", owner))
    await wait_until(lambda: ai_marked(watcher, ids[1]) == "")
    await watcher.close()

    # Quotas: each alternative is one AI call, and a refused request counts none of its calls.
    refused(await ask(api, owner, work_id, chapter["id"], 2), 429, 42903)  # 3 this minute
    wall_clock.shift(60)
    refused(await ask(api, owner, work_id, chapter["id"], 3), 403, 40303)  # 3 + 3 > 5 today
    more = ok(await ask(api, owner, work_id, chapter["id"], 2))["alternatives"]  # 5 today
    body = {"work_id": work_id, "chapter_id": chapter["id"], "length": 80}
    refused(await api.call("POST", "/api/v1/ai/continue", owner, json=body), 403, 40303)
    for task_id in more:
        ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/cancel", owner))
    for task_id in more:
        await stopped(api, owner, task_id)
    assert await content(api, owner, chapter["id"]) == OPENING + texts[1]


POLISHED = ["他飞快地跑了过去。", "他一路小跑，奔了过去。", "他快步冲了过去。"]


async def test_three_polishes_of_a_selection_and_the_picked_one_replaces_it(
    tmp_path: Path,
) -> None:
    quotas = {"free": {"ai_per_minute": 3, "ai_per_day": 10}}
    async with running_fake_llm() as llm:
        # Small pieces, so the suggestions' mark arrives split and must still be cut off.
        llm.script(*(Reply(text=f"{t}\n===建议===\n- 用“地”", chunk_chars=2) for t in POLISHED))
        settings = make_settings(tmp_path, quotas=quotas, ai_providers=[llm.provider_config("q")])
        with time_machine.travel(MOMENT, tick=False) as wall_clock:
            async with running_api(settings) as api:
                await polish_alternatives_flow(api, wall_clock)


async def ask_polish(
    api: Api, account: Account, work_id: int, chapter_id: int, text: str, selection: str, count: int
) -> Any:
    start = text.index(selection)
    body = {
        "work_id": work_id,
        "chapter_id": chapter_id,
        "content": selection,
        "start": start,
        "end": start + len(selection),
        "alternatives": count,
    }
    return await api.call("POST", "/api/v1/ai/polish", account, json=body)


async def polish_alternatives_flow(api: Api, wall_clock: time_machine.Traveller) -> None:
    owner = await api.sign_up()
    selection = "他很快的跑了过去。"
    text = f"开头。{selection}结尾。"
    work_id, chapter = await chapter_with(api, owner, text)
    watcher = await YClient(api.app.sync_url, chapter["content_id"], token=owner.token).connect()

    asked = ok(await ask_polish(api, owner, work_id, chapter["id"], text, selection, 3))
    ids = asked["alternatives"]
    assert len(ids) == 3 and asked["task_id"] == ids[0]
    previews = [(await ready(api, owner, task_id))["result"]["text"] for task_id in ids]
    assert sorted(p.strip() for p in previews) == sorted(POLISHED), previews
    assert await content(api, owner, chapter["id"]) == text  # untouched until a pick

    ok(await api.call("POST", f"/api/v1/ai/tasks/{ids[2]}/pick", owner))
    chosen = previews[2].strip()
    picked = await finished(api, owner, ids[2])
    assert picked["status"] == "completed", picked
    assert (picked["result"]["text"], picked["result"]["original"]) == (chosen, selection)
    await content_becomes(api, owner, chapter["id"], f"开头。{chosen}结尾。")
    await wait_until(lambda: ai_marked(watcher, ids[2]) == chosen)
    for other in ids[:2]:
        ended = await finished(api, owner, other)
        assert ended["status"] == "cancelled" and ended["result"]["review"] == "discarded"
        assert ai_marked(watcher, other) == ""
    # Reject gives the writer's own words back.
    ok(await api.call("POST", f"/api/v1/ai/tasks/{ids[2]}/reject", owner))
    await content_becomes(api, owner, chapter["id"], text)
    refused(await ask_polish(api, owner, work_id, chapter["id"], text, selection, 2), 429, 42903)

    # A selection edited while the alternatives wait is not overwritten: the pick is refused.
    wall_clock.shift(60)
    second = ok(await ask_polish(api, owner, work_id, chapter["id"], text, selection, 2))
    again = second["alternatives"]
    for task_id in again:
        await ready(api, owner, task_id)
    watcher.insert(text.index("跑"), "飞")
    await content_becomes(api, owner, chapter["id"], text.replace("跑", "飞跑"))
    refused(await api.call("POST", f"/api/v1/ai/tasks/{again[0]}/pick", owner), 409, 40907)
    for task_id in again:
        ok(await api.call("POST", f"/api/v1/ai/tasks/{task_id}/cancel", owner))
    for task_id in again:
        await stopped(api, owner, task_id)
    assert await content(api, owner, chapter["id"]) == text.replace("跑", "飞跑")
    await watcher.close()
