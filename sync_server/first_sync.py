"""A large document's first sync, in messages of bounded size.

The stock servers answer sync step 1 with one step-2 message holding everything the client
lacks; for a 200,000-character chapter that is 600 KB, which a slow client may not receive
before its 30-second message timeout. Here that update is cut at struct boundaries into pieces
that are themselves valid updates (Yjs update format v1: per client, a run of encoded structs
after a start clock; the delete set at the end). The pieces go out as update messages and the
final step 2 carries the delete set, so a y-websocket client reports `synced` only once it has
the whole document. Nothing is re-encoded: every struct keeps its bytes and its id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import protocol
from .protocol import ProtocolError, Reader

_EMPTY_DELETE_SET = b"\x00"

# Item content kinds (the low 5 bits of a struct's info byte) and their clock length.
GC, SKIP = 0, 10
DELETED, JSON, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC = range(1, 10)
XML_ELEMENT, XML_HOOK = 3, 5


@dataclass(slots=True)
class _Run:
    """Consecutive encoded structs of one client."""

    client: int
    clock: int
    structs: list[bytes] = field(default_factory=list)

    def encoded(self) -> bytes:
        head = protocol.var_uint(len(self.structs)) + protocol.var_uint(self.client)
        return head + protocol.var_uint(self.clock) + b"".join(self.structs)


def _skip_var_int(reader: Reader) -> None:
    reader.var_uint()  # same continuation-bit framing as an unsigned varint


def skip_any(reader: Reader) -> None:
    """Skip one lib0 `any` value (the content of Y.Array/Y.Map entries and format values)."""
    kind = reader.byte()
    if kind in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if kind == 125:
        _skip_var_int(reader)
    elif kind == 124:
        reader.skip(4)
    elif kind in (123, 122):
        reader.skip(8)
    elif kind in (119, 116):
        reader.var_bytes()
    elif kind == 118:
        for _ in range(reader.var_uint()):
            reader.var_bytes()
            skip_any(reader)
    elif kind == 117:
        for _ in range(reader.var_uint()):
            skip_any(reader)
    else:
        raise ProtocolError(f"unknown value type {kind}")


def skip_item_content(reader: Reader, kind: int) -> int:
    """Skip an item's content; return its length in clock units."""
    if kind == DELETED:
        return reader.var_uint()
    if kind == JSON:
        count = reader.var_uint()
        for _ in range(count):
            reader.var_bytes()
        return count
    if kind in (BINARY, EMBED):
        reader.var_bytes()
        return 1
    if kind == STRING:
        return utf16_length(reader.var_string())  # Yjs clocks count UTF-16 code units
    if kind == FORMAT:
        reader.var_bytes()
        reader.var_bytes()
        return 1
    if kind == TYPE:
        if reader.var_uint() in (XML_ELEMENT, XML_HOOK):
            reader.var_bytes()
        return 1
    if kind == ANY:
        count = reader.var_uint()
        for _ in range(count):
            skip_any(reader)
        return count
    if kind == DOC:
        reader.var_bytes()
        skip_any(reader)
        return 1
    raise ProtocolError(f"unknown content type {kind}")


def skip_item_header(reader: Reader, info: int) -> None:
    """Skip an item's origins and parent (what its info byte says is there)."""
    has_origin, has_right_origin = info & 0x80, info & 0x40
    if has_origin:
        reader.var_uint(), reader.var_uint()
    if has_right_origin:
        reader.var_uint(), reader.var_uint()
    if not (has_origin or has_right_origin):
        if reader.var_uint() == 1:
            reader.var_bytes()  # name of a root type
        else:
            reader.var_uint(), reader.var_uint()  # id of the parent item
        if info & 0x20:
            reader.var_bytes()  # parent sub (map key)


def _skip_struct(reader: Reader) -> int:
    info = reader.byte()
    kind = info & 0x1F
    if kind in (GC, SKIP):
        return reader.var_uint()
    skip_item_header(reader, info)
    return skip_item_content(reader, kind)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _split_string_struct(
    encoded: bytes, client: int, clock: int, max_bytes: int
) -> list[tuple[bytes, int]]:
    """Cut one text item into items of at most about `max_bytes`, as Yjs encodes with an offset.

    The first part keeps the item's header; each later part names the character before it as
    its origin and keeps the original right origin, so every character keeps its id.
    """
    reader = Reader(encoded)
    info = reader.byte()
    if info & 0x80:
        reader.var_uint(), reader.var_uint()
    right_origin = b""
    if info & 0x40:
        start = reader.position
        reader.var_uint(), reader.var_uint()
        right_origin = encoded[start : reader.position]
    if not info & 0xC0:
        if reader.var_uint() == 1:
            reader.var_bytes()
        else:
            reader.var_uint(), reader.var_uint()
        if info & 0x20:
            reader.var_bytes()
    header = encoded[: reader.position]
    text = reader.var_string()
    chars_per_part = max(1, max_bytes // 4)  # at most 4 UTF-8 bytes a character
    parts = [text[i : i + chars_per_part] for i in range(0, len(text), chars_per_part)]
    offset = utf16_length(parts[0])
    structs = [(header + protocol.var_string(parts[0]), offset)]
    later_info = bytes(((info & 0x1F) | 0x80 | (info & 0x40) | (info & 0x20),))
    for part in parts[1:]:
        origin = protocol.var_uint(client) + protocol.var_uint(clock + offset - 1)
        length = utf16_length(part)
        structs.append((later_info + origin + right_origin + protocol.var_string(part), length))
        offset += length
    return structs


def split_update(update: bytes, max_bytes: int) -> tuple[list[bytes], bytes]:
    """Cut an update's structs into updates of about `max_bytes`; return them and the delete set.

    Text items larger than that are cut too; any other struct larger than that travels alone.
    """
    reader = Reader(update)
    pieces: list[bytes] = []
    current: list[_Run] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            runs = [run for run in current if run.structs]
            body = b"".join(run.encoded() for run in runs)
            pieces.append(protocol.var_uint(len(runs)) + body + _EMPTY_DELETE_SET)
        current, size = [], 0

    for _ in range(reader.var_uint()):
        count = reader.var_uint()
        client = reader.var_uint()
        clock = reader.var_uint()
        run = _Run(client, clock)
        current.append(run)
        for _ in range(count):
            start = reader.position
            length = _skip_struct(reader)
            encoded = update[start : reader.position]
            parts = [(encoded, length)]
            if len(encoded) > max_bytes and encoded[0] & 0x1F == STRING:
                parts = _split_string_struct(encoded, client, clock, max_bytes)
            for part, part_length in parts:
                if size and size + len(part) > max_bytes:
                    flush()
                    run = _Run(client, clock)
                    current.append(run)
                run.structs.append(part)
                size += len(part)
                clock += part_length
    flush()
    return pieces, update[reader.position :]


def first_sync_frames(missing: bytes, max_bytes: int) -> list[bytes]:
    """Frames answering sync step 1 with `missing`: update messages, then step 2."""
    if len(missing) <= max_bytes:
        return [protocol.sync_step2(missing)]
    pieces, delete_set = split_update(missing, max_bytes)
    final = protocol.sync_step2(b"\x00" + delete_set)
    return [protocol.sync_update(piece) for piece in pieces] + [final]
