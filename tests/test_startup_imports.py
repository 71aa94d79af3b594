"""A bare `inkweave serve` loads only what it uses: no client library of an optional backend
(Redis, MongoDB, S3), no renderer of an export format, no SDK of a model provider, and no Alembic
when the schema is already at its newest migration or the database is empty. Each is loaded
where it is first needed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.sql.database import Database, alembic_config
from storage.sql.revision import head_revision

# What the embedded default never needs before its first request (and most requests never).
OPTIONAL = (
    "openai",  # model providers: only when INKWEAVE_AI_PROVIDERS names them
    "anthropic",
    "reportlab",  # PDF export
    "PIL",  # PDF export, avatar uploads
    "docx",  # Word export and import
    "boto3",  # S3 blobs
    "botocore",
    "pymongo",  # MongoDB documents and AI histories
    "bson",
    "redis",  # Redis bus, key-value store and broker
    "httpx",  # Stripe, OpenID Connect
    "authlib",  # OpenID Connect
    "numpy",  # the long-text review
    "joserfc",  # tokens: at the first sign-up, sign-in or authenticated call
    "cryptography",
    "alembic",  # migrations: only where the schema is behind
    "mako",
)


def _fresh_python(code: str, cwd: Path) -> list[str]:
    """Run `code` in a new interpreter with no INKWEAVE_* variable set; the JSON it prints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("INKWEAVE_")}
    repo = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,  # no developer's .env
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_app_loads_no_optional_library(tmp_path: Path) -> None:
    loaded = _fresh_python(
        f"""
        import json, sys
        from pathlib import Path

        import uvicorn  # what `inkweave serve` imports before it serves
        import api.cli
        from api.app import create_app
        from api.settings import Settings

        create_app(Settings(data_dir=Path({str(tmp_path / "data")!r})))
        packages = {{name.split(".")[0] for name in sys.modules}}
        print(json.dumps(sorted(packages & set({OPTIONAL!r}))))
        """,
        tmp_path,
    )
    assert loaded == []


def _alembic_loaded_by_migrate(url: str, cwd: Path) -> list[str]:
    """The Alembic modules a new interpreter loads to bring the database at `url` to head."""
    return _fresh_python(
        f"""
        import asyncio, json, sys
        from storage.sql.database import Database

        async def main():
            database = Database({url!r})
            try:
                await database.migrate()
            finally:
                await database.close()

        asyncio.run(main())
        print(json.dumps(sorted(name for name in sys.modules if name.startswith("alembic"))))
        """,
        cwd,
    )


async def test_a_schema_at_its_newest_migration_is_not_migrated_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    assert _alembic_loaded_by_migrate(url, tmp_path) == []


def test_an_empty_database_is_built_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    assert _alembic_loaded_by_migrate(url, tmp_path) == []
    assert asyncio.run(_recorded_versions(url)) == [head_revision()]


async def _recorded_versions(url: str) -> list[str]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return list(versions.scalars())
    finally:
        await database.close()


async def test_a_schema_behind_is_still_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    # One migration behind the newest (in a thread: the migration environment runs its own loop).
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0008")
    database = Database(url)
    try:
        await database.migrate()
        async with database.engine.connect() as connection:
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert list(versions.scalars()) == [head_revision()]
            columns = await connection.execute(text("SELECT token_generation FROM users"))
            assert list(columns) == []  # 0009's column exists
    finally:
        await database.close()


def test_the_newest_revision_is_the_one_alembic_names() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert [head_revision()] == script.get_heads()
