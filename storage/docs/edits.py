"""A server-side edit as the updates it makes.

An edit runs on a document of its own (a scratch copy of a live one) and only the updates it
produced go on, through the write-ahead path: a live room's document never holds anything that
is not yet stored (`sync_server.room.Room.change`).
"""

from __future__ import annotations

from collections.abc import Callable

from pycrdt import Doc


def updates_made(doc: Doc, edit: Callable[[Doc], object]) -> list[bytes]:
    """The updates `edit` makes to `doc` (which it edits in place)."""
    produced: list[bytes] = []
    subscription = doc.observe(lambda event: produced.append(event.update))
    try:
        edit(doc)
    finally:
        doc.unobserve(subscription)
    return produced


def updates_from(state: bytes, edit: Callable[[Doc], object]) -> list[bytes]:
    """The updates `edit` makes on a copy of `state`."""
    scratch: Doc = Doc()
    scratch.apply_update(state)
    return updates_made(scratch, edit)
