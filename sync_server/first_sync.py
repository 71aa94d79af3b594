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
from .protocol import Reader
from .yjs_updates import STRING, skip_struct, utf16_length

_EMPTY_DELETE_SET = b"\x00"


@dataclass(slots=True)
class _Run:
    """Consecutive encoded structs of one client."""

    client: int
    clock: int
    structs: list[bytes] = field(default_factory=list)

    def encoded(self) -> bytes:
        head = protocol.var_uint(len(self.structs)) + protocol.var_uint(self.client)
        return head + protocol.var_uint(self.clock) + b"".join(self.structs)


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
            length = skip_struct(reader)
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
