"""A long work's review reads chapter by chapter and writes its progress a percent at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_agents.agents.review import READING_SHARE, review_work
from api.settings import Settings
from tests.api.test_works import make_chapter, make_work
from tests.support.api import Api, running_api

CHAPTERS = 120


class GeneratedDocuments:
    """Stands in for the chapters' CRDT documents (the store is not this test's subject): each
    content id reads as a short chapter naming one character."""

    async def read(self, doc: str) -> tuple[str, dict[str, Any]]:
        return f"林小雨推开门。林小雨笑了。章节 {doc} 的正文。", {}


class RecordedTasks:
    """The app's task store, with every progress write recorded."""

    def __init__(self, tasks: Any) -> None:
        self.tasks = tasks
        self.written: list[int] = []

    async def progress(self, task_id: str, percent: int, **fields: Any) -> None:
        self.written.append(percent)
        await self.tasks.progress(task_id, percent, **fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tasks, name)


async def test_reading_a_long_work_writes_progress_once_per_percent(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        auto_migrate=True,
        rate_limit_user_per_min=100_000,  # a work of many chapters is made quickly
        log_level="WARNING",
    )
    async with running_api(settings) as api:
        await _review_a_long_work(api)


async def _review_a_long_work(api: Api) -> None:
    owner = await api.sign_up()
    work_id = (await make_work(api, owner))["id"]
    for number in range(CHAPTERS):
        await make_chapter(api, owner, work_id, f"第{number + 1}章")
    adapters = api.app.adapters
    task = await adapters.tasks.create(owner.id, "ai", "review", work_id=work_id)
    assert await adapters.tasks.start(task.id)
    recorded = RecordedTasks(adapters.tasks)

    outcome = await review_work(
        task,
        database=adapters.database,
        documents=GeneratedDocuments(),
        tasks=recorded,
        in_processes_from_chars=0,  # the child processes, as for a long work
    )

    assert outcome.result["chapters"] == CHAPTERS
    assert recorded.written == list(range(1, READING_SHARE + 1))  # not one write per chapter
    stored = await adapters.tasks.get(task.id)
    assert stored is not None and stored.progress == READING_SHARE
