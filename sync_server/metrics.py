"""Prometheus metrics of the sync server, in a registry owned by one app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from storage.docs.base import Compaction

from .hooks import Relayed, RoomHooks

if TYPE_CHECKING:
    from .room import Room


class SyncMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.open_rooms = Gauge("inkweave_open_rooms", "Documents loaded in memory", registry=r)
        self.connections = Gauge("inkweave_connections", "Open sync connections", registry=r)
        self.updates_received = Counter(
            "inkweave_updates_received", "Document updates received from peers", registry=r
        )
        self.updates_relayed = Counter(
            "inkweave_updates_relayed", "Document update frames sent to peers", registry=r
        )
        self.awareness_relayed = Counter(
            "inkweave_awareness_relayed", "Awareness frames sent to peers", registry=r
        )
        self.append_seconds = Histogram(
            "inkweave_store_append_seconds",
            "Time from receiving an update to its durable append",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.append_batch_size = Histogram(
            "inkweave_store_append_batch_size",
            "Updates written per group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.compactions = Counter("inkweave_compactions", "Log compactions done", registry=r)
        self.closed_malformed = Counter(
            "inkweave_connections_closed_malformed",
            "Connections closed for a malformed frame",
            registry=r,
        )
        self.awareness_refused = Counter(
            "inkweave_awareness_refused",
            "Awareness entries dropped: their client id belongs to another connection",
            registry=r,
        )
        self.closed_slow = Counter(
            "inkweave_connections_closed_slow",
            "Connections closed because they could not keep up",
            registry=r,
        )


class RoomMetrics(RoomHooks):
    """The rooms' part of `SyncMetrics`, counted through the room hooks."""

    def __init__(self, metrics: SyncMetrics) -> None:
        self._metrics = metrics

    async def on_load(self, room: Room) -> None:
        self._metrics.open_rooms.inc()

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        self._metrics.updates_received.inc()
        self._metrics.append_seconds.observe(append_seconds)

    def on_relay(self, room: Room, kind: Relayed, frames: int) -> None:
        metrics = self._metrics
        relayed = metrics.updates_relayed if kind == "updates" else metrics.awareness_relayed
        relayed.inc(frames)

    def on_compacted(self, name: str, result: Compaction) -> None:
        self._metrics.compactions.inc()

    async def on_unload(self, room: Room) -> None:
        self._metrics.open_rooms.dec()
