"""Imports over HTTP: a file becomes a new work whose chapters' CRDT documents hold the text."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import docx
import pytest

from api.settings import Settings
from tests.api.test_works import ok, refused
from tests.jobs.conftest import SQLITE_ONLY
from tests.jobs.helpers import notification_socket, poll_task
from tests.support.api import Account, Api, running_api
from tests.support.inprocess import running_app

NOVEL = """《长夜将尽》
作者：黛玉

第一章 风起
　　他推开门，夜色很深。
　　远处传来钟声。

第二章 云涌
　　“你来了。”她说。
"""


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with running_api(settings) as client:
        yield client


async def upload(api: Api, account: Account, name: str, data: bytes, **form: str) -> str:
    files = {"file": (name, data, "application/octet-stream")}
    queued = ok(await api.call("POST", "/api/v1/import", account, files=files, data=form), 202)
    return queued["task_id"]


async def imported(api: Api, account: Account, task_id: str) -> dict[str, object]:
    view, seen = await poll_task(api, account, f"/api/v1/import/tasks/{task_id}")
    assert view["status"] == "completed", view
    assert seen == sorted(seen) and view["progress"] == 100
    return view


async def chapter_texts(api: Api, account: Account, work_id: int) -> list[tuple[str, str]]:
    path = f"/api/v1/works/{work_id}/chapters"
    chapters = ok(await api.call("GET", path, account))["items"]
    texts = []
    for chapter in chapters:
        body = ok(await api.call("GET", f"/api/v1/chapters/{chapter['id']}/content", account))
        texts.append((chapter["title"], body["content"]))
    return texts


async def test_a_txt_novel_becomes_a_work_with_chapters(api: Api) -> None:
    owner = await api.sign_up()
    async with notification_socket(api, owner) as inbox:
        task_id = await upload(api, owner, "长夜将尽.txt", NOVEL.encode("gb18030"))
        pushed = await inbox.notification(task_id=task_id)
    view = await imported(api, owner, task_id)
    assert (view["filename"], view["title"], view["chapters"]) == ("长夜将尽.txt", "长夜将尽", 2)
    work_id = view["work_id"]
    assert pushed["notification"]["data"]["work_id"] == work_id
    assert pushed["notification"]["title"] == "《长夜将尽》导入完成"

    texts = await chapter_texts(api, owner, work_id)
    assert [title for title, _ in texts] == ["第一章 风起", "第二章 云涌"]
    assert "他推开门，夜色很深。" in texts[0][1] and "远处传来钟声。" in texts[0][1]
    assert "“你来了。”她说。" in texts[1][1]
    work = ok(await api.call("GET", f"/api/v1/works/{work_id}", owner))
    assert (work["type"], work["role"], work["chapter_count"]) == ("novel", "owner", 2)
    assert work["word_count"] > 0  # the SQL projection was derived from the documents
    stored = await api.app.adapters.store.load(work["chapters"][0]["content_id"])
    assert stored.updates or stored.snapshot  # the text went through the document store
    # The imported words are the importer's, as if typed (credit between co-authors).
    credit = ok(await api.call("GET", f"/api/v1/works/{work_id}/authorship", owner))["authors"]
    assert [(a["author"]["kind"], a["author"]["id"]) for a in credit] == [("user", owner.id)]


@SQLITE_ONLY  # the parsers are the subject; the txt import covers SQL
async def test_docx_and_fountain_imports_and_a_chosen_title(api: Api) -> None:
    owner = await api.sign_up()
    document = docx.Document()
    document.add_heading("第一章 开端", level=1)
    document.add_paragraph("故事从一场雨开始。")
    document.add_heading("第二章 转折", level=1)
    document.add_paragraph("雨停了。")
    buffer = io.BytesIO()
    document.save(buffer)
    view = await imported(
        api, owner, await upload(api, owner, "draft.docx", buffer.getvalue(), title="雨季")
    )
    assert view["title"] == "雨季"
    texts = await chapter_texts(api, owner, view["work_id"])
    assert [title for title, _ in texts] == ["第一章 开端", "第二章 转折"]
    assert "故事从一场雨开始。" in texts[0][1]

    script = "Title: 雨夜\n\nINT. 咖啡馆 - 夜\n\n林默坐在窗边。\n\n林默\n你来了。\n"
    view = await imported(api, owner, await upload(api, owner, "雨夜.fountain", script.encode()))
    work = ok(await api.call("GET", f"/api/v1/works/{view['work_id']}", owner))
    assert work["type"] == "script"
    texts = await chapter_texts(api, owner, view["work_id"])
    assert any("INT. 咖啡馆 - 夜" in text for _, text in texts)


async def test_bad_files_are_refused(settings: Settings) -> None:
    small = settings.model_copy(update={"import_max_bytes": 1000})
    async with running_app(small) as app:
        api = Api(app)
        owner = await api.sign_up()
        files = {"file": ("book.pdf", b"%PDF-1.4", "application/pdf")}
        refused(await api.call("POST", "/api/v1/import", owner, files=files), 415, 41501)
        files = {"file": ("empty.txt", b"  \n", "text/plain")}
        refused(await api.call("POST", "/api/v1/import", owner, files=files), 400, 40022)
        files = {"file": ("big.txt", "字".encode() * 400, "text/plain")}
        refused(await api.call("POST", "/api/v1/import", owner, files=files), 413, 41301)
        files = {"file": ("x.txt", b"hello", "text/plain")}
        refused(await api.call("POST", "/api/v1/import", None, files=files), 401)

        broken = await upload(api, owner, "broken.docx", b"PK\x03\x04 not really a zip")
        view, _seen = await poll_task(api, owner, f"/api/v1/import/tasks/{broken}")
        assert view["status"] == "failed" and view["work_id"] is None
        assert "CorruptFile" in view["error"]
        failure = ok(await api.call("GET", "/api/v1/notifications", owner))["items"][0]
        assert (failure["kind"], failure["title"]) == ("import", "导入失败")
        assert failure["data"]["task_id"] == broken
        await api.close()


async def test_an_import_run_again_replaces_the_work_a_dead_attempt_left(api: Api) -> None:
    owner = await api.sign_up()
    adapters = api.app.adapters
    half = ok(
        await api.call("POST", "/api/v1/works", owner, json={"title": "半成品", "type": "novel"}),
        201,
    )
    task = await adapters.tasks.create(owner.id, "import", "txt", params={"filename": "a.txt"})
    await adapters.blobs.put(f"imports/{task.id}.upload", NOVEL.encode(), "text/plain")
    assert await adapters.tasks.start(task.id)  # an attempt created its work, then died
    await adapters.tasks.progress(task.id, 40, result={"work_id": half["work_id"]})
    await adapters.tasks.requeue(task.id, "interrupted")

    await adapters.runner.submit("import", task.id)
    view = await imported(api, owner, task.id)
    works = ok(await api.call("GET", "/api/v1/works", owner))  # the half-filled one is gone
    assert [(w["id"], w["title"]) for w in works["items"]] == [(view["work_id"], "长夜将尽")]
    assert half["title"] == "半成品"
