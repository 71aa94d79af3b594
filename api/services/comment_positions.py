"""Where comments' Yjs anchors are in a chapter's text now: `jobs.exports.comments.Positions`.

The composition root hands this to the export job, which may not import `TextItems` itself, so
that Word exports anchor each comment to its text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text

from storage.docs.schema import CONTENT

from .text_items import TextItems


def positions(doc: Doc) -> Callable[[dict[str, Any]], int | None]:
    return TextItems(doc.get(CONTENT, type=Text)).index_of
