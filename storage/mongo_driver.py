"""What the MongoDB stores (documents, AI histories) share of the driver: the timeouts a client
is built with, and "no server answered" as the stores' `StoreUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import ConnectionFailure

from .docs.base import StoreUnavailable
from .sql.engine import DriverTimeouts


def client_timeouts(timeouts: DriverTimeouts | None) -> dict[str, int]:
    """`AsyncMongoClient` options: a server must be found and connect within `connect_s`, and
    answer within `read_s`."""
    if timeouts is None:
        return {}
    connect_ms, read_ms = round(timeouts.connect_s * 1000), round(timeouts.read_s * 1000)
    return {
        "serverSelectionTimeoutMS": connect_ms,
        "connectTimeoutMS": connect_ms,
        "socketTimeoutMS": read_ms,
    }


@contextmanager
def reachable(unavailable: type[StoreUnavailable], what: str) -> Iterator[None]:
    """No server answered in time (down, stopped, cut off), raised as `unavailable` with `what`
    and the first line of pymongo's message (the rest describes the whole topology)."""
    try:
        yield
    except ConnectionFailure as exc:
        first_line = str(exc).split(", Timeout:")[0].splitlines()[0][:200]
        raise unavailable(f"{what} unreachable: {first_line}") from exc
