"""The key-value store contract, on memory and on the local Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from storage.kv.base import KeyValue
from storage.kv.memory import MemoryKeyValue
from storage.kv.redis import RedisKeyValue


@pytest.fixture(params=["memory", "redis"])
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[KeyValue]:
    if request.param == "memory":
        store: KeyValue = MemoryKeyValue()
    else:
        store = RedisKeyValue("redis://127.0.0.1:6379/0", prefix=f"test{secrets.token_hex(4)}:")
    yield store
    await store.close()


async def test_hits_count_within_a_window_and_reset_after_it(kv: KeyValue) -> None:
    counts = [(await kv.hit("rl:user:1", 0.5))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    _, left = await kv.hit("rl:user:1", 0.5)
    assert 0 < left <= 0.5
    assert await kv.get("rl:user:1") == "4"
    assert (await kv.hit("rl:user:2", 0.5))[0] == 1
    await asyncio.sleep(0.6)
    assert (await kv.hit("rl:user:1", 0.5))[0] == 1


async def test_values_expire(kv: KeyValue) -> None:
    await kv.set("revoked:abc", "1", 0.3)
    assert await kv.get("revoked:abc") == "1"
    await asyncio.sleep(0.4)
    assert await kv.get("revoked:abc") is None


async def test_delete(kv: KeyValue) -> None:
    await kv.set("k", "v", 10)
    await kv.delete("k")
    assert await kv.get("k") is None
    await kv.delete("never-there")


async def test_concurrent_hits_are_all_counted(kv: KeyValue) -> None:
    results = await asyncio.gather(*(kv.hit("burst", 5) for _ in range(50)))
    assert sorted(count for count, _ in results) == list(range(1, 51))
