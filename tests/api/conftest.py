from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.settings import Settings
from tests.support.api import Api, running_api
from tests.support.mariadb import mariadb_database

DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}"
    else:
        async with mariadb_database() as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        auto_migrate=True,
        docs_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}",
        room_unload_grace_s=0.5,
        projection_debounce_s=0.05,
        membership_recheck_s=0.3,
    )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with running_api(settings) as client:
        yield client
