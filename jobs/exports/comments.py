"""An export's comments appendix (`ExportOptions.include_comments`, off by default).

Comments (批注) live in each chapter's document (`storage.docs.comments`); an export leaves them
out unless asked, and then adds them after the last chapter as one more chapter, "批注", listing
each chapter's threads: the quoted text, then every comment with its author (txt, PDF, Fountain
as a last section).

Word files get Word's own comments instead, anchored to their text (`anchored_comments`): Yjs
positions are read by a function the composition root hands in (`Positions`: the API's
`TextItems`, which `jobs` may not import). Threads whose text is gone, and every thread where no
such function is given, still go to the appendix, which the Word writer adds itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pycrdt import Doc, Text

from storage.docs.base import DocStore
from storage.docs.comments import appendix, threads
from storage.docs.merge import merged_state
from storage.docs.schema import CONTENT

from .model import ExportWork, LazyChapters, WorkComment

TITLE = "批注"
RESOLVED = "（已解决）"

Positions = Callable[[Doc], Callable[[dict[str, Any]], int | None]]
"""For a document, where a Yjs relative position (JSON) is in its text now, as a str index (None:
not in it)."""


async def _doc(store: DocStore, name: str) -> Doc:
    doc: Doc = Doc()
    doc.apply_update(merged_state(await store.load(name), name=name))
    return doc


async def comments_appendix(store: DocStore, chapters: Sequence[tuple[str, str]]) -> str:
    """The appendix of `chapters` (title, document name): "" when none has a comment."""
    parts: list[str] = []
    for title, name in chapters:
        listed = appendix(await _doc(store, name))
        if listed:
            parts.append(f"【{title}】\n{listed}")
    return "\n\n".join(parts)


async def anchored_comments(
    store: DocStore, chapters: Sequence[str], positions: Positions
) -> tuple[WorkComment, ...]:
    """The threads of `chapters` (document names, in the work's order), each with where its
    text is now; start and end are None where that text is gone."""
    found: list[WorkComment] = []
    for index, name in enumerate(chapters):
        doc = await _doc(store, name)
        text = str(doc.get(CONTENT, type=Text))
        where = positions(doc)
        for thread in threads(doc):
            root = thread.root
            anchor = root.anchor or {}
            start = where(anchor["from"]) if anchor.get("from") else None
            end = where(anchor["to"]) if anchor.get("to") else None
            if start is None or end is None or end <= start:
                start = end = None
            found.append(
                WorkComment(
                    chapter=index,
                    start=start,
                    end=end,
                    anchored=text[start:end] if start is not None else "",
                    quote=root.quote,
                    resolved=root.resolved,
                    entries=tuple((c.author_name, c.body) for c in [root, *thread.replies]),
                )
            )
    return tuple(found)


def with_appendix(work: ExportWork, text: str) -> ExportWork:
    """`work` with one more chapter, the appendix `text` (unchanged when it is empty)."""
    if not text:
        return work
    chapters = work.chapters
    count = len(chapters)

    def text_of(index: int) -> str:
        return chapters[index].text if index < count else text

    return replace(work, chapters=LazyChapters([*work.titles, TITLE], text_of))
