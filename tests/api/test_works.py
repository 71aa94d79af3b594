"""`/api/v1/works`: works, trash, stats, members and transfer, on both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api import Account, Api

# Helpers shared by the other test modules of this package ---------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == 0, body
    return body["data"]


def refused(response: httpx.Response, status: int, code: int | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] != 0 and "data" not in body, body
    if code is not None:
        assert body["code"] == code, body
    return body


async def make_work(api: Api, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "长夜将尽", "type": "novel", **fields}
    return ok(await api.call("POST", "/api/v1/works", account, json=body), 201)


async def make_chapter(
    api: Api, account: Account, work_id: int, title: str | None = None
) -> dict[str, Any]:
    body = {} if title is None else {"title": title}
    path = f"/api/v1/works/{work_id}/chapters"
    return ok(await api.call("POST", path, account, json=body), 201)


async def share(api: Api, owner: Account, work_id: int, member: Account, role: str) -> None:
    body = {"username_or_email": member.username, "role": role}
    ok(await api.call("POST", f"/api/v1/works/{work_id}/members", owner, json=body), 201)


async def save(
    api: Api, account: Account, work_id: int, chapter_id: int, content: str
) -> httpx.Response:
    body = {"chapter_id": chapter_id, "content": content, "auto_save": True}
    return await api.call("PUT", f"/api/v1/works/{work_id}/content", account, json=body)


async def me(api: Api, account: Account) -> dict[str, Any]:
    return ok(await api.call("GET", "/api/v1/users/me", account))


# Works ------------------------------------------------------------------------------------------


async def test_create_then_read_a_work(api: Api) -> None:
    writer = await api.sign_up()
    body = {
        "title": "长夜将尽",
        "type": "novel",
        "genre": "科幻",
        "style": "冷峻",
        "target_words": 50000,
    }
    created = ok(await api.call("POST", "/api/v1/works", writer, json=body), 201)
    assert created["work_id"] == created["id"] > 0
    assert created["title"] == "长夜将尽" and created["created_at"]
    assert created["role"] == "owner" and created["user_id"] == writer.id
    assert created["status"] == "draft" and created["word_count"] == 0

    detail = ok(await api.call("GET", f"/api/v1/works/{created['id']}", writer))
    assert detail["genre"] == "科幻" and detail["style"] == "冷峻"
    assert detail["target_words"] == 50000
    assert detail["chapters"] == []
    assert [(m["user_id"], m["role"]) for m in detail["members"]] == [(writer.id, "owner")]
    assert (await me(api, writer))["total_works"] == 1


async def test_bad_work_bodies_are_422_and_anonymous_is_401(api: Api) -> None:
    writer = await api.sign_up()
    for body in (
        {"title": "x", "type": "poem"},
        {"type": "novel"},
        {"title": "", "type": "novel"},
        {"title": "x" * 201, "type": "novel"},
        {"title": "x", "type": "novel", "target_words": -1},
    ):
        refused(await api.call("POST", "/api/v1/works", writer, json=body), 422, 42201)
    refused(
        await api.call("POST", "/api/v1/works", None, json={"title": "x", "type": "novel"}), 401
    )
    refused(await api.call("GET", "/api/v1/works"), 401)
    refused(await api.call("GET", "/api/v1/works/abc", writer), 422)
    huge = 10**30  # beyond BIGINT: refused as input, never sent to the database
    for method, path, body in (
        ("GET", f"/api/v1/works/{huge}", None),
        ("GET", f"/api/v1/chapters/{huge}/content", None),
        ("PUT", "/api/v1/works/1/content", {"chapter_id": huge, "content": "x"}),
        ("POST", "/api/v1/works/1/chapters/reorder", {"chapter_ids": [huge]}),
        ("POST", "/api/v1/works/1/transfer", {"user_id": huge}),
        ("GET", f"/api/v1/chapters/1/versions/{huge}", None),
    ):
        refused(await api.call(method, path, writer, json=body), 422)


async def test_list_filters_sorts_pages_and_shows_my_role(api: Api) -> None:
    writer, friend = await api.sign_up(), await api.sign_up()
    a = await make_work(api, writer, title="甲", genre="武侠")
    b = await make_work(api, writer, title="乙", type="script")
    c = await make_work(api, writer, title="丙", genre="武侠")
    ok(await api.call("PATCH", f"/api/v1/works/{c['id']}", writer, json={"status": "completed"}))
    theirs = await make_work(api, friend, title="丁")
    await share(api, friend, theirs["id"], writer, "viewer")
    gone = await make_work(api, writer, title="戊")
    ok(await api.call("DELETE", f"/api/v1/works/{gone['id']}", writer))
    await make_work(api, friend, title="己")  # not shared: never listed for the writer

    listed = ok(await api.call("GET", "/api/v1/works", writer))
    assert listed["total"] == 4 and listed["page"] == 1 and listed["page_size"] == 20
    roles = {item["title"]: item["role"] for item in listed["items"]}
    assert roles == {"甲": "owner", "乙": "owner", "丙": "owner", "丁": "viewer"}

    async def titles(**params: Any) -> list[str]:
        data = ok(await api.call("GET", "/api/v1/works", writer, params=params))
        return [item["title"] for item in data["items"]]

    assert sorted(await titles(type="novel")) == sorted(["甲", "丙", "丁"])
    assert await titles(type="script") == ["乙"]
    assert sorted(await titles(genre="武侠")) == sorted(["甲", "丙"])
    assert await titles(status="completed") == ["丙"]
    by_title = sorted(["甲", "乙", "丙", "丁"])
    assert await titles(sort="title", order="asc") == by_title
    assert await titles(sort="title", order="desc") == by_title[::-1]
    assert await titles(sort="created_at", order="asc") == ["甲", "乙", "丙", "丁"]
    page = ok(
        await api.call(
            "GET", "/api/v1/works", writer, params={"page": 2, "page_size": 3, "sort": "title"}
        )
    )
    assert page["total"] == 4 and len(page["items"]) == 1
    past = ok(await api.call("GET", "/api/v1/works", writer, params={"page": 3, "page_size": 3}))
    assert past["total"] == 4 and past["items"] == []
    none = ok(await api.call("GET", "/api/v1/works", writer, params={"status": "published"}))
    assert none["total"] == 0 and none["items"] == []
    for bad in ({"sort": "password"}, {"order": "up"}, {"type": "poem"}, {"page_size": 1000}):
        refused(await api.call("GET", "/api/v1/works", writer, params=bad), 422)
    assert a["id"] != b["id"]


async def test_list_sorts_by_word_count(api: Api) -> None:
    writer = await api.sign_up()
    short = await make_work(api, writer, title="短")
    long = await make_work(api, writer, title="长")
    for work, text in ((short, "一二三"), (long, "一二三四五六七八九十")):
        chapter = await make_chapter(api, writer, work["id"])
        ok(await save(api, writer, work["id"], chapter["id"], text))
    await api.app.app.state.adapters.projection.flush()
    data = ok(await api.call("GET", "/api/v1/works", writer, params={"sort": "word_count"}))
    assert [(i["title"], i["word_count"]) for i in data["items"]] == [("长", 10), ("短", 3)]


async def test_patch_by_owner_and_editor_but_not_viewer(api: Api) -> None:
    owner, editor, viewer, stranger = [await api.sign_up() for _ in range(4)]
    work = await make_work(api, owner)
    await share(api, owner, work["id"], editor, "editor")
    await share(api, owner, work["id"], viewer, "viewer")
    path = f"/api/v1/works/{work['id']}"

    changed = ok(
        await api.call(
            "PATCH",
            path,
            owner,
            json={"title": "新题", "status": "published", "cover_url": "/c.png", "genre": "悬疑"},
        )
    )
    assert (changed["title"], changed["status"], changed["cover_url"]) == (
        "新题",
        "published",
        "/c.png",
    )
    assert changed["version"] == work["version"] + 1
    by_editor = ok(await api.call("PATCH", path, editor, json={"target_words": 9000}))
    assert by_editor["target_words"] == 9000 and by_editor["title"] == "新题"
    assert by_editor["role"] == "editor"

    refused(await api.call("PATCH", path, viewer, json={"title": "偷改"}), 403, 40301)
    refused(await api.call("PATCH", path, stranger, json={"title": "偷改"}), 404, 40401)
    refused(await api.call("PATCH", path, owner, json={"status": "lost"}), 422)
    refused(await api.call("PATCH", path, owner, json={"type": "script"}), 422)
    assert ok(await api.call("GET", path, viewer))["title"] == "新题"


async def test_trash_restore_and_purge(api: Api) -> None:
    owner, editor = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    keep = await make_work(api, owner, title="留")
    await share(api, owner, work["id"], editor, "editor")
    chapter = await make_chapter(api, owner, work["id"])
    ok(await save(api, owner, work["id"], chapter["id"], "春眠不觉晓"))
    await api.app.app.state.adapters.projection.flush()
    assert (await me(api, owner))["total_words"] == 5
    path = f"/api/v1/works/{work['id']}"

    refused(await api.call("DELETE", path, editor), 403)
    trashed = ok(await api.call("DELETE", path, owner))
    assert trashed["is_deleted"] is True and trashed["deleted_at"]
    refused(await api.call("GET", path, owner), 404)
    refused(await api.call("GET", path, editor), 404)
    refused(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", owner), 404)
    listed = ok(await api.call("GET", "/api/v1/works", owner))
    assert [item["id"] for item in listed["items"]] == [keep["id"]]
    trash = ok(await api.call("GET", "/api/v1/works/trash", owner))
    assert trash["total"] == 1 and trash["items"][0]["id"] == work["id"]
    assert ok(await api.call("GET", "/api/v1/works/trash", editor))["total"] == 0
    totals = await me(api, owner)
    assert (totals["total_works"], totals["total_words"]) == (1, 0)

    refused(await api.call("POST", f"{path}/restore", editor), 404)
    restored = ok(await api.call("POST", f"{path}/restore", owner))
    assert restored["is_deleted"] is False and restored["deleted_at"] is None
    refused(await api.call("POST", f"{path}/restore", owner), 409)
    totals = await me(api, owner)
    assert (totals["total_works"], totals["total_words"]) == (2, 5)

    ok(await api.call("DELETE", path, owner))
    refused(await api.call("DELETE", f"{path}/purge", editor), 404)
    ok(await api.call("DELETE", f"{path}/purge", owner))
    assert ok(await api.call("GET", "/api/v1/works/trash", owner))["total"] == 0
    refused(await api.call("POST", f"{path}/restore", owner), 404)
    refused(await api.call("GET", f"/api/v1/chapters/{chapter['id']}", owner), 404)
    assert (await me(api, owner))["total_works"] == 1


async def test_stats_count_chapters_and_words(api: Api) -> None:
    writer = await api.sign_up()
    work = await make_work(api, writer, target_words=100)
    one = await make_chapter(api, writer, work["id"])
    two = await make_chapter(api, writer, work["id"])
    ok(await save(api, writer, work["id"], one["id"], "床前明月光，疑是地上霜。"))
    ok(await save(api, writer, work["id"], two["id"], "Hello world 你好"))
    await api.app.app.state.adapters.projection.flush()
    stats = ok(await api.call("GET", f"/api/v1/works/{work['id']}/stats", writer))
    assert stats["chapter_count"] == 2
    assert [(c["id"], c["word_count"]) for c in stats["chapters"]] == [
        (one["id"], 12),
        (two["id"], 4),
    ]
    assert stats["word_count"] == 16 and stats["progress"] == 0.16
    profile = await me(api, writer)
    assert (profile["total_words"], profile["total_works"]) == (16, 1)


# Members ----------------------------------------------------------------------------------------


async def test_members_are_added_listed_changed_and_removed(api: Api) -> None:
    owner, editor, viewer, stranger = [await api.sign_up() for _ in range(4)]
    work = await make_work(api, owner)
    members = f"/api/v1/works/{work['id']}/members"

    added = ok(
        await api.call(
            "POST",
            members,
            owner,
            json={"username_or_email": editor.email.upper(), "role": "editor"},
        ),
        201,
    )
    assert (added["user_id"], added["role"], added["username"]) == (
        editor.id,
        "editor",
        editor.username,
    )
    await share(api, owner, work["id"], viewer, "viewer")
    refused(
        await api.call(
            "POST", members, owner, json={"username_or_email": viewer.username, "role": "editor"}
        ),
        409,
        40904,
    )
    refused(
        await api.call(
            "POST", members, owner, json={"username_or_email": owner.username, "role": "editor"}
        ),
        409,
        40904,
    )
    refused(
        await api.call(
            "POST", members, owner, json={"username_or_email": "无此人", "role": "editor"}
        ),
        404,
    )
    refused(
        await api.call(
            "POST", members, owner, json={"username_or_email": stranger.username, "role": "owner"}
        ),
        422,
    )
    refused(
        await api.call(
            "POST", members, editor, json={"username_or_email": stranger.username, "role": "viewer"}
        ),
        403,
    )
    refused(
        await api.call(
            "POST",
            members,
            stranger,
            json={"username_or_email": stranger.username, "role": "editor"},
        ),
        404,
    )

    listed = ok(await api.call("GET", members, viewer))
    assert [(m["user_id"], m["role"]) for m in listed] == [
        (owner.id, "owner"),
        (editor.id, "editor"),
        (viewer.id, "viewer"),
    ]
    refused(await api.call("GET", members, stranger), 404)
    shared = ok(await api.call("GET", "/api/v1/works", viewer))
    assert [(i["id"], i["role"]) for i in shared["items"]] == [(work["id"], "viewer")]

    changed = ok(await api.call("PATCH", f"{members}/{viewer.id}", owner, json={"role": "editor"}))
    assert changed["role"] == "editor"
    refused(await api.call("PATCH", f"{members}/{editor.id}", editor, json={"role": "viewer"}), 403)
    refused(
        await api.call("PATCH", f"{members}/{stranger.id}", owner, json={"role": "viewer"}), 404
    )
    refused(await api.call("PATCH", f"{members}/{owner.id}", owner, json={"role": "viewer"}), 400)

    refused(await api.call("DELETE", f"{members}/{viewer.id}", editor), 403)
    ok(await api.call("DELETE", f"{members}/{viewer.id}", owner))
    refused(await api.call("GET", f"/api/v1/works/{work['id']}", viewer), 404)
    ok(await api.call("DELETE", f"{members}/{editor.id}", editor))  # leaving on one's own
    refused(await api.call("GET", f"/api/v1/works/{work['id']}", editor), 404)
    refused(await api.call("DELETE", f"{members}/{owner.id}", owner), 400)
    assert [m["user_id"] for m in ok(await api.call("GET", members, owner))] == [owner.id]


async def test_transfer_makes_a_member_the_owner(api: Api) -> None:
    owner, heir, stranger = [await api.sign_up() for _ in range(3)]
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    ok(await save(api, owner, work["id"], chapter["id"], "一二三四"))
    await api.app.app.state.adapters.projection.flush()
    path = f"/api/v1/works/{work['id']}/transfer"

    refused(await api.call("POST", path, owner, json={"user_id": stranger.id}), 404)
    await share(api, owner, work["id"], heir, "viewer")
    refused(await api.call("POST", path, heir, json={"user_id": heir.id}), 403)
    refused(await api.call("POST", path, stranger, json={"user_id": stranger.id}), 404)

    moved = ok(await api.call("POST", path, owner, json={"user_id": heir.id}))
    assert moved["user_id"] == heir.id and moved["role"] == "editor"
    assert {(m["user_id"], m["role"]) for m in moved["members"]} == {
        (heir.id, "owner"),
        (owner.id, "editor"),
    }
    old, new = await me(api, owner), await me(api, heir)
    assert (old["total_works"], old["total_words"]) == (0, 0)
    assert (new["total_works"], new["total_words"]) == (1, 4)
    refused(await api.call("DELETE", f"/api/v1/works/{work['id']}", owner), 403)
    ok(await api.call("PATCH", f"/api/v1/works/{work['id']}", owner, json={"title": "仍可编辑"}))
    ok(await api.call("DELETE", f"/api/v1/works/{work['id']}", heir))


async def test_a_stranger_cannot_reach_a_work_by_guessing_its_id(api: Api) -> None:
    owner, stranger = await api.sign_up(), await api.sign_up()
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    base = f"/api/v1/works/{work['id']}"
    attempts = [
        ("GET", base, None),
        ("PATCH", base, {"title": "偷"}),
        ("DELETE", base, None),
        ("POST", f"{base}/restore", None),
        ("DELETE", f"{base}/purge", None),
        ("GET", f"{base}/stats", None),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/members", {"username_or_email": stranger.username, "role": "editor"}),
        ("PATCH", f"{base}/members/{owner.id}", {"role": "viewer"}),
        ("DELETE", f"{base}/members/{owner.id}", None),
        ("POST", f"{base}/transfer", {"user_id": stranger.id}),
        ("GET", f"{base}/chapters", None),
        ("POST", f"{base}/chapters", {"title": "偷"}),
        ("POST", f"{base}/chapters/reorder", {"chapter_ids": [chapter["id"]]}),
        ("PUT", f"{base}/content", {"chapter_id": chapter["id"], "content": "偷"}),
        ("GET", "/api/v1/works/999999", None),
    ]
    for method, path, body in attempts:
        refused(await api.call(method, path, stranger, json=body), 404, 40401)
    detail = ok(await api.call("GET", base, owner))
    assert detail["title"] == work["title"] and len(detail["chapters"]) == 1
    assert ok(await api.call("GET", "/api/v1/works", stranger))["total"] == 0


async def test_a_member_of_one_work_reaches_nothing_of_another(api: Api) -> None:
    """A role is read joined to the work it is on (`security.roles.with_role`): an editor of one
    work is a stranger to the owner's other works and to their chapters."""
    owner, member = await api.sign_up(), await api.sign_up()
    shared = await make_work(api, owner)
    await share(api, owner, shared["id"], member, "editor")
    other = await make_work(api, owner, title="别的书")
    chapter = await make_chapter(api, owner, other["id"])
    for path in (
        f"/api/v1/chapters/{chapter['id']}",
        f"/api/v1/chapters/{chapter['id']}/content",
        f"/api/v1/works/{other['id']}",
        f"/api/v1/works/{other['id']}/chapters",
    ):
        refused(await api.call("GET", path, member), 404, 40401)
    save_there = {"chapter_id": chapter["id"], "content": "偷"}
    refused(
        await api.call("PUT", f"/api/v1/works/{other['id']}/content", member, json=save_there),
        404,
        40401,
    )
    ok(await api.call("GET", f"/api/v1/works/{shared['id']}/chapters", member))


async def test_a_trashed_works_chapters_are_not_listed(api: Api) -> None:
    owner = await api.sign_up()
    work = await make_work(api, owner)
    await make_chapter(api, owner, work["id"])
    ok(await api.call("DELETE", f"/api/v1/works/{work['id']}", owner))
    refused(await api.call("GET", f"/api/v1/works/{work['id']}/chapters", owner), 404, 40401)
