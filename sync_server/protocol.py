"""The y-websocket wire format as pure functions over bytes.

One WebSocket frame carries one message:

    sync:       [0, 0, varbytes state_vector]   step 1
                [0, 1, varbytes update]         step 2
                [0, 2, varbytes update]         update
    awareness:  [1, varbytes awareness_update]
    auth:       [2, 0, varstring reason]        permission denied (server -> client)
    query:      [3]                             query awareness

Parsing is strict: anything truncated, unknown or followed by trailing bytes raises
`ProtocolError`, so a malformed frame is refused rather than half-applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MSG_SYNC = 0
MSG_AWARENESS = 1
MSG_AUTH = 2
MSG_QUERY_AWARENESS = 3

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2

AUTH_PERMISSION_DENIED = 0

_MAX_VARUINT_BYTES = 10  # 64-bit values; longer is malformed


class ProtocolError(ValueError):
    """A frame that does not follow the y-websocket protocol."""


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | QueryAwareness


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state_json: str  # "null" (or empty) means the client left

    @property
    def removed(self) -> bool:
        return self.state_json in ("", "null")


class Reader:
    """Bounds-checked cursor over a byte string (lib0 decoding)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise ProtocolError("truncated message")
        self._pos += 1
        return self._data[self._pos - 1]

    def skip(self, count: int) -> None:
        if count > self.remaining:
            raise ProtocolError(f"{count} bytes expected, {self.remaining} left")
        self._pos += count

    def var_uint(self) -> int:
        value = 0
        shift = 0
        for _ in range(_MAX_VARUINT_BYTES):
            if self._pos >= len(self._data):
                raise ProtocolError("truncated varint")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise ProtocolError("varint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        if length > self.remaining:
            raise ProtocolError(f"length {length} exceeds the {self.remaining} bytes left")
        start = self._pos
        self._pos += length
        return self._data[start : self._pos]

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    def end(self) -> None:
        if self.remaining:
            raise ProtocolError(f"{self.remaining} trailing bytes")


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


def var_string(text: str) -> bytes:
    return var_bytes(text.encode("utf-8"))


def parse_message(frame: bytes) -> Message:
    reader = Reader(frame)
    kind = reader.var_uint()
    message: Message
    if kind == MSG_SYNC:
        sync_kind = reader.var_uint()
        payload = reader.var_bytes()
        if sync_kind == SYNC_STEP1:
            message = SyncStep1(payload)
        elif sync_kind == SYNC_STEP2:
            message = SyncStep2(payload)
        elif sync_kind == SYNC_UPDATE:
            message = SyncUpdate(payload)
        else:
            raise ProtocolError(f"unknown sync message type {sync_kind}")
    elif kind == MSG_AWARENESS:
        message = AwarenessMessage(reader.var_bytes())
    elif kind == MSG_QUERY_AWARENESS:
        message = QueryAwareness()
    else:
        raise ProtocolError(f"unknown message type {kind}")
    reader.end()
    return message


def parse_awareness(payload: bytes) -> list[AwarenessEntry]:
    reader = Reader(payload)
    count = reader.var_uint()
    if count > reader.remaining:  # every entry takes at least 3 bytes
        raise ProtocolError(f"awareness claims {count} entries in {reader.remaining} bytes")
    entries = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        state_json = reader.var_string()
        if state_json not in ("", "null"):
            try:
                state = json.loads(state_json)
            except ValueError as exc:
                raise ProtocolError("awareness state is not JSON") from exc
            if not isinstance(state, dict):
                raise ProtocolError("awareness state is not a JSON object")
        entries.append(AwarenessEntry(client_id, clock, state_json))
    reader.end()
    return entries


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    body = bytearray(var_uint(len(entries)))
    for entry in entries:
        body += var_uint(entry.client_id)
        body += var_uint(entry.clock)
        body += var_string(entry.state_json)
    return bytes(body)


def sync_step1(state_vector: bytes) -> bytes:
    return bytes((MSG_SYNC, SYNC_STEP1)) + var_bytes(state_vector)


def sync_step2(update: bytes) -> bytes:
    return bytes((MSG_SYNC, SYNC_STEP2)) + var_bytes(update)


def sync_update(update: bytes) -> bytes:
    return bytes((MSG_SYNC, SYNC_UPDATE)) + var_bytes(update)


def awareness(entries: list[AwarenessEntry]) -> bytes:
    return bytes((MSG_AWARENESS,)) + var_bytes(encode_awareness(entries))


def query_awareness() -> bytes:
    return bytes((MSG_QUERY_AWARENESS,))


def permission_denied(reason: str) -> bytes:
    return bytes((MSG_AUTH, AUTH_PERMISSION_DENIED)) + var_string(reason)
