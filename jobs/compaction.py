"""Periodic compaction of every document whose log has grown past the thresholds.

Rooms compact their own documents while loaded; this job catches the rest (documents written
by a node that died, or edited through short-lived rooms).
"""

from __future__ import annotations

import logging

from storage.docs.base import DocStore

log = logging.getLogger(__name__)


async def compact_due(store: DocStore, *, min_updates: int, min_bytes: int) -> int:
    """Compact every document over a threshold; return how many were compacted."""
    compacted = 0
    for doc in await store.compaction_candidates(min_updates, min_bytes):
        try:
            if await store.compact(doc) is not None:
                compacted += 1
        except Exception:
            log.exception("compaction failed", extra={"doc": doc})
    return compacted
