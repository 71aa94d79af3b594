"""Turning a stored snapshot and log into one document state.

Merging goes through a real `pycrdt.Doc`, so item identity is kept (never re-authored from text)
and deleted content is garbage-collected, which keeps a compacted snapshot close to the size of
the text itself.
"""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import Doc, Map, Text, merge_updates

from .base import DocStore, StoredDoc
from .schema import CONTENT, META

log = logging.getLogger(__name__)


def apply_stored(doc: Doc, stored: StoredDoc, *, name: str = "") -> int:
    """Apply snapshot + log to `doc`; return how many stored updates were unreadable."""
    parts = ([stored.snapshot] if stored.snapshot else []) + stored.updates
    if not parts:
        return 0
    try:
        doc.apply_update(merge_updates(*parts) if len(parts) > 1 else parts[0])
        return 0
    except ValueError:
        pass
    skipped = 0
    for part in parts:  # one bad record must not cost the rest of the document
        try:
            doc.apply_update(part)
        except ValueError:
            skipped += 1
            log.error("skipped an unreadable stored update", extra={"doc": name})
    return skipped


def merged_state(stored: StoredDoc, *, name: str = "") -> bytes:
    doc: Doc = Doc()
    apply_stored(doc, stored, name=name)
    return doc.get_update()


def read_state(state: bytes) -> tuple[str, dict[str, Any]]:
    """The text (`Y.Text "content"`) and meta (`Y.Map "meta"`) of a document state."""
    doc: Doc = Doc()
    doc.apply_update(state)
    return str(doc.get(CONTENT, type=Text)), doc.get(META, type=Map).to_py() or {}


async def load_content(store: DocStore, name: str) -> tuple[str, dict[str, Any]]:
    """A document's text and meta as stored (for places that hold no live room)."""
    return read_state(merged_state(await store.load(name), name=name))
