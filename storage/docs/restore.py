"""Make a live document equal to a target state with new operations.

Used to restore a version and to save content through REST: the difference is applied as edits
(delete and insert ranges in `Y.Text "content"`, set and delete keys in `Y.Map "meta"`), so
connected editors see the change live and can undo it, and unchanged text keeps its identity.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from pycrdt import Doc, Map, Text

CONTENT = "content"
META = "meta"


def _utf8_offsets(text: str) -> list[int]:
    """offsets[i] = UTF-8 byte offset of character i (pycrdt indexes text by UTF-8 bytes)."""
    offsets = [0] * (len(text) + 1)
    total = 0
    for index, char in enumerate(text):
        offsets[index] = total
        total += len(char.encode("utf-8"))
    offsets[len(text)] = total
    return offsets


def text_edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """Edits (start, end, replacement) in character positions of `old`, last first."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    old_mid = old[prefix : len(old) - suffix]
    new_mid = new[prefix : len(new) - suffix]
    if not old_mid and not new_mid:
        return []
    matcher = SequenceMatcher(None, old_mid, new_mid, autojunk=False)
    edits = [
        (prefix + i1, prefix + i2, new_mid[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    edits.reverse()
    return edits


def set_text(text: Text, new: str) -> None:
    old = str(text)
    if old == new:
        return
    offsets = _utf8_offsets(old)
    for start, end, replacement in text_edits(old, new):
        if end > start:
            del text[offsets[start] : offsets[end]]
        if replacement:
            text.insert(offsets[start], replacement)


def set_map(target: Map, values: dict[str, Any]) -> None:
    current = target.to_py() or {}
    for key in current.keys() - values.keys():
        del target[key]
    for key, value in values.items():
        if current.get(key) != value:
            target[key] = value


def apply_state(live: Doc, target_state: bytes) -> None:
    """Edit `live` until its content and meta equal those of `target_state`."""
    target: Doc = Doc()
    target.apply_update(target_state)
    target_text = str(target.get(CONTENT, type=Text))
    target_meta = target.get(META, type=Map).to_py() or {}
    with live.transaction():
        set_text(live.get(CONTENT, type=Text), target_text)
        set_map(live.get(META, type=Map), target_meta)
