"""`inkweave export WORK_ID --format ...`: the export runs in the CLI process against the
configured database and document store, shows a progress bar, and writes the file."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import docx

from api.settings import Settings
from tests.api.test_works import make_chapter, make_work, ok, save
from tests.support.api import Api
from tests.support.inprocess import running_app

ROOT = Path(__file__).resolve().parents[2]


async def _inkweave(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INKWEAVE_DATABASE_URL": settings.resolved_database_url(),
        "INKWEAVE_DOCS_URL": settings.resolved_docs_url(),
        "INKWEAVE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "api", *args, "--data-dir", str(settings.data_dir)]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


async def test_cli_export_writes_the_file_with_a_progress_bar(
    settings: Settings, tmp_path: Path
) -> None:
    async with running_app(settings) as app:
        api = Api(app)
        owner = await api.sign_up()
        work_id = (await make_work(api, owner, title="长夜将尽"))["work_id"]
        for title, text in (("第一章 风起", "他推开门。"), ("第二章 云涌", "她说：“你来了。”")):
            chapter = await make_chapter(api, owner, work_id, title)
            ok(await save(api, owner, work_id, chapter["id"], text))
        await api.close()

    out = tmp_path / "导出.txt"
    done = await _inkweave(settings, "export", str(work_id), "--format", "txt", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert "长夜将尽 → txt 100%" in done.stderr  # the bar, at its end
    text = out.read_text(encoding="utf-8")
    assert "第一章 风起" in text and "他推开门。" in text and "她说：“你来了。”" in text

    folder = tmp_path / "books"
    folder.mkdir()
    done = await _inkweave(
        settings, "export", str(work_id), "--format", "word", "--out", str(folder), "--no-cover"
    )
    assert done.returncode == 0, done.stderr
    written = folder / "长夜将尽.docx"
    assert done.stdout.strip() == str(written)
    document = docx.Document(io.BytesIO(written.read_bytes()))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["第一章 风起", "第二章 云涌"]

    refused = await _inkweave(settings, "export", str(work_id), "--format", "fountain")
    assert refused.returncode != 0 and "fountain is for scripts" in refused.stderr
    missing = await _inkweave(settings, "export", "999999", "--format", "txt")
    assert missing.returncode != 0 and "no work 999999" in missing.stderr
