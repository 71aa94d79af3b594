"""Values of relational rows and AI calls as JSON, with their Python types kept.

JSON's own scalars (str, int, float, bool, null) are written as they are; every other value is an
object `{"$t": kind, "v": ...}`, JSON columns' dicts and lists included, so a stored dict is never
mistaken for a tagged value.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
_LENGTH = struct.Struct(">I")


def encode(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        # IntEnum and StrEnum members are written as their plain value.
        return value if type(value) in _SCALARS else _plain(value)
    if isinstance(value, datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {"$t": "time", "v": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$t": "decimal", "v": str(value)}
    if isinstance(value, dict | list):
        return {"$t": "json", "v": value}
    raise TypeError(f"cannot archive a {type(value).__name__}")


def _plain(value: Any) -> Any:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kind, raw = value["$t"], value["v"]
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "time":
        return time.fromisoformat(raw)
    if kind == "bytes":
        return base64.b64decode(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "json":
        return raw
    raise ValueError(f"unknown archived value kind {kind!r}")


def record_line(record: dict[str, Any]) -> bytes:
    """One JSON line; CJK text is kept as UTF-8, not escaped."""
    encoded = {name: encode(value) for name, value in record.items()}
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def read_record(line: bytes) -> dict[str, Any]:
    return {name: decode(value) for name, value in json.loads(line).items()}


def frames(updates: Iterable[bytes]) -> bytes:
    """CRDT updates one after the other, each behind its length (4 bytes, big-endian)."""
    return b"".join(_LENGTH.pack(len(update)) + update for update in updates)


def unframe(data: bytes) -> Iterator[bytes]:
    at = 0
    while at < len(data):
        (size,) = _LENGTH.unpack_from(data, at)
        at += _LENGTH.size
        if at + size > len(data):
            raise ValueError("truncated update log")
        yield data[at : at + size]
        at += size
