"""The production key-value store: Redis, shared by every node."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

# Decrement a live counter, never below zero and never creating one (a bare DECR of an expired
# key would leave a -1 without a TTL).
_RELEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisKeyValue:
    def __init__(self, url: str, *, prefix: str = "inkweave:") -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def hit(self, key: str, window_s: float) -> tuple[int, float]:
        (answer,) = await self.hit_many([(key, window_s)])
        return answer

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key, window_s in hits:
                name = self._key(key)
                pipe.incr(name)
                pipe.pexpire(name, int(window_s * 1000), nx=True)
                pipe.pttl(name)
            replies = await pipe.execute()
        counts, ttls_ms = replies[0::3], replies[2::3]
        return [
            (int(count), max(int(ttl), 0) / 1000)
            for count, ttl in zip(counts, ttls_ms, strict=True)
        ]

    async def release(self, key: str) -> None:
        await self._release(keys=[self._key(key)])

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        await self._redis.set(self._key(key), value, px=max(1, int(ttl_s * 1000)))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(self._key(key))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
