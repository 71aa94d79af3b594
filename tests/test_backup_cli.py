"""`inkweave backup --out FILE` and `inkweave restore FILE`, as a person runs them: from the
embedded default's data directory to another one, with a progress bar."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.storage.test_backup import FIELD_KEY, everything, fill, sqlite_stores

ROOT = Path(__file__).resolve().parents[1]


async def inkweave(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("INKWEAVE_")}
    env["INKWEAVE_LOG_LEVEL"] = "WARNING"
    env["INKWEAVE_FIELD_KEYS"] = f'["{FIELD_KEY}"]'  # the key `fill` encrypted with
    command = [sys.executable, "-m", "api", *args, "--data-dir", str(data_dir)]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


async def test_backup_and_restore_commands_move_the_embedded_default(tmp_path: Path) -> None:
    source, target, archive = tmp_path / "old", tmp_path / "new", tmp_path / "昨夜.zip"
    async with sqlite_stores(source) as stores:  # the files of the embedded default
        await fill(stores)
        expected = await everything(stores)

    done = await inkweave(source, "backup", "--out", str(archive))
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # the progress bar, at its end
    assert done.stdout.startswith(f"{archive}: ") and "2 documents" in done.stdout

    done = await inkweave(target, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restored ") and "2 AI calls, 2 blobs" in done.stdout
    async with sqlite_stores(target) as stores:
        assert await everything(stores) == expected

    done = await inkweave(target, "restore", str(archive))
    assert done.returncode == 1
    assert "inkweave restore: the target is not empty" in done.stderr


def test_native_backup_script_parses_and_reads_the_server_settings(tmp_path: Path) -> None:
    script = ROOT / "deploy" / "backup" / "native-backup.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    source = script.read_text()
    for name in ("INKWEAVE_DATABASE_URL", "INKWEAVE_MONGO_URL", "INKWEAVE_MONGO_DATABASE"):
        assert f"${{{name}" in source
    for tool in ("mysqldump", "--single-transaction", "--master-data=2", "mongodump", "--oplog"):
        assert tool in source
    assert 'RETENTION_DAYS="${RETENTION_DAYS:-30}"' in source
    # A URL that is not MySQL's is refused before anything is dumped.
    env = {"PATH": os.environ["PATH"], "BACKUP_DIR": str(tmp_path / "dumps")}
    env["INKWEAVE_DATABASE_URL"] = "sqlite+aiosqlite:///data/inkweave.sqlite3"
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0 and "is not MySQL/MariaDB" in done.stderr
    assert not (tmp_path / "dumps").exists()
