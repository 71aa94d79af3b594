"""Comments (批注): anchored through concurrent edits, live in the document, kept by a restore,
orphaned (not lost) when their text goes, mentions notify, viewers only when the owner allows."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Map

from storage.docs.comments import COMMENTS
from tests.api.test_works import make_chapter, make_work, ok, refused, save, share
from tests.support.api import Account, Api
from tests.support.waiting import eventually
from tests.support.yclient import YClient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TEXT = "雨下到第三天，林小雨终于把店门口的木牌翻到了休息。"


async def _setup(api: Api) -> tuple[Account, Account, Account, dict[str, Any], dict[str, Any]]:
    owner, editor, viewer = [await api.sign_up() for _ in range(3)]
    work = await make_work(api, owner)
    chapter = await make_chapter(api, owner, work["id"])
    await share(api, owner, work["id"], editor, "editor")
    await share(api, owner, work["id"], viewer, "viewer")
    ok(await save(api, owner, work["id"], chapter["id"], TEXT))
    return owner, editor, viewer, work, chapter


def _path(chapter: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/chapters/{chapter['id']}/comments{tail}"


async def _threads(api: Api, account: Account, chapter: dict[str, Any]) -> list[dict[str, Any]]:
    return ok(await api.call("GET", _path(chapter), account))


async def test_a_comment_stays_on_its_text_through_concurrent_edits_and_a_restore(
    api: Api,
) -> None:
    owner, editor, _viewer, _work, chapter = await _setup(api)
    quote = "林小雨"
    at = TEXT.index(quote)
    watcher = await YClient(api.app.sync_url, chapter["content_id"], token=editor.token).connect()
    try:
        body = {"body": "这里的名字要统一", "from": at, "to": at + len(quote)}
        made = ok(await api.call("POST", _path(chapter), owner, json=body), 201)
        assert (made["from"], made["to"], made["text"], made["orphaned"]) == (
            at,
            at + 3,
            quote,
            False,
        )
        # Live: the editor's document has the comment without asking.
        comments = watcher.doc.get(COMMENTS, type=Map)
        await eventually(lambda: made["id"] in (comments.to_py() or {}), what="the comment live")

        versions = f"/api/v1/chapters/{chapter['id']}/versions"
        version = ok(await api.call("POST", versions, owner, json={"name": "初稿"}), 201)

        # Edits before, inside and right after the commented text.
        watcher.insert(0, "前言。")
        watcher.insert(3 + at + 1, "·")
        watcher.insert(3 + at + 4, "啊")
        expected = "前言。" + TEXT[:at] + "林·小雨啊" + TEXT[at + 3 :]

        async def moved() -> bool:
            threads = await _threads(api, owner, chapter)
            return threads[0]["text"] == "林·小雨" and threads[0]["from"] == at + 3

        await eventually(moved, what="the anchor to follow the edits")
        assert str(watcher.text) == expected

        # The same anchor, as the editor sends it (Yjs relative positions), makes a thread too.
        again = {"body": "同上", "anchor": made["anchor"]}
        second = ok(await api.call("POST", _path(chapter), editor, json=again), 201)
        assert second["text"] == "林·小雨" and second["quote"] == "林·小雨"

        # A restore brings the old text back as new operations; the comments stay.
        restore = f"{versions}/{version['id']}/restore"
        ok(await api.call("POST", restore, owner))
        threads = await _threads(api, owner, chapter)
        assert [t["id"] for t in threads] == [made["id"], second["id"]]
        assert threads[0]["text"] == quote and not threads[0]["orphaned"]

        # Its text deleted: orphaned, still listed with what it quoted.
        start = TEXT.index("林")
        watcher.text.__delitem__(slice(len(TEXT[:start].encode()), len(TEXT[: start + 3].encode())))

        async def orphaned() -> bool:
            return (await _threads(api, owner, chapter))[0]["orphaned"]

        await eventually(orphaned, what="the comment to be orphaned")
        gone = (await _threads(api, owner, chapter))[0]
        assert gone["quote"] == quote and gone["from"] is None and gone["text"] is None
    finally:
        await watcher.close()


async def test_replies_resolve_reopen_mention_and_delete(api: Api) -> None:
    owner, editor, viewer, _work, chapter = await _setup(api)
    made = ok(
        await api.call(
            "POST", _path(chapter), editor, json={"body": "开头太慢", "from": 0, "to": 3}
        ),
        201,
    )
    thread = made["id"]
    reply = {"body": f"同意 @{viewer.username} 你怎么看？"}
    replied = ok(
        await api.call("POST", _path(chapter, f"/{thread}/replies"), owner, json=reply), 201
    )
    assert [r["body"] for r in replied["replies"]] == [reply["body"]]
    assert replied["replies"][0]["mentions"] == [viewer.id]
    notes = ok(await api.call("GET", "/api/v1/notifications", viewer))["items"]
    assert notes[0]["kind"] == "comment" and notes[0]["data"]["thread_id"] == thread
    assert owner.username in notes[0]["title"]
    editor_notes = ok(await api.call("GET", "/api/v1/notifications", editor))["items"]
    assert not [n for n in editor_notes if n["kind"] == "comment"]

    resolved = ok(await api.call("POST", _path(chapter, f"/{thread}/resolve"), owner))
    assert resolved["resolved"] and resolved["resolved_by"] == owner.username
    reopened = ok(await api.call("POST", _path(chapter, f"/{thread}/reopen"), editor))
    assert not reopened["resolved"] and reopened["resolved_by"] is None
    refused(await api.call("POST", _path(chapter, "/nope/replies"), owner, json=reply), 404)

    # The viewer reads threads but deletes nobody's; the owner deletes a thread with its replies.
    assert len(await _threads(api, viewer, chapter)) == 1
    refused(await api.call("DELETE", _path(chapter, f"/{thread}"), viewer), 403)
    ok(await api.call("DELETE", _path(chapter, f"/{thread}"), owner))
    assert await _threads(api, owner, chapter) == []


async def test_viewers_comment_only_when_the_owner_allows(api: Api) -> None:
    owner, editor, viewer, work, chapter = await _setup(api)
    stranger = await api.sign_up()
    body = {"body": "读者意见", "from": 0, "to": 2}
    closed = refused(await api.call("POST", _path(chapter), viewer, json=body), 403, 40341)
    assert closed["message"] == "作品所有者未允许查看者批注"
    english = await api.call(
        "POST", _path(chapter), viewer, json=body, headers={"Accept-Language": "en"}
    )
    assert "does not let viewers comment" in english.json()["message"]
    policy = f"/api/v1/works/{work['id']}/comment-policy"
    refused(await api.call("PUT", policy, editor, json={"viewers_may_comment": True}), 403)
    ok(await api.call("PUT", policy, owner, json={"viewers_may_comment": True}))
    assert ok(await api.call("GET", policy, viewer))["viewers_may_comment"] is True
    made = ok(await api.call("POST", _path(chapter), viewer, json=body), 201)
    assert made["author"] == {"id": viewer.id, "name": viewer.username}
    refused(await api.call("GET", _path(chapter), stranger), 404)
    refused(await api.call("POST", _path(chapter), stranger, json=body), 404)
    for bad in ({"body": "x"}, {"body": "", "from": 0, "to": 1}, {"body": "x", "from": 5, "to": 2}):
        assert (await api.call("POST", _path(chapter), owner, json=bad)).status_code == 422
    anchor = {"from": {"item": {"client": "x"}}, "to": {}}
    refused(
        await api.call("POST", _path(chapter), owner, json={"body": "x", "anchor": anchor}), 422
    )
