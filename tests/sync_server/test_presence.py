from __future__ import annotations

from sync_server.presence import STALE_AFTER_S, Presence
from sync_server.protocol import AwarenessEntry
from tests.support.clock import ManualClock


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


def test_entries_nobody_renews_are_left_out_of_the_snapshot() -> None:
    clock = ManualClock()
    presence = Presence(clock=clock)
    presence.apply([entry(1, 1, "a"), entry(2, 1, "b")])
    clock.advance(20)
    presence.apply([entry(2, 2, "b")])  # a renewal keeps 2 alive
    clock.advance(STALE_AFTER_S - 20)
    assert [e.client_id for e in presence.snapshot()] == [1, 2], "not stale yet: exactly 35 s"
    clock.advance(0.001)
    assert [e.client_id for e in presence.snapshot()] == [2]


def test_expiry_announces_the_departure_of_clients_nobody_renewed() -> None:
    clock = ManualClock()
    presence = Presence(clock=clock)
    presence.apply([entry(1, 4, "a"), entry(2, 1, "b")])
    assert presence.next_expiry() == clock.now + STALE_AFTER_S
    clock.advance(STALE_AFTER_S)
    assert presence.expire() == [], "an entry is stale only past the window"
    presence.apply([entry(2, 2, "b")])
    renewed_at = clock.now
    clock.advance(0.001)
    assert presence.expire() == [entry(1, 5, None)], "a newer clock, so clients apply it"
    assert len(presence) == 1
    assert presence.expire() == []
    assert presence.next_expiry() == renewed_at + STALE_AFTER_S


def test_an_expired_client_that_comes_back_is_present_again() -> None:
    clock = ManualClock()
    presence = Presence(clock=clock)
    presence.apply([entry(1, 1, "a")])
    clock.advance(STALE_AFTER_S + 1)
    presence.expire()
    # y-protocols clients answer their own removal by announcing themselves with a newer clock.
    assert presence.apply([entry(1, 3, "a")]).changed == [entry(1, 3, "a")]
    assert presence.snapshot() == [entry(1, 3, "a")]


def test_an_empty_presence_has_nothing_to_expire() -> None:
    assert Presence(clock=ManualClock()).next_expiry() is None
