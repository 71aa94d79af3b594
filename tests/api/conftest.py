from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.settings import Settings
from tests.support.api import Api, running_api
from tests.support.cluster import Cluster, NodeApi


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


# The two-node modules define a module-scoped `cluster`; these clients talk to one node each.
@pytest.fixture
async def on_a(cluster: Cluster) -> AsyncIterator[NodeApi]:
    api = NodeApi(cluster.a)
    yield api
    await api.close()


@pytest.fixture
async def on_b(cluster: Cluster) -> AsyncIterator[NodeApi]:
    api = NodeApi(cluster.b)
    yield api
    await api.close()
