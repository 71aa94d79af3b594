"""Where each Yjs item of a chapter's text is now, in Python `str` indices.

The chapter's `Y.Text "content"` is a sequence of items, each created by one Yjs client id; the
document's own v1 update lists them (`ai_agents.marks.decode_update`). An item id that starts a
block in the update also starts one in memory, so pycrdt's `StickyIndex` locates it exactly (in
UTF-8 bytes); offsets inside a block are counted here from the block's own text (Yjs clocks
count UTF-16 code units). Authorship runs and comment anchors (Yjs relative positions, as
`Y.relativePositionToJSON` writes them) are both read through this.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from pycrdt import Assoc, StickyIndex, Text, Transaction

from ai_agents.marks import Block, DeleteSet, decode_update, is_deleted


@dataclass(frozen=True, slots=True)
class Placed:
    start: int  # str index of the block's first character
    block: Block

    @property
    def end(self) -> int:
        assert self.block.text is not None
        return self.start + len(self.block.text)


def _code_points(text: str, utf16_units: int) -> int:
    """How many characters of `text` its first `utf16_units` UTF-16 code units hold."""
    units = 0
    for count, char in enumerate(text):
        if units >= utf16_units:
            return count
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _utf16_units(text: str) -> int:
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _start_byte(text: Text, txn: Transaction, client: int, clock: int) -> int:
    position = {"item": {"client": client, "clock": clock}, "assoc": int(Assoc.AFTER)}
    return StickyIndex.from_json(position, text).get_index(txn)


class TextItems:
    """A snapshot of where the items of `text` are; build it again after the text changes."""

    def __init__(self, text: Text) -> None:
        self._text = text
        self.current = str(text)
        blocks, deletes = decode_update(text.doc.get_update())
        self.blocks = blocks
        self._deletes: DeleteSet = deletes
        self.placed = self._place([b for b in blocks if b.is_text and not is_deleted(b, deletes)])
        self._by_client: dict[int, list[Block]] = {}
        for block in blocks:
            self._by_client.setdefault(block.client, []).append(block)
        self._starts = [p.start for p in self.placed]

    def _place(self, visible: list[Block]) -> list[Placed]:
        encoded = self.current.encode("utf-8")
        with self._text.doc.transaction() as txn:
            located = sorted(
                ((_start_byte(self._text, txn, b.client, b.clock), b) for b in visible),
                key=lambda pair: pair[0],
            )
        placed: list[Placed] = []
        byte_at = char_at = 0
        for start_byte, block in located:
            if start_byte < byte_at:
                continue
            char_at += len(encoded[byte_at:start_byte].decode("utf-8", errors="replace"))
            byte_at = start_byte
            assert block.text is not None
            if self.current[char_at : char_at + len(block.text)] != block.text:
                continue  # a string of another shared type than this text
            placed.append(Placed(char_at, block))
        return placed

    def _containing(self, client: int, clock: int) -> Block | None:
        for block in self._by_client.get(client, ()):
            if block.clock <= clock < block.clock + block.length:
                return block
        return None

    def index_of(self, relative: dict[str, Any]) -> int | None:
        """The str index a Yjs relative position (JSON) resolves to; None when its item is not
        in this text (the anchor of another document, or of nothing)."""
        item = relative.get("item")
        if not isinstance(item, dict):
            return None
        try:
            client, clock = int(item["client"]), int(item["clock"])
            assoc = int(relative.get("assoc", 0))
        except (KeyError, TypeError, ValueError):
            return None
        block = self._containing(client, clock)
        if block is None:
            return None
        if block.is_text and not is_deleted(block, self._deletes):
            for placed in self.placed:
                if placed.block is block:
                    assert block.text is not None
                    offset = _code_points(block.text, clock - block.clock)
                    return placed.start + offset + (1 if assoc < 0 else 0)
            return None
        # A deleted item takes no room: the position is where it was.
        with self._text.doc.transaction() as txn:
            start_byte = _start_byte(self._text, txn, block.client, block.clock)
        encoded = self.current.encode("utf-8")
        if start_byte > len(encoded):
            return None
        return len(encoded[:start_byte].decode("utf-8", errors="replace"))

    def relative_at(self, index: int, assoc: int) -> dict[str, Any] | None:
        """A Yjs relative position for str index `index`, as `Y.createRelativePositionFromTypeIndex`
        makes it: `assoc >= 0` sticks to the character at `index`, `assoc < 0` to the one before.
        None at an end of the text that has no character to stick to."""
        if assoc < 0:
            index -= 1
        if not 0 <= index < len(self.current):
            return None
        at = bisect_right(self._starts, index) - 1
        if at < 0:
            return None
        placed = self.placed[at]
        if index >= placed.end:
            return None
        assert placed.block.text is not None
        offset = _utf16_units(placed.block.text[: index - placed.start])
        item = {"client": placed.block.client, "clock": placed.block.clock + offset}
        return {"item": item, "assoc": assoc}
