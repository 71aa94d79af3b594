from __future__ import annotations

import pytest

from sync_server import presence as presence_module
from sync_server.presence import STALE_AFTER_S, Presence
from sync_server.protocol import AwarenessEntry


def entry(client: int, clock: int, name: str | None) -> AwarenessEntry:
    return AwarenessEntry(client, clock, "null" if name is None else f'{{"name":"{name}"}}')


def test_echoes_and_stale_entries_are_not_relayed() -> None:
    presence = Presence()
    assert presence.apply([entry(1, 1, "a")]).changed == [entry(1, 1, "a")]
    echo = presence.apply([entry(1, 1, "a")])
    assert echo.changed == [] and echo.renewed == []
    stale = presence.apply([entry(1, 0, "old")])
    assert stale.changed == [] and stale.renewed == []


def test_a_renewal_is_told_apart_from_a_change() -> None:
    presence = Presence()
    presence.apply([entry(1, 1, "a")])
    renewal = presence.apply([entry(1, 2, "a")])
    assert renewal.renewed == [entry(1, 2, "a")] and renewal.changed == []
    change = presence.apply([entry(1, 3, "b")])
    assert change.changed == [entry(1, 3, "b")] and change.renewed == []


def test_a_silent_departure_is_announced_with_a_newer_clock() -> None:
    presence = Presence()
    presence.apply([entry(1, 4, "a"), entry(2, 1, "b")])
    assert presence.remove({1}) == [entry(1, 5, None)]
    assert presence.snapshot() == [entry(2, 1, "b")]
    assert presence.remove({1}) == []


def test_a_goodbye_removes_the_client() -> None:
    presence = Presence()
    presence.apply([entry(1, 1, "a")])
    goodbye = presence.apply([entry(1, 2, None)])
    assert goodbye.changed == [entry(1, 2, None)]
    assert len(presence) == 0


def test_entries_nobody_renews_are_left_out_of_the_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    presence = Presence()
    now = [1000.0]
    monkeypatch.setattr(presence_module.time, "monotonic", lambda: now[0])
    presence.apply([entry(1, 1, "a"), entry(2, 1, "b")])
    now[0] += 20
    presence.apply([entry(2, 2, "b")])  # a renewal keeps 2 alive
    now[0] += STALE_AFTER_S - 10
    assert [e.client_id for e in presence.snapshot()] == [2]
    assert len(presence) == 1
