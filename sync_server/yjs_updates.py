"""The Yjs update format (v1), read struct by struct without decoding into a document.

An update holds, per client, a run of encoded structs after a start clock, then a delete set.
Each struct starts with an info byte: its low 5 bits say what kind of content the item holds,
its high bits which origins and parent follow. These readers skip or measure what they are
given; they are part of the wire codec (pure functions over bytes, like `protocol`), shared by
the first-sync splitter and by whoever needs to know who wrote which characters.
"""

from __future__ import annotations

from .protocol import ProtocolError, Reader

# Item content kinds (the low 5 bits of a struct's info byte) and their clock length.
GC, SKIP = 0, 10
DELETED, JSON, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC = range(1, 10)
XML_ELEMENT, XML_HOOK = 3, 5


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


def skip_struct(reader: Reader) -> int:
    """Skip one struct (an item, or a gc/skip run); return its length in clock units."""
    info = reader.byte()
    kind = info & 0x1F
    if kind in (GC, SKIP):
        return reader.var_uint()
    skip_item_header(reader, info)
    return skip_item_content(reader, kind)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
