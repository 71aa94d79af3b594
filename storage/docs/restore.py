"""Make a live document equal to a target state with new operations.

Used to restore a version and to save content through REST: the difference is applied as edits
(delete and insert ranges in `Y.Text "content"`, set and delete keys in `Y.Map "meta"`), so
connected editors see the change live and can undo it, and unchanged text keeps its identity.
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

from pycrdt import Doc, Map, Text

from .schema import CONTENT, META

# Above this many (old x new) changed characters a character diff would block the event loop
# for seconds; the changed middle is then replaced whole (still new operations, still undoable).
DIFF_BUDGET = 25_000_000
# A lone unchanged character (a run shorter than MIN_KEPT) between two changes, each at least
# MIN_REWRITE times as long, is replaced with them. A rewritten paragraph shares single
# characters with the old one by chance (的, 了, a comma); kept, they would cut the new text into
# one CRDT item per character, and a document keeps every item and every deleted run for good
# (1,000 saves of a rewritten paragraph grew a chapter by 456 bytes each; 147 now,
# `bench/README.md`). Longer runs are kept, even amid a rewrite: a two-character name may carry
# a comment. So is text between small nearby fixes, and who wrote it.
MIN_KEPT = 2
MIN_REWRITE = 3


def _common_prefix(a: str, b: str) -> int:
    low, high = 0, min(len(a), len(b))
    while low < high:  # slices compare in C: O(n log n) instead of a Python loop
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def text_edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """Edits (start, end, replacement) in character positions of `old`, last first."""
    prefix = _common_prefix(old, new)
    suffix = _common_suffix(old, new, min(len(old), len(new)) - prefix)
    old_mid = old[prefix : len(old) - suffix]
    new_mid = new[prefix : len(new) - suffix]
    if not old_mid and not new_mid:
        return []
    if len(old_mid) * len(new_mid) > DIFF_BUDGET:
        return [(prefix, prefix + len(old_mid), new_mid)]
    matcher = SequenceMatcher(None, old_mid, new_mid, autojunk=False)
    edits = [
        (prefix + i1, prefix + i2, new_mid[j1:j2])
        for i1, i2, j1, j2 in _changes(matcher.get_opcodes())
    ]
    edits.reverse()
    return edits


def _changes(opcodes: list[tuple[str, int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The changed ranges (old start, old end, new start, new end) of `opcodes`, two of them
    joined wherever the unchanged run between them is short and both are much longer."""
    joined: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        joined.append((i1, i2, j1, j2))
        # A joined change is longer: it may now also join the one before it.
        while len(joined) > 1 and _mostly_rewritten(joined[-2], joined[-1]):
            after = joined.pop()
            before = joined.pop()
            joined.append((before[0], after[1], before[2], after[3]))
    return joined


def _mostly_rewritten(before: tuple[int, int, int, int], after: tuple[int, int, int, int]) -> bool:
    kept = after[0] - before[1]  # the unchanged run between them (as long in old and new)
    enough = MIN_REWRITE * kept
    return kept < MIN_KEPT and _size(*before) >= enough and _size(*after) >= enough


def _size(i1: int, i2: int, j1: int, j2: int) -> int:
    """How many characters a change deletes or inserts, whichever is more."""
    return max(i2 - i1, j2 - j1)


def set_text(text: Text, new: str) -> None:
    """Edit `text` until it equals `new` (pycrdt indexes text by UTF-8 bytes)."""
    old = str(text)
    if old == new:
        return
    for start, end, replacement in text_edits(old, new):  # last first: offsets stay valid
        at = _utf8_len(old[:start])
        if end > start:
            del text[at : at + _utf8_len(old[start:end])]
        if replacement:
            text.insert(at, replacement)


def set_map(target: Map, values: dict[str, Any]) -> None:
    current = target.to_py() or {}
    for key in current.keys() - values.keys():
        del target[key]
    for key, value in values.items():
        if current.get(key) != value:
            target[key] = value


def set_content(new: str) -> Callable[[Doc], None]:
    """An edit (for `Room.change`) that makes the text equal `new`."""

    def edit(doc: Doc) -> None:
        with doc.transaction():
            set_text(doc.get(CONTENT, type=Text), new)

    return edit


def apply_state(live: Doc, target_state: bytes) -> None:
    """Edit `live` until its content and meta equal those of `target_state`."""
    target: Doc = Doc()
    target.apply_update(target_state)
    target_text = str(target.get(CONTENT, type=Text))
    target_meta = target.get(META, type=Map).to_py() or {}
    with live.transaction():
        set_text(live.get(CONTENT, type=Text), target_text)
        set_map(live.get(META, type=Map), target_meta)
