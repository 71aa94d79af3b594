"""User reports (举报): filing (once per user, rate-limited), the admin queue, and its decisions."""

from __future__ import annotations

from typing import Any

import pytest

from api.settings import Settings
from tests.api.test_membership import make_admin
from tests.api.test_works import make_chapter, make_work, ok, refused, save, share
from tests.support.api import Account, Api, running_api

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def public_material(api: Api, owner: Account, title: str = "夜行者") -> dict[str, Any]:
    body = {"title": title, "type": "character", "content": "黑衣人", "is_public": True}
    return ok(await api.call("POST", "/api/v1/materials", owner, json=body), 201)


async def report(
    api: Api, who: Account, kind: str, target_id: object, reason: str = "spam", note: str = ""
) -> Any:
    body = {"target_kind": kind, "target_id": str(target_id), "reason": reason, "note": note}
    return await api.call("POST", "/api/v1/reports", who, json=body)


async def queue(api: Api, admin: Account, **params: Any) -> dict[str, Any]:
    return ok(await api.call("GET", "/api/v1/admin/reports", admin, params=params))


async def test_reports_count_once_per_user_and_hiding_notifies_the_owner(api: Api) -> None:
    """The one test that runs on MariaDB too: the queue's grouping is SQL."""
    admin = await make_admin(api)
    owner, first, second = [await api.sign_up() for _ in range(3)]
    material = await public_material(api, owner)
    other = await public_material(api, owner, "旁观者")
    target = material["material_id"]

    created = ok(await report(api, first, "material", target, "spam", "广告链接"), 201)
    again = ok(await report(api, first, "material", target, "sexual", "改一下理由"), 200)
    assert (created["repeated"], again["repeated"]) == (False, True)
    assert again["report_id"] == created["report_id"]
    ok(await report(api, second, "material", target, "sexual"), 201)
    ok(await report(api, second, "material", other["material_id"], "other"), 201)

    found = await queue(api, admin)
    assert found["total"] == 2
    top = found["items"][0]
    assert (top["target_id"], top["count"], top["title"]) == (str(target), 2, "夜行者")
    assert top["owner_id"] == owner.id and top["reasons"] == {"sexual": 2}
    assert {note["note"] for note in top["notes"]} == {"改一下理由", ""}
    by_reason = await queue(api, admin, reason="other")
    assert [item["target_id"] for item in by_reason["items"]] == [str(other["material_id"])]

    path = f"/api/v1/admin/reports/material/{target}/resolve"
    refused(await api.call("POST", path, first, json={"action": "hide"}), 403, 40301)
    body = {"action": "hide", "message": "含有低俗内容"}
    assert ok(await api.call("POST", path, admin, json=body)) == {"resolved": 2}

    shown = ok(await api.call("GET", f"/api/v1/materials/{target}", owner))
    assert shown["is_public"] is False
    refused(await api.call("GET", f"/api/v1/materials/{target}", first), 404)
    inbox = ok(await api.call("GET", "/api/v1/notifications", owner))["items"]
    assert inbox[0]["body"] == "含有低俗内容" and "夜行者" in inbox[0]["title"]
    assert inbox[0]["data"] == {
        "target_kind": "material",
        "target_id": str(target),
        "reason": "含有低俗内容",
    }
    # Hidden stays hidden: the owner cannot publish it again.
    patch = await api.call("PATCH", f"/api/v1/materials/{target}", owner, json={"is_public": True})
    assert refused(patch, 403, 40331)["message"] == "该内容已被管理员隐藏，不能公开"
    assert (await queue(api, admin, status="hidden"))["items"][0]["count"] == 2
    assert [i["target_id"] for i in (await queue(api, admin))["items"]] == [
        str(other["material_id"])
    ]


@SQLITE_ONLY
async def test_dismiss_and_disable(api: Api) -> None:
    admin = await make_admin(api)
    owner, member = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    await share(api, owner, work["work_id"], member, "viewer")
    material = await public_material(api, owner)
    ok(await report(api, member, "material", material["material_id"]), 201)
    dismiss = {"action": "dismiss"}
    path = f"/api/v1/admin/reports/material/{material['material_id']}/resolve"
    assert ok(await api.call("POST", path, admin, json=dismiss)) == {"resolved": 1}
    refused(await api.call("POST", path, admin, json=dismiss), 404, 40401)  # nothing open
    assert ok(await api.call("GET", f"/api/v1/materials/{material['material_id']}", member))

    ok(await report(api, member, "work", work["work_id"], "illegal", "抄袭他人作品"), 201)
    path = f"/api/v1/admin/reports/work/{work['work_id']}/resolve"
    assert ok(await api.call("POST", path, admin, json={"action": "disable"})) == {"resolved": 1}
    refused(await api.call("GET", "/api/v1/works", owner), 403, 40302)
    assert (await queue(api, admin, status="disabled"))["items"][0]["owner_id"] == owner.id


@SQLITE_ONLY
async def test_what_may_not_be_reported(api: Api) -> None:
    owner, stranger = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    mine = await public_material(api, owner)
    private = ok(
        await api.call("POST", "/api/v1/materials", owner, json={"title": "私货", "type": "scene"}),
        201,
    )
    refused(await report(api, owner, "material", mine["material_id"]), 403, 40301)
    refused(await report(api, owner, "work", work["work_id"]), 403, 40301)
    refused(await report(api, stranger, "work", work["work_id"]), 404, 40401)
    refused(await report(api, stranger, "material", private["material_id"]), 404, 40401)
    refused(await report(api, stranger, "material", "abc"), 404, 40401)
    refused(await report(api, stranger, "comment", "c-1"), 404, 40401)
    english = await api.call(
        "POST",
        "/api/v1/reports",
        stranger,
        json={"target_kind": "comment", "target_id": "1-nothing", "reason": "spam"},
        headers={"Accept-Language": "en"},
    )
    assert refused(english, 404, 40401)["message"] == "Not found"
    refused(await report(api, stranger, "material", mine["material_id"], "rude"), 422)
    refused(await api.call("GET", "/api/v1/admin/reports", stranger), 403, 40301)


@SQLITE_ONLY
async def test_reports_are_rate_limited(settings: Settings) -> None:
    async with running_api(settings.model_copy(update={"reports_per_hour": 2})) as api:
        owner, reporter = await api.sign_up(), await api.sign_up()
        materials = [await public_material(api, owner, f"素材{n}") for n in range(3)]
        for material in materials[:2]:
            ok(await report(api, reporter, "material", material["material_id"]), 201)
        limited = await report(api, reporter, "material", materials[2]["material_id"])
        assert refused(limited, 429, 42904)["message"] == "举报过于频繁，请稍后再试"
        assert int(limited.headers["retry-after"]) > 0


@SQLITE_ONLY
async def test_a_comment_is_reported_by_a_co_author_and_hidden_by_an_admin(api: Api) -> None:
    admin = await make_admin(api)
    owner, member, stranger = [await api.sign_up() for _ in range(3)]
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    await share(api, owner, work["id"], member, "editor")
    ok(await save(api, owner, work["id"], chapter["id"], "雨夜，旧书店的门还开着。"))
    comments = f"/api/v1/chapters/{chapter['id']}/comments"
    thread = ok(
        await api.call("POST", comments, owner, json={"body": "加我微信买书", "from": 0, "to": 2}),
        201,
    )
    reply = {"body": "同意"}
    ok(await api.call("POST", f"{comments}/{thread['id']}/replies", member, json=reply), 201)
    target = f"{chapter['id']}-{thread['id']}"

    refused(await report(api, owner, "comment", target), 403, 40301)  # one's own
    refused(await report(api, stranger, "comment", target), 404, 40401)  # not a member
    refused(await report(api, member, "comment", f"{chapter['id']}-nothing"), 404, 40401)
    ok(await report(api, member, "comment", target, "spam", "广告"), 201)

    top = (await queue(api, admin, kind="comment"))["items"][0]
    assert (top["target_id"], top["owner_id"], top["title"]) == (target, owner.id, "加我微信买书")
    path = f"/api/v1/admin/reports/comment/{target}/resolve"
    done = await api.call("POST", path, admin, json={"action": "hide", "message": "广告"})
    assert ok(done) == {"resolved": 1}
    assert ok(await api.call("GET", comments, member)) == []  # the thread and its reply are gone
    inbox = ok(await api.call("GET", "/api/v1/notifications", owner))["items"]
    assert inbox[0]["data"]["target_kind"] == "comment" and inbox[0]["body"] == "广告"
