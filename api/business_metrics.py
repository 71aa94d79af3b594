"""What the service is used for, on `/metrics`: accounts, works, orders, exports, writers in live
documents now, and AI calls and tokens per provider.

Counts of rows (users, works, orders, exports) are read at scrape time with a few `COUNT`s and
reused for `metrics_counts_cache_s`: they are the whole database's, so every node reports the
same figure (read them with `max`, not `sum`). Writers are this node's sockets with write access
at scrape time (sum them over nodes). AI calls and tokens are counted by the process that makes
the call (the web node for in-process jobs, an `inkweave worker` otherwise) as each try ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.ai_histories.base import AiCall
from storage.sql.database import Database
from storage.sql.models import Order, Task, User, Work
from sync_server.rooms import RoomManager

log = logging.getLogger(__name__)

# A scrape waits this long at most for a read it started; a busy database (its pool taken, a slow
# server) never holds `/metrics` up: the scrape shows the last counts and the read goes on.
READ_WAIT_S = 1.0


@dataclass(slots=True)
class _Counts:
    users: int = 0
    works: dict[str, int] = field(default_factory=dict)  # per type
    orders: dict[str, int] = field(default_factory=dict)  # per status
    exports: dict[str, int] = field(default_factory=dict)  # per status
    read_at: float | None = None


class AiCallMetrics:
    """Counts every try of a model as the router reports it (`Router(observers=...)`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "inkweave_ai_calls",
            "Tries of a model, by provider and outcome (ok or error)",
            ["provider", "status"],
            registry=registry,
        )
        self.tokens = Counter(
            "inkweave_ai_tokens",
            "Tokens of model calls, by provider and direction (prompt or completion)",
            ["provider", "direction"],
            registry=registry,
        )
        self.seconds = Histogram(
            "inkweave_ai_call_seconds",
            "Duration of one try of a model, first byte to last",
            ["provider"],
            buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120),
            registry=registry,
        )

    def __call__(self, call: AiCall) -> None:
        self.calls.labels(call.provider, call.status).inc()
        self.tokens.labels(call.provider, "prompt").inc(call.prompt_tokens)
        self.tokens.labels(call.provider, "completion").inc(call.completion_tokens)
        self.seconds.labels(call.provider).observe(call.duration / 1000)


class BusinessMetrics(Collector):
    """The gauges read at scrape time; `refresh` (awaited by `/metrics` before it renders) reads
    the database when the last counts are older than `cache_s`, waiting `READ_WAIT_S` at most."""

    def __init__(
        self,
        registry: CollectorRegistry,
        database: Database,
        rooms: RoomManager,
        *,
        cache_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._rooms = rooms
        self._cache_s = cache_s
        self._clock = clock
        self._counts = _Counts()
        self._reading: asyncio.Task[None] | None = None
        registry.register(self)

    async def refresh(self) -> None:
        read_at = self._counts.read_at
        now = self._clock()
        if read_at is not None and now - read_at < self._cache_s:
            return
        if self._reading is None:
            self._reading = asyncio.create_task(self._read_into(now), name="business-metrics")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), READ_WAIT_S)

    async def _read_into(self, now: float) -> None:
        try:
            self._counts = await self._read(now)
        except Exception as exc:  # a scrape still shows the live figures; the last counts stay
            log.warning("could not count users, works, orders and exports: %s", exc)
        finally:
            self._reading = None

    async def _read(self, now: float) -> _Counts:
        async with self._database.session() as session:
            users = await session.scalar(select(func.count()).select_from(User))
            works = await session.execute(select(Work.type, func.count()).group_by(Work.type))
            orders = await session.execute(
                select(Order.status, func.count()).group_by(Order.status)
            )
            exports = await session.execute(
                select(Task.status, func.count()).where(Task.kind == "export").group_by(Task.status)
            )
            return _Counts(
                users=users or 0,
                works={kind: count for kind, count in works.all()},
                orders={status: count for status, count in orders.all()},
                exports={status: count for status, count in exports.all()},
                read_at=now,
            )

    def active_writers(self) -> int:
        return sum(
            1
            for room in list(self._rooms.rooms.values())
            for conn in list(room.connections)
            if conn.can_write
        )

    def describe(self) -> Iterator[Metric]:
        return iter(self._families(_Counts(), 0))

    def collect(self) -> Iterator[Metric]:
        return iter(self._families(self._counts, self.active_writers()))

    @staticmethod
    def _families(counts: _Counts, writers: int) -> list[Metric]:
        users = GaugeMetricFamily("inkweave_users", "Accounts (every node reports all)")
        users.add_metric([], counts.users)
        works = GaugeMetricFamily("inkweave_works", "Works, by type", labels=["type"])
        for kind, count in sorted(counts.works.items()):
            works.add_metric([kind], count)
        orders = GaugeMetricFamily("inkweave_orders", "Orders, by status", labels=["status"])
        for status, count in sorted(counts.orders.items()):
            orders.add_metric([status], count)
        exports = GaugeMetricFamily(
            "inkweave_exports", "Export tasks, by status", labels=["status"]
        )
        for status, count in sorted(counts.exports.items()):
            exports.add_metric([status], count)
        active = GaugeMetricFamily(
            "inkweave_active_writers", "Sync sockets with write access open on this node"
        )
        active.add_metric([], writers)
        return [users, works, orders, exports, active]
