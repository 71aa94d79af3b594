"""The key-value store contract, on memory, on the local hub of `serve --workers` and on Redis.

Windows and TTLs: the memory store takes a `ManualClock`, so its boundaries are checked exactly
without waiting. Redis keeps its own clock: its expiry is checked with TTLs long enough never to
run out during the test (read back with PTTL) and with one short key awaited until it is gone.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage.hub.client import HubConnection, HubKeyValue
from storage.hub.server import LocalHub
from storage.kv.base import KeyValue
from storage.kv.memory import MemoryKeyValue
from storage.kv.redis import RedisKeyValue
from tests.support.clock import ManualClock
from tests.support.waiting import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
WINDOW_S = 60.0


@pytest.fixture(params=["memory", "hub", "redis"])
async def kv(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyValue]:
    hub = LocalHub(tmp_path / "hub.sock")
    if request.param == "memory":
        store: KeyValue = MemoryKeyValue(clock=ManualClock())
    elif request.param == "hub":
        await hub.start()
        store = HubKeyValue(HubConnection(hub.path))
    else:
        store = RedisKeyValue(REDIS_URL, prefix=f"test{secrets.token_hex(4)}:")
    yield store
    await store.close()
    await hub.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def memory(clock: ManualClock) -> AsyncIterator[MemoryKeyValue]:
    store = MemoryKeyValue(clock=clock)
    yield store
    await store.close()


@pytest.fixture
async def redis_kv() -> AsyncIterator[tuple[RedisKeyValue, aioredis.Redis, str]]:
    """The store, a raw client to read TTLs with, and the store's key prefix."""
    prefix = f"test{secrets.token_hex(4)}:"
    store, raw = RedisKeyValue(REDIS_URL, prefix=prefix), aioredis.from_url(REDIS_URL)
    yield store, raw, prefix
    await store.close()
    await raw.aclose()


# Both stores ----------------------------------------------------------------------------------


async def test_hits_count_within_a_window(kv: KeyValue) -> None:
    counts = [(await kv.hit("rl:user:1", WINDOW_S))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    _, left = await kv.hit("rl:user:1", WINDOW_S)
    assert 0 < left <= WINDOW_S
    assert await kv.get("rl:user:1") == "4"
    assert (await kv.hit("rl:user:2", WINDOW_S))[0] == 1


async def test_hit_many_counts_each_key_as_hit_would_in_order(kv: KeyValue) -> None:
    await kv.hit("rl:ip:127.0.0.1", WINDOW_S)
    answers = await kv.hit_many(
        [("rl:ip:127.0.0.1", WINDOW_S), ("rl:user:林", WINDOW_S), ("rl:ip:127.0.0.1", WINDOW_S)]
    )
    assert [count for count, _left in answers] == [2, 1, 3]
    assert all(0 < left <= WINDOW_S for _count, left in answers)
    assert await kv.get("rl:user:林") == "1"
    assert await kv.get("rl:ip:127.0.0.1") == "3"
    assert await kv.hit_many([]) == []


async def test_a_hit_never_lengthens_its_window(kv: KeyValue) -> None:
    _, first = await kv.hit("rl:burst", WINDOW_S)
    _, second = await kv.hit("rl:burst", WINDOW_S * 10)
    assert second <= first


async def test_a_value_is_there_until_its_ttl(kv: KeyValue) -> None:
    await kv.set("revoked:abc", "1", WINDOW_S)
    assert await kv.get("revoked:abc") == "1"
    assert await kv.get("revoked:other") is None


async def test_delete(kv: KeyValue) -> None:
    await kv.set("k", "v", 10)
    await kv.delete("k")
    assert await kv.get("k") is None
    await kv.delete("never-there")


async def test_concurrent_hits_are_all_counted(kv: KeyValue) -> None:
    results = await asyncio.gather(*(kv.hit("burst", 5) for _ in range(50)))
    assert sorted(count for count, _ in results) == list(range(1, 51))


async def test_a_released_hit_is_taken_back_within_its_window(kv: KeyValue) -> None:
    await kv.hit("login:ip", WINDOW_S)
    _, before = await kv.hit("login:ip", WINDOW_S)
    await kv.release("login:ip")
    assert await kv.get("login:ip") == "1"
    count, after = await kv.hit("login:ip", WINDOW_S)
    assert count == 2 and after <= before, "a release keeps the window's end"
    for _ in range(3):
        await kv.release("login:ip")
    assert await kv.get("login:ip") == "0", "never below zero"
    await kv.release("login:never-hit")
    assert await kv.get("login:never-hit") is None, "releasing creates no counter"


# Memory: exact boundaries on a hand-moved clock --------------------------------------------------


async def test_memory_window_is_fixed_from_its_first_hit_and_resets_when_it_ends(
    memory: MemoryKeyValue, clock: ManualClock
) -> None:
    assert await memory.hit("rl:user:1", WINDOW_S) == (1, WINDOW_S)
    clock.advance(30)
    assert await memory.hit("rl:user:1", WINDOW_S) == (2, 30)
    clock.advance(29.5)
    assert await memory.hit("rl:user:1", WINDOW_S) == (3, 0.5)
    clock.advance(0.5)
    assert await memory.get("rl:user:1") is None
    assert await memory.hit("rl:user:1", WINDOW_S) == (1, WINDOW_S)


async def test_memory_values_expire_at_their_ttl(
    memory: MemoryKeyValue, clock: ManualClock
) -> None:
    await memory.set("revoked:abc", "1", 30)
    clock.advance(29.9)
    assert await memory.get("revoked:abc") == "1"
    clock.advance(0.1)
    assert await memory.get("revoked:abc") is None


# Redis: its own clock -----------------------------------------------------------------------------


async def test_redis_sets_the_ttl_it_was_given(
    redis_kv: tuple[RedisKeyValue, aioredis.Redis, str],
) -> None:
    store, raw, prefix = redis_kv
    await store.set("revoked:abc", "1", WINDOW_S)
    await store.hit("rl:user:1", WINDOW_S)
    for key in ("revoked:abc", "rl:user:1"):
        assert 0 < await raw.pttl(prefix + key) <= WINDOW_S * 1000


async def test_redis_values_and_windows_expire(
    redis_kv: tuple[RedisKeyValue, aioredis.Redis, str],
) -> None:
    store, _raw, _prefix = redis_kv
    await store.set("revoked:abc", "1", 0.2)
    assert (await store.hit("rl:user:1", 0.2))[0] == 1

    async def gone() -> bool:
        return await store.get("revoked:abc") is None and await store.get("rl:user:1") is None

    await eventually(gone, what="both keys expired in Redis")
    assert (await store.hit("rl:user:1", WINDOW_S))[0] == 1  # a new window
