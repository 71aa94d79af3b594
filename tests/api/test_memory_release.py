"""A serving process hands freed heap pages back to the system while it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import memory_release
from api.memory_release import memory_releaser
from api.settings import Settings
from tests.support.inprocess import running_app
from tests.support.waiting import eventually


def test_no_release_loop_at_zero() -> None:
    assert memory_releaser(0) is None


async def test_the_server_trims_its_heap_every_interval_until_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[bool] = []

    def release() -> bool:
        trims.append(True)
        return True

    monkeypatch.setattr(memory_release, "release_memory", release)
    settings = Settings(data_dir=tmp_path, auto_migrate=True, memory_release_s=0.01)
    async with running_app(settings):
        await eventually(lambda: len(trims) >= 3, what="three trims")
    stopped_at = len(trims)
    running = Settings(data_dir=tmp_path, auto_migrate=True, memory_release_s=0)
    async with running_app(running):  # another loop turn or two: the old loop is gone
        pass
    assert len(trims) == stopped_at
