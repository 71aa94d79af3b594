"""Which characters of a chapter an AI task wrote, and accepting or rejecting them.

The AI peer inserts its text with the attribute `{"ai": task_id}` so that editors can highlight
it. The attribute alone cannot say which characters are the task's, because Yjs formatting is a
range between format markers and a plain insert inherits the formatting at its position. Checked
with yjs 13.6 in Node and with pycrdt 0.14.13: after `ytext.insert(i, "x")` (what y-websocket
editors such as y-codemirror send) inside an AI run, or right after its last character, "x"
carries `{"ai": task_id}` too; only a character typed right *before* the run stays plain. So a
co-author's words typed into or after pending AI text look like AI text.

The attribute is not even reliable for the AI's own text: under concurrent edits Yjs may merge
away or delete format markers (JavaScript clients delete markers they consider redundant after
every remote change), and a fuzz of concurrent AI and human edits left AI characters without
the attribute. The task's characters are therefore found by authorship, the one thing a
collaborator cannot inherit and concurrency cannot change: the visible text items created by
the task's peer clients. Those are passed as `authors` (`DocumentPeer.client_id`, recorded
with the task) or, by default, read from the document: the clients that wrote a format marker
`ai` = task_id. Only the task's peer writes such markers through y-websocket editors that
insert plain text; an editor that pastes formatted text could copy the marker and make its
author look like the task, which is why recorded `authors` are preferred. Item ids and the
block layout come from the document's own v1 update.

Index units (pycrdt 0.14.13, measured): `Text.insert`, `del text[a:b]`, `Text.format` and the
`retain`/`delete` counts of a `TextEvent` delta count UTF-8 bytes; `diff()` and `str()` give
strings; Yjs item clocks count UTF-16 code units. `StickyIndex` is unreliable beyond ASCII:
`Text.sticky_index(i)` adds a byte offset to a UTF-16 clock, and `get_index()` returns the
UTF-8 bytes of the blocks to the left *plus the UTF-16 offset inside the item's own block*. It
is exact only for an id that starts a block, which is how it is used here: every block an
update encodes starts a block in memory. Functions here take and return Python `str` indices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import Assoc, StickyIndex, Text, Transaction

from sync_server.protocol import ProtocolError, Reader
from sync_server.yjs_updates import (
    FORMAT,
    GC,
    SKIP,
    STRING,
    skip_item_content,
    skip_item_header,
    utf16_length,
)

AI_ATTRIBUTE = "ai"


@dataclass(frozen=True, slots=True)
class Block:
    """One encoded struct of a v1 update: an in-memory block of one client."""

    client: int
    clock: int
    length: int  # clock units: UTF-16 code units for text
    kind: int
    text: str | None = None  # string content
    key: str | None = None  # format key
    value: Any = None  # format value

    @property
    def is_text(self) -> bool:
        return self.kind == STRING

    def is_marker(self, key: str, value: Any) -> bool:
        return self.kind == FORMAT and self.key == key and self.value == value


DeleteSet = dict[int, list[tuple[int, int]]]  # client -> [(clock, length)]


def utf8_offset(text: str, index: int) -> int:
    """The UTF-8 byte offset (pycrdt's unit) of the Python index `index` in `text`."""
    return len(text[:index].encode("utf-8"))


# Decoding a v1 update ---------------------------------------------------------------------


def _read_item(reader: Reader, client: int, clock: int, info: int) -> Block:
    kind = info & 0x1F
    skip_item_header(reader, info)
    if kind == STRING:
        text = reader.var_string()
        return Block(client, clock, utf16_length(text), kind, text=text)
    if kind == FORMAT:
        key = reader.var_string()
        try:
            value = json.loads(reader.var_string())
        except ValueError as exc:
            raise ProtocolError("format value is not JSON") from exc
        return Block(client, clock, 1, kind, key=key, value=value)
    return Block(client, clock, skip_item_content(reader, kind), kind)


def decode_update(update: bytes) -> tuple[list[Block], DeleteSet]:
    """The blocks and the delete set of a Yjs v1 update."""
    reader = Reader(update)
    blocks: list[Block] = []
    for _ in range(reader.var_uint()):
        count = reader.var_uint()
        client = reader.var_uint()
        clock = reader.var_uint()
        for _ in range(count):
            info = reader.byte()
            if info & 0x1F in (GC, SKIP):
                block = Block(client, clock, reader.var_uint(), info & 0x1F)
            else:
                block = _read_item(reader, client, clock, info)
            blocks.append(block)
            clock += block.length
    deletes: DeleteSet = {}
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        deletes[client] = [(reader.var_uint(), reader.var_uint()) for _ in range(reader.var_uint())]
    return blocks, deletes


def is_deleted(block: Block, deletes: DeleteSet) -> bool:
    end = block.clock + block.length
    return any(
        clock < end and block.clock < clock + length
        for clock, length in deletes.get(block.client, ())
    )


# Ranges -----------------------------------------------------------------------------------


def _attribute_runs(text: Text, task_id: str) -> list[tuple[int, int]]:
    """Where the characters carrying `{"ai": task_id}` are (whoever typed them)."""
    runs: list[tuple[int, int]] = []
    at = 0
    for chunk, attrs in text.diff():
        if not isinstance(chunk, str):  # an embed counts one
            at += 1
            continue
        if attrs and attrs.get(AI_ATTRIBUTE) == task_id:
            if runs and runs[-1][1] == at:
                runs[-1] = (runs[-1][0], at + len(chunk))
            else:
                runs.append((at, at + len(chunk)))
        at += len(chunk)
    return runs


def _start_byte(text: Text, txn: Transaction, block: Block) -> int:
    """UTF-8 offset of a block's first character: exact, because the id starts its block."""
    position = {"item": {"client": block.client, "clock": block.clock}, "assoc": int(Assoc.AFTER)}
    return StickyIndex.from_json(position, text).get_index(txn)


def _authored_ranges(
    text: Text, task_id: str, authors: Iterable[int] | None
) -> list[tuple[int, int]]:
    """Where the visible characters created by the task's clients are, sorted and merged."""
    blocks, deletes = decode_update(text.doc.get_update())
    clients = (
        {block.client for block in blocks if block.is_marker(AI_ATTRIBUTE, task_id)}
        if authors is None
        else set(authors)
    )
    mine = [
        block
        for block in blocks
        if block.client in clients and block.is_text and not is_deleted(block, deletes)
    ]
    if not mine:
        return []
    with text.doc.transaction() as txn:
        located = sorted(
            ((_start_byte(text, txn, block), block) for block in mine), key=lambda pair: pair[0]
        )
        current = str(text)
    encoded = current.encode("utf-8")
    ranges: list[tuple[int, int]] = []
    byte_at = char_at = 0
    for start_byte, block in located:
        char_at += len(encoded[byte_at:start_byte].decode("utf-8"))
        byte_at = start_byte
        assert block.text is not None
        end = char_at + len(block.text)
        if ranges and ranges[-1][1] == char_at:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((char_at, end))
    return ranges


def task_ranges(
    text: Text, task_id: str, *, authors: Iterable[int] | None = None
) -> list[tuple[int, int]]:
    """Where the task's characters are now: sorted, disjoint `[start, end)` str indices.

    `authors` are the client ids of the task's peer(s) (`DocumentPeer.client_id`); by default
    they are read from the document: the clients that wrote an `ai` = task_id format marker.
    """
    return _authored_ranges(text, task_id, authors)


def _marked_tasks(text: Text) -> set[str]:
    """The task ids whose `ai` attribute some character carries now."""
    return {
        attrs[AI_ATTRIBUTE]
        for chunk, attrs in text.diff()
        if attrs and isinstance(attrs.get(AI_ATTRIBUTE), str)
    }


def _subtract(runs: list[tuple[int, int]], keep: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `runs` outside `keep` (both sorted and disjoint)."""
    left: list[tuple[int, int]] = []
    for start, end in runs:
        at = start
        for keep_start, keep_end in keep:
            if keep_end <= at or keep_start >= end:
                continue
            if keep_start > at:
                left.append((at, keep_start))
            at = max(at, keep_end)
        if at < end:
            left.append((at, end))
    return left


def inherited_runs(text: Text) -> list[tuple[int, int]]:
    """Characters that carry `{"ai": task_id}` but were not written by that task's peer: a
    co-author's words typed inside or right after AI text, which Yjs formats like their
    neighbours. Sorted str indices; empty when the text holds no AI marking at all."""
    found: list[tuple[int, int]] = []
    for task_id in _marked_tasks(text):
        found += _subtract(_attribute_runs(text, task_id), task_ranges(text, task_id))
    return sorted(found)


def clear_inherited(text: Text) -> int:
    """Remove the AI marking from every character the AI did not write; how many."""
    with text.doc.transaction():
        return _clear_attribute(text, str(text), inherited_runs(text))


# Accept and reject ------------------------------------------------------------------------


def _clear_attribute(text: Text, current: str, runs: list[tuple[int, int]]) -> int:
    for start, end in runs:
        text.format(utf8_offset(current, start), utf8_offset(current, end), {AI_ATTRIBUTE: None})
    return sum(end - start for start, end in runs)


def accept(text: Text, task_id: str) -> int:
    """Keep the task's text as ordinary text: remove `{"ai": task_id}` wherever it is.

    Returns the number of characters that carried the attribute (a co-author's characters that
    inherited it are cleared too).
    """
    with text.doc.transaction():
        return _clear_attribute(text, str(text), _attribute_runs(text, task_id))


def reject(text: Text, task_id: str, *, authors: Iterable[int] | None = None) -> int:
    """Delete exactly the task's characters, as new operations, back to front.

    Every other character stays, including what co-authors typed inside or right after the AI
    text; those lose the inherited attribute. Returns the number of characters deleted.
    """
    with text.doc.transaction():
        ranges = task_ranges(text, task_id, authors=authors)
        current = str(text)
        for start, end in reversed(ranges):
            del text[utf8_offset(current, start) : utf8_offset(current, end)]
        remaining = str(text)
        _clear_attribute(text, remaining, _attribute_runs(text, task_id))
    return sum(end - start for start, end in ranges)
