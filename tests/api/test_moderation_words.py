"""The word list administrators change at runtime: caught at once, on every node, without a
restart; making content public runs the check; AI answers carry the verdict in their history."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from api.settings import Settings
from tests.api.test_membership import make_admin
from tests.api.test_works import make_work, ok, refused
from tests.support.api import Account, Api, running_api
from tests.support.cluster import REDIS_URL
from tests.support.waiting import eventually

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WORD = "蓝色毒蘑菇"


async def check(api: Api, who: Account, text: str) -> dict[str, Any]:
    return ok(await api.call("POST", "/api/v1/moderation/check", who, json={"text": text}))


async def words(api: Api, admin: Account) -> dict[str, dict[str, Any]]:
    entries = ok(await api.call("GET", "/api/v1/admin/moderation/words", admin))
    return {entry["word"]: entry for entry in entries}


async def test_an_added_word_is_caught_at_once_and_a_removed_one_no_more(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    text = f"他在林中采到了{WORD}。"
    assert (await check(api, writer, text))["passed"] is True

    body = {"word": WORD}
    refused(await api.call("POST", "/api/v1/admin/moderation/words", writer, json=body), 403)
    ok(await api.call("POST", "/api/v1/admin/moderation/words", admin, json=body), 201)
    assert (await words(api, admin))[WORD] == {"word": WORD, "source": "added", "active": True}
    found = await check(api, writer, text)
    assert found["passed"] is False and found["hits"][0]["word"] == WORD

    material = {"title": "林中", "type": "scene", "content": text, "is_public": True}
    flagged = await api.call("POST", "/api/v1/materials", writer, json=material)
    assert refused(flagged, 400, 40032)["message"] == "内容未通过审核，请修改后再公开"
    private = ok(
        await api.call("POST", "/api/v1/materials", writer, json={**material, "is_public": False}),
        201,
    )
    path = f"/api/v1/materials/{private['material_id']}"
    refused(await api.call("PATCH", path, writer, json={"is_public": True}), 400, 40032)

    ok(await api.call("DELETE", f"/api/v1/admin/moderation/words/{quote(WORD)}", admin))
    assert (await check(api, writer, text))["passed"] is True
    assert ok(await api.call("PATCH", path, writer, json={"is_public": True}))["is_public"]
    refused(await api.call("DELETE", f"/api/v1/admin/moderation/words/{quote(WORD)}", admin), 404)


async def test_a_shipped_word_can_be_taken_out_and_put_back(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    shipped = next(e for e in (await words(api, admin)).values() if e["source"] == "shipped")
    word = shipped["word"]
    assert (await check(api, writer, f"x {word} x"))["passed"] is False
    ok(await api.call("DELETE", f"/api/v1/admin/moderation/words/{quote(word)}", admin))
    assert (await words(api, admin))[word]["active"] is False
    assert (await check(api, writer, f"x {word} x"))["passed"] is True
    ok(await api.call("POST", "/api/v1/admin/moderation/words", admin, json={"word": word}), 201)
    assert (await check(api, writer, f"x {word} x"))["passed"] is False


async def test_ai_answers_carry_the_verdict_in_their_history(api: Api) -> None:
    admin, writer = await make_admin(api), await api.sign_up()
    ok(await api.call("POST", "/api/v1/admin/moderation/words", admin, json={"word": WORD}), 201)
    work = await make_work(api, writer)
    body = {"work_id": work["work_id"], "content": f"他采到了{WORD}，又采到了蘑菇。"}
    ok(await api.call("POST", "/api/v1/ai/polish", writer, json=body))
    calls = ok(await api.call("GET", "/api/v1/ai/histories", writer))["items"]
    verdict = calls[0]["moderation"]
    assert verdict["flagged"] is True and verdict["source"] == "words"
    assert verdict["words"] == [WORD]


async def test_a_word_added_on_one_node_is_caught_on_the_other(settings: Settings) -> None:
    """Two app instances on one database and one Redis bus, as two `serve` nodes are."""
    shared = settings.model_copy(
        update={"redis_url": REDIS_URL, "redis_prefix": f"inkweave-test-{uuid.uuid4().hex[:8]}:"}
    )
    async with running_api(shared) as node_a, running_api(shared) as node_b:
        admin, writer = await make_admin(node_a), await node_a.sign_up()
        text = f"{WORD}汤"
        assert (await check(node_b, writer, text))["passed"] is True
        add = {"word": WORD}
        ok(await node_a.call("POST", "/api/v1/admin/moderation/words", admin, json=add), 201)

        async def caught_on_b() -> bool:
            return (await check(node_b, writer, text))["passed"] is False

        await eventually(caught_on_b, what="node B uses the new word")
