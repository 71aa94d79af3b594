"""Rooms whose documents other processes write too (the workers of `inkweave serve --workers N`
on one node, or nodes sharing Redis) look at the store before a server-side edit; a process
alone with its store does not (`RoomPolicy.shared_store`, tested in
`tests/sync_server/test_server_edits.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.adapters import build_adapters
from api.jobs_setup import build_job_system
from api.settings import Settings


@pytest.mark.parametrize(
    ("sharing", "shared"), [("alone", False), ("local hub", True), ("redis", True)]
)
def test_rooms_look_at_the_store_before_an_edit_where_other_processes_write_it(
    tmp_path: Path, sharing: str, shared: bool
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        local_hub=tmp_path / "hub.sock" if sharing == "local hub" else None,
        redis_url="redis://127.0.0.1:6379/0" if sharing == "redis" else None,
    )
    adapters = build_adapters(settings, runner=build_job_system(settings).runner)
    assert adapters.rooms.policy.shared_store is shared
