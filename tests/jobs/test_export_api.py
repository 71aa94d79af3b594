"""Exports over HTTP on the embedded default: ask, watch progress, get notified, download through
a signed link (tampered and expired links refused), quotas; and with S3 (moto), a signed link
that redirects to a presigned URL."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
import time_machine
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from api.services.exports import EXPORT
from api.settings import Settings
from jobs.exports import ExportChapter, ExportWork, render
from jobs.exports import job as export_job
from jobs.exports.child import write_in_child
from jobs.exports.job import ExportJob
from jobs.schedule import prune_exports
from jobs.system import JobSystem
from jobs.tasks import TaskStore
from storage.docs.base import DocStore, StoredDoc
from storage.sql.models import Chapter
from tests.api.test_works import make_chapter, make_work, ok, refused, save, share
from tests.jobs.conftest import SQLITE_ONLY
from tests.jobs.helpers import disposition_filename, notification_socket, poll_task
from tests.support.api import Account, Api, running_api
from tests.support.inprocess import running_app
from tests.support.server import free_port

CHAPTERS = [
    ("第一章 风起", "他推开门，夜色很深。\n\n远处传来钟声。"),
    ("第二章 云涌", "“你来了。”她说。\n他没有回答。"),
    ("第三章 归来", "天亮了。"),
]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with running_api(settings) as client:
        yield client


async def novel(api: Api, owner: Account, chapters: list[tuple[str, str]] = CHAPTERS) -> int:
    work_id = (await make_work(api, owner, title="长夜将尽"))["work_id"]
    for title, text in chapters:
        chapter = await make_chapter(api, owner, work_id, title)
        ok(await save(api, owner, work_id, chapter["id"], text))
    return work_id


async def export(api: Api, account: Account, work_id: int, fmt: str, **extra: Any) -> str:
    body = {"work_id": work_id, "format": fmt, **extra}
    queued = ok(await api.call("POST", "/api/v1/export", account, json=body), 202)
    assert queued["status"] == "queued"
    return queued["task_id"]


async def finished_export(api: Api, account: Account, task_id: str) -> dict[str, Any]:
    view, seen = await poll_task(api, account, f"/api/v1/export/tasks/{task_id}")
    assert view["status"] == "completed", view
    assert seen == sorted(seen) and view["progress"] == 100
    return view


async def test_export_end_to_end_with_live_text_and_a_notification(
    tmp_path: Path, settings: Settings
) -> None:
    # The SQL projection waits an hour: what gets exported can only come from the CRDT documents.
    slow_projection = settings.model_copy(update={"projection_debounce_s": 3600.0})
    async with running_app(slow_projection) as app:
        api = Api(app)
        owner = await api.sign_up("黛玉")
        work_id = await novel(api, owner)
        async with notification_socket(api, owner) as inbox:
            task_id = await export(api, owner, work_id, "txt")
            pushed = await inbox.notification(task_id=task_id)
        assert pushed["notification"]["kind"] == "export"
        assert pushed["notification"]["title"] == "《长夜将尽》导出完成"
        assert pushed["unread"] == 1

        view = await finished_export(api, owner, task_id)
        assert (view["format"], view["filename"]) == ("txt", "长夜将尽.txt")
        async with httpx.AsyncClient() as http:
            download = await http.get(view["download_url"])
        assert download.status_code == 200
        text = download.content.decode("utf-8")
        for title, body in CHAPTERS:
            assert title in text
            for paragraph in body.split("\n"):
                assert paragraph.strip() in text
        assert text.index("第一章 风起") < text.index("第二章 云涌") < text.index("第三章 归来")
        assert disposition_filename(download.headers["content-disposition"]) == "长夜将尽.txt"
        assert download.headers["content-type"].startswith("text/plain")
        assert len(download.content) == view["size"]

        task = await TaskStore(app.adapters.database).get(task_id)
        assert task is not None
        stored, _type = await app.adapters.blobs.get(task.result["blob_key"])
        assert stored == download.content
        listed = ok(await api.call("GET", "/api/v1/notifications", owner))
        assert [item["data"]["task_id"] for item in listed["items"]] == [task_id]
        await api.close()


@SQLITE_ONLY  # the file or the store is the subject; SQL is covered above
async def test_word_export_has_headings_and_the_chosen_chapters_only(api: Api) -> None:
    owner = await api.sign_up()
    work_id = await novel(api, owner)
    listed = ok(await api.call("GET", f"/api/v1/works/{work_id}/chapters", owner))
    chapters = listed["items"]  # a page of the table of contents
    chosen = [chapters[2]["id"], chapters[0]["id"]]
    task_id = await export(
        api,
        owner,
        work_id,
        "word",
        options={"include_cover": False, "font_size": 14},
        chapter_ids=chosen,
    )
    view = await finished_export(api, owner, task_id)
    assert view["filename"] == "长夜将尽.docx"
    async with httpx.AsyncClient() as http:
        data = (await http.get(view["download_url"])).content
    document = docx.Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["第一章 风起", "第三章 归来"]
    body = "\n".join(p.text for p in document.paragraphs)
    assert "天亮了。" in body and "她说" not in body


@SQLITE_ONLY  # the file or the store is the subject; SQL is covered above
async def test_progress_only_rises(settings: Settings) -> None:
    written: list[int] = []

    class RecordingTaskStore(TaskStore):  # the real store, remembering what it was told
        async def progress(self, task_id: str, percent: int, **fields: Any) -> None:
            written.append(percent)
            await super().progress(task_id, percent, **fields)

    # The app only queues; its job system runs the export job here, with the recording store.
    async with running_api(settings.model_copy(update={"jobs_in_process": False})) as api:
        adapters = api.app.adapters
        jobs: JobSystem = api.app.app.state.jobs
        recording = RecordingTaskStore(adapters.database)
        handlers = {EXPORT: ExportJob(adapters.database, adapters.store, recording, adapters.blobs)}
        await jobs.start(adapters.database, run_jobs=True, handlers=handlers)  # the app stops it
        owner = await api.sign_up()
        many = [
            (f"第{n}章", "风从北方来。" * 200 + "\n" + "雪落无声。" * 200) for n in range(1, 41)
        ]
        work_id = await novel(api, owner, many)
        task_id = await export(api, owner, work_id, "pdf")
        view = await finished_export(api, owner, task_id)
    assert view["size"] > 0
    assert len(written) >= 2
    assert written == sorted(set(written)), written  # strictly rising
    assert written[0] > 0 and written[-1] < 100


class RecordingStore:
    """The real document store, remembering which documents were loaded, in order."""

    def __init__(self, store: DocStore) -> None:
        self.store = store
        self.loaded: list[str] = []

    async def load(self, doc: str) -> StoredDoc:
        self.loaded.append(doc)
        return await self.store.load(doc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@SQLITE_ONLY  # the file or the store is the subject; SQL is covered above
async def test_a_long_works_word_file_renders_in_a_child_process_reading_each_chapter_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_child: list[str] = []

    def spied(fmt: str, *args: Any) -> None:
        in_child.append(fmt)
        write_in_child(fmt, *args)

    monkeypatch.setattr(export_job, "write_in_child", spied)
    async with running_api(settings.model_copy(update={"jobs_in_process": False})) as api:
        adapters = api.app.adapters
        system: JobSystem = api.app.app.state.jobs
        store = RecordingStore(adapters.store)
        tasks = TaskStore(adapters.database)
        # Every work counts as long here: a Word or PDF export runs in a child process.
        job = ExportJob(adapters.database, store, tasks, adapters.blobs, in_child_from_chars=0)
        await system.start(adapters.database, run_jobs=True, handlers={EXPORT: job})
        owner = await api.sign_up()
        work_id = await novel(api, owner)
        async with adapters.database.session() as session:
            documents = list(
                await session.scalars(
                    select(Chapter.content_id)
                    .where(Chapter.work_id == work_id)
                    .order_by(Chapter.sort_order)
                )
            )
        whole = ExportWork(
            "长夜将尽", owner.username, "novel", None, None, [ExportChapter(*c) for c in CHAPTERS]
        )
        files = {}
        for fmt in ("txt", "word"):
            store.loaded.clear()
            view = await finished_export(api, owner, await export(api, owner, work_id, fmt))
            assert store.loaded == documents, fmt  # each chapter once, in reading order
            async with httpx.AsyncClient() as http:
                files[fmt] = (await http.get(view["download_url"])).content
    assert in_child == ["word"]  # a text file is written as it goes: it holds no document
    assert files["txt"] == render("txt", whole)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(files["word"])).paragraphs]
    expected = docx.Document(io.BytesIO(render("word", whole))).paragraphs
    assert paragraphs == [p.text for p in expected]


async def test_signed_links_refuse_tampering_and_expiry(api: Api) -> None:
    owner = await api.sign_up()
    work_id = await novel(api, owner)
    task_id = await export(api, owner, work_id, "txt")
    await finished_export(api, owner, task_id)
    ttl = api.app.adapters.settings.download_link_ttl_s
    # Wall-clock time stands still from here on but for `shift`: the link is made at `start`.
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        view = ok(await api.call("GET", f"/api/v1/export/tasks/{task_id}", owner))
        expires = datetime.fromtimestamp(int(start) + ttl, UTC)  # links live whole seconds
        assert view["expire_at"] == expires.isoformat().replace("+00:00", "Z")
        url = httpx.URL(view["download_url"])
        token = url.path.rsplit("/", 1)[1]
        payload, signature = token.split(".")
        base = str(url).removesuffix(token)

        forged_payload = base64.urlsafe_b64decode(payload + "==").replace(
            b'"e":',
            b'"e":9',  # a later expiry
        )
        forged = base64.urlsafe_b64encode(forged_payload).rstrip(b"=").decode()
        other_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
        async with httpx.AsyncClient() as http:
            good = await http.get(str(url))
            assert good.status_code == 200
            for bad in (f"{forged}.{signature}", f"{payload}.{other_signature}", "not-a-link"):
                refused(await http.get(base + bad), 403, 40321)
            clock.shift(ttl - 1)
            assert (await http.get(str(url))).content == good.content  # its last second
            clock.shift(1)
            expired = refused(await http.get(str(url)), 410, 41001)
            assert "expired" in expired["error"]
            fresh = ok(await api.call("GET", f"/api/v1/export/tasks/{task_id}", owner))
            assert fresh["download_url"] != view["download_url"]
            assert (await http.get(fresh["download_url"])).content == good.content


async def test_refusals(settings: Settings) -> None:
    limited = settings.model_copy(update={"quotas": {"free": {"exports_per_day": 2}}})
    async with running_app(limited) as app:
        api = Api(app)
        owner, viewer, stranger = await api.sign_up(), await api.sign_up(), await api.sign_up()
        work_id = await novel(api, owner)
        await share(api, owner, work_id, viewer, "viewer")
        body = {"work_id": work_id, "format": "fountain"}
        refused(await api.call("POST", "/api/v1/export", owner, json=body), 400, 40021)
        body = {"work_id": work_id, "format": "txt"}
        refused(await api.call("POST", "/api/v1/export", stranger, json=body), 404)
        elsewhere = await make_chapter(api, stranger, (await make_work(api, stranger))["work_id"])
        body = {"work_id": work_id, "format": "txt", "chapter_ids": [elsewhere["id"]]}
        refused(await api.call("POST", "/api/v1/export", owner, json=body), 404)
        body = {"work_id": work_id, "format": "epub"}
        refused(await api.call("POST", "/api/v1/export", owner, json=body), 422)
        refused(await api.call("POST", "/api/v1/export", None, json=body), 401)

        first = await export(api, owner, work_id, "txt")
        await export(api, owner, work_id, "txt")
        body = {"work_id": work_id, "format": "txt"}
        refused(await api.call("POST", "/api/v1/export", owner, json=body), 403, 40303)
        await export(api, viewer, work_id, "txt")  # a viewer may export; the quota is per user
        refused(await api.call("GET", f"/api/v1/export/tasks/{first}", viewer), 404)
        refused(await api.call("GET", f"/api/v1/import/tasks/{first}", owner), 404)
        refused(await api.call("GET", "/api/v1/export/tasks/nope", owner), 404)
        await api.close()


@SQLITE_ONLY  # the file or the store is the subject; SQL is covered above
async def test_a_script_exports_to_fountain(api: Api) -> None:
    owner = await api.sign_up()
    work_id = (await make_work(api, owner, title="雨夜", type="script"))["work_id"]
    chapter = await make_chapter(api, owner, work_id, "第一场")
    scene = "INT. 咖啡馆 - 夜\n\n林默坐在窗边。\n\n林默\n(低声)\n你终于来了。\n\nCUT TO:"
    ok(await save(api, owner, work_id, chapter["id"], scene))
    view = await finished_export(api, owner, await export(api, owner, work_id, "fountain"))
    assert view["filename"] == "雨夜.fountain"
    async with httpx.AsyncClient() as http:
        text = (await http.get(view["download_url"])).content.decode()
    assert text.startswith("Title:") and "雨夜" in text.split("\n\n")[0]
    for line in ("INT. 咖啡馆 - 夜", "林默", "(低声)", "你终于来了。", "CUT TO:"):
        assert line in text


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@SQLITE_ONLY  # the file or the store is the subject; SQL is covered above
async def test_with_s3_the_link_redirects_to_a_presigned_url(
    settings: Settings, s3_endpoint: str
) -> None:
    with_s3 = settings.model_copy(
        update={
            "s3_bucket": "inkweave-exports",
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": "test",
            "s3_secret_access_key": "test",
            "s3_create_bucket": True,
        }
    )
    async with running_app(with_s3) as app:
        api = Api(app)
        owner = await api.sign_up()
        work_id = await novel(api, owner)
        view = await finished_export(api, owner, await export(api, owner, work_id, "txt"))
        async with httpx.AsyncClient() as http:
            # Our link first, so that membership is checked; then the store, briefly.
            checked = await http.get(view["download_url"])
            assert checked.status_code == 307, checked.text
            store_url = checked.headers["location"]
            assert store_url.startswith(f"{s3_endpoint}/inkweave-exports/exports/")
            assert "X-Amz-Signature=" in store_url
            download = await http.get(store_url)
        assert download.status_code == 200
        assert "第二章 云涌" in download.content.decode()
        assert disposition_filename(download.headers["content-disposition"]) == "长夜将尽.txt"
        await api.close()


async def test_tasks_left_unfinished_run_after_a_restart(settings: Settings) -> None:
    # The in-process broker keeps messages in memory; the tasks table is what survives.
    async with running_app(settings) as app:
        api = Api(app)
        owner = await api.sign_up()
        work_id = await novel(api, owner)
        tasks = app.adapters.tasks
        params = {"format": "txt", "options": {}, "chapter_ids": None}
        never_sent = await tasks.create(owner.id, "export", "txt", work_id=work_id, params=params)
        cut_short = await tasks.create(owner.id, "export", "txt", work_id=work_id, params=params)
        assert await tasks.start(cut_short.id)  # the process died while running it
        await api.close()
    async with running_app(settings) as app:
        api = Api(app)
        for task in (never_sent, cut_short):
            view = await finished_export(api, owner, task.id)
            assert view["filename"] == "长夜将尽.txt"
        assert [view["attempts"] for view in [
            ok(await api.call("GET", f"/api/v1/export/tasks/{t.id}", owner))
            for t in (never_sent, cut_short)
        ]] == [1, 2]  # fmt: skip
        await api.close()


async def test_old_export_files_are_removed_and_their_tasks_say_so(api: Api) -> None:
    owner = await api.sign_up()
    work_id = await novel(api, owner)
    view = await finished_export(api, owner, await export(api, owner, work_id, "txt"))
    async with httpx.AsyncClient() as http:
        assert (await http.get(view["download_url"])).status_code == 200
        adapters = api.app.adapters
        retention_s = adapters.settings.export_retention_s
        prune = partial(
            prune_exports, adapters.database, adapters.blobs, adapters.tasks, retention_s
        )
        assert await prune() == "removed 0 old export files"  # still fresh
        later = datetime.now(UTC) + timedelta(seconds=retention_s + 60)
        assert await prune(now=later) == "removed 1 old export files"
        assert await prune(now=later) == "removed 0 old export files"
        gone = await http.get(view["download_url"])  # a link given out before: the file is gone
        assert gone.status_code == 404, gone.text
    again = ok(await api.call("GET", f"/api/v1/export/tasks/{view['task_id']}", owner))
    assert again["download_url"] is None and "export again" in again["error"]
