"""Turning a stored snapshot and log into one document state.

Merging goes through a real `pycrdt.Doc`, so item identity is kept (never re-authored from text)
and deleted content is garbage-collected, which keeps a compacted snapshot close to the size of
the text itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pycrdt import Doc, Map, Text

from .base import DocStore, StoredDoc
from .schema import CONTENT, META

log = logging.getLogger(__name__)


def apply_stored(doc: Doc, stored: StoredDoc, *, name: str = "") -> int:
    """Apply snapshot + log to `doc`; return how many stored updates were unreadable.

    One update at a time: for a log of typing (each update continuing the last) that is several
    times faster than applying the updates merged into one (2,000 appends of 100 characters:
    0.28 s against 0.66 s; 5,000 single characters: 0.03 s against 0.19 s; `bench/README.md`),
    one bad record costs only itself, and a merge in a worker thread (`merged_state_off_loop`)
    lets the event loop run between the updates instead of waiting for one long call.
    """
    skipped = 0
    for part in stored.parts:
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


async def merged_state_off_loop(stored: StoredDoc, *, name: str = "") -> bytes:
    """`merged_state` in a worker thread, for a compaction beside live rooms: a long log takes
    hundreds of milliseconds to merge, which the event loop would otherwise spend waiting."""
    return await asyncio.to_thread(merged_state, stored, name=name)


def read_state(state: bytes) -> tuple[str, dict[str, Any]]:
    """The text (`Y.Text "content"`) and meta (`Y.Map "meta"`) of a document state."""
    doc: Doc = Doc()
    doc.apply_update(state)
    return str(doc.get(CONTENT, type=Text)), doc.get(META, type=Map).to_py() or {}


async def load_content(store: DocStore, name: str) -> tuple[str, dict[str, Any]]:
    """A document's text and meta as stored (for places that hold no live room)."""
    return read_state(merged_state(await store.load(name), name=name))
