"""The production split on RabbitMQ: `inkweave serve` only queues, a separate `inkweave worker`
process (the real console script) runs the export, and the API hands out its file."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.settings import Settings
from tests.jobs.conftest import RABBITMQ_URL, SQLITE_ONLY
from tests.jobs.test_export_api import CHAPTERS, export, finished_export, novel
from tests.jobs.workers import WorkerProcess, settings_env, worker_argv
from tests.support.api import Api
from tests.support.inprocess import running_app


@SQLITE_ONLY  # one database file shared by both processes
async def test_inkweave_worker_on_rabbitmq_runs_an_export_queued_by_the_api(
    tmp_path: Path, settings: Settings, rabbitmq_queue: str, workers: list[WorkerProcess]
) -> None:
    shared = {
        "data_dir": settings.data_dir,
        "database_url": settings.resolved_database_url(),
        "docs_url": settings.resolved_docs_url(),
        "rabbitmq_url": RABBITMQ_URL,
        "jobs_queue": rabbitmq_queue,
    }
    on_rabbitmq = settings.model_copy(update=shared)
    async with running_app(on_rabbitmq) as app:
        jobs = app.app.state.jobs
        assert (jobs.kind, jobs.host) == ("rabbitmq", None)  # this process runs no jobs
        worker = WorkerProcess(worker_argv(), settings_env(shared), tmp_path / "worker.log")
        workers.append(worker)
        api = Api(app)
        try:
            owner = await api.sign_up()
            work_id = await novel(api, owner)
            worker.wait_started()
            view = await finished_export(api, owner, await export(api, owner, work_id, "txt"))
            assert view["attempts"] == 1
            async with httpx.AsyncClient() as http:
                download = await http.get(view["download_url"])
            assert download.status_code == 200
            text = download.content.decode()
            assert all(title in text and body.split("\n")[0] in text for title, body in CHAPTERS)
        finally:
            await api.close()
    worker.stop()
    assert worker.proc.returncode == 0, worker.log()  # SIGTERM is a clean stop
