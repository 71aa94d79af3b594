"""Who changed what between two versions: two writers and an AI task, runs and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycrdt import Doc, Text

from api.services.version_changes import compare
from tests.ai_agents.test_ai_api import continue_, finished, make_settings
from tests.api.test_works import make_chapter, make_work, ok, share
from tests.support.api import Account, Api, running_api
from tests.support.waiting import eventually
from tests.support.yclient import YClient


async def _server_text(api: Api, account: Account, chapter_id: int) -> str:
    path = f"/api/v1/chapters/{chapter_id}/content"
    return ok(await api.call("GET", path, account))["content"]


async def _on_server(api: Api, account: Account, chapter_id: int, text: str) -> None:
    async def arrived() -> bool:
        return await _server_text(api, account, chapter_id) == text

    await eventually(arrived, what=f"{text!r} on the server")


def _delete(client: YClient, start: int, end: int) -> None:
    """Delete characters [start, end) (pycrdt indexes by UTF-8 bytes)."""
    current = str(client.text)
    del client.text[len(current[:start].encode()) : len(current[:end].encode())]


def _who(author: dict[str, Any] | None) -> tuple[str, Any] | None:
    return None if author is None else (author["kind"], author["id"])


def _runs(found: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return [
        (r["kind"], r["text"], _who(r["author"]), _who(r.get("written_by"))) for r in found["runs"]
    ]


async def test_two_writers_and_an_ai_task_between_two_versions(tmp_path: Path) -> None:
    async with running_api(make_settings(tmp_path)) as api:
        owner, second, stranger = [await api.sign_up() for _ in range(3)]
        work = await make_work(api, owner)
        chapter = await make_chapter(api, owner, work["id"])
        await share(api, owner, work["id"], second, "editor")
        versions = f"/api/v1/chapters/{chapter['id']}/versions"
        mine, theirs = [
            await YClient(api.app.sync_url, chapter["content_id"], token=a.token).connect()
            for a in (owner, second)
        ]
        try:
            mine.append("林小雨推开门。雨还在下。")
            await _on_server(api, owner, chapter["id"], "林小雨推开门。雨还在下。")
            first = ok(await api.call("POST", versions, owner, json={"name": "初稿"}), 201)

            await eventually(lambda: str(theirs.text) == "林小雨推开门。雨还在下。")
            theirs.insert(7, "😀风很冷，")
            _delete(theirs, 13, 15)  # the owner's "还在"
            await _on_server(api, owner, chapter["id"], "林小雨推开门。😀风很冷，雨下。")
            await eventually(lambda: str(mine.text) == "林小雨推开门。😀风很冷，雨下。")
            mine.append("她笑了。")
            await _on_server(api, owner, chapter["id"], "林小雨推开门。😀风很冷，雨下。她笑了。")
        finally:
            await mine.close()
            await theirs.close()

        task_id = await continue_(api, owner, work["id"], chapter["id"], length=40)
        task = await finished(api, owner, task_id)
        assert task["status"] == "completed", task
        written = task["result"]["text"]
        text = "林小雨推开门。😀风很冷，雨下。她笑了。" + written
        await _on_server(api, owner, chapter["id"], text)
        second_version = ok(await api.call("POST", versions, second, json={"name": "二稿"}), 201)

        path = f"{versions}/{second_version['id']}/changes"
        found = ok(await api.call("GET", path, second))
        assert found["from"]["version_id"] == first["id"]
        assert found["to"]["version_id"] == second_version["id"]
        assert _runs(found) == [
            ("same", "林小雨推开门。", None, None),
            ("inserted", "😀风很冷，", ("user", second.id), None),
            ("same", "雨", None, None),
            ("deleted", "还在", None, ("user", owner.id)),
            ("same", "下。", None, None),
            ("inserted", "她笑了。", ("user", owner.id), None),
            ("inserted", written, ("ai", task_id), None),
        ]
        counts = {_who(a["author"]): (a["inserted"], a["deleted"]) for a in found["authors"]}
        ai_chars = len("".join(written.split()))
        assert counts == {
            ("user", second.id): (5, 0),
            ("user", owner.id): (4, 2),
            ("ai", task_id): (ai_chars, 0),
        }
        assert (found["inserted"], found["deleted"]) == (9 + ai_chars, 2)
        assert (
            ok(await api.call("GET", f"{path}?against={first['id']}", owner))["runs"]
            == (found["runs"])
        )

        # The first version's changes start from an empty chapter: all the owner's.
        path = f"{versions}/{first['id']}/changes"
        initial = ok(await api.call("GET", path, owner))
        assert initial["from"] == {"empty": True}
        whole = "林小雨推开门。雨还在下。"
        assert _runs(initial) == [("inserted", whole, ("user", owner.id), None)]

        # Since the first version, up to the live chapter: the same changes.
        since = ok(await api.call("GET", f"{path}?against=current", owner))
        assert since["to"] == {"current": True}
        assert since["runs"] == found["runs"]

        assert (await api.call("GET", path, stranger)).status_code == 404
        assert (await api.call("GET", f"{versions}/999999/changes", owner)).status_code == 404
        assert (await api.call("GET", f"{path}?against=latest", owner)).status_code == 422


def test_changes_follow_yjs_items_not_equal_text() -> None:
    """Retyping a word is a deletion and an insertion though the text looks the same."""
    doc: Doc = Doc(client_id=1)
    text = doc.get("content", type=Text)
    text += "雨还在下"
    older: Doc = Doc()
    older.apply_update(doc.get_update())
    del text[3:6]  # "还" (3 UTF-8 bytes)
    text.insert(3, "还")
    newer: Doc = Doc()
    newer.apply_update(doc.get_update())
    kinds = [(kind, char) for kind, char, _client in compare(older, newer)]
    assert kinds == [
        ("same", "雨"),
        ("deleted", "还"),
        ("inserted", "还"),
        ("same", "在"),
        ("same", "下"),
    ]
