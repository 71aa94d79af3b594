"""Word's own comments in a Word export: each thread anchored to the runs of its text.

A novel chapter with comments is written run by run, cut wherever a comment starts or ends, and
each comment spans its first to its last run (`Document.add_comment`, python-docx 1.2). Replies
are further paragraphs of the comment ("name：body"). A thread whose text is gone, whose text
changed after it was read, that lies in a screenplay (its Fountain markup leaves no character
offsets) or only in white space the export drops, goes to a "批注" appendix at the end instead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import pairwise

from docx.document import Document as DocxDocument
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from jobs.exports.comments import RESOLVED, TITLE
from jobs.exports.model import _CONTROL, _EDGE_SPACE, _LINE_BREAK, WorkComment, clean_line

Origins = list[tuple[str, list[int]]]
AddParagraph = Callable[[str, BaseStyle], Paragraph]


def paragraph_origins(text: str) -> Origins:
    """`model.paragraphs(text)`, each with the index in `text` of every character it keeps."""
    found: Origins = []
    line: list[tuple[str, int]] = []

    def close() -> None:
        start, end = 0, len(line)
        while start < end and line[start][0] in _EDGE_SPACE:
            start += 1
        while end > start and line[end - 1][0] in _EDGE_SPACE:
            end -= 1
        if start < end:
            kept = line[start:end]
            found.append(("".join(c for c, _ in kept), [i for _, i in kept]))
        line.clear()

    for index, char in enumerate(text):
        if char == "\n" or _LINE_BREAK.match(char):
            close()
        elif not _CONTROL.match(char):
            line.append((char, index))
    close()
    return found


class WordComments:
    """The work's comments, placed chapter by chapter; what cannot be placed is kept for the
    appendix."""

    def __init__(self, document: DocxDocument, comments: Sequence[WorkComment]) -> None:
        self._document = document
        self._by_chapter: dict[int, list[WorkComment]] = {}
        for comment in comments:
            self._by_chapter.setdefault(comment.chapter, []).append(comment)
        self.left: list[WorkComment] = []

    def placeable(self, chapter: int, text: str, *, script: bool) -> list[WorkComment]:
        """The chapter's comments that can be anchored in `text`; the others are left over."""
        placeable: list[WorkComment] = []
        for comment in self._by_chapter.pop(chapter, []):
            start, end = comment.start, comment.end
            if not script and start is not None and text[start:end] == comment.anchored:
                placeable.append(comment)
            else:
                self.left.append(comment)
        return placeable

    def write_chapter(
        self,
        add_paragraph: AddParagraph,
        text: str,
        style: BaseStyle,
        comments: list[WorkComment],
    ) -> None:
        """Write a novel chapter's paragraphs (`add_paragraph(text, style)` adds one) with
        `comments` anchored in them."""
        first: list[Run | None] = [None] * len(comments)
        last: list[Run | None] = [None] * len(comments)
        for para, origins in paragraph_origins(text):
            low, high = origins[0], origins[-1] + 1
            here = [
                k
                for k, c in enumerate(comments)
                if c.start is not None and c.end is not None and c.start < high and c.end > low
            ]
            cuts = {0, len(para)}
            for k in here:
                start, end = comments[k].start, comments[k].end
                assert start is not None and end is not None
                cuts.add(bisect_left(origins, start))
                cuts.add(bisect_left(origins, end))
            paragraph = add_paragraph("", style)
            bounds = sorted(cut for cut in cuts if 0 <= cut <= len(para))
            for a, b in pairwise(bounds):
                run = paragraph.add_run(para[a:b])
                for k in here:
                    start, end = comments[k].start, comments[k].end
                    assert start is not None and end is not None
                    if start <= origins[a] < end:
                        first[k] = first[k] or run
                        last[k] = run
        for k, comment in enumerate(comments):
            begin, finish = first[k], last[k]
            if begin is None or finish is None:
                self.left.append(comment)  # only white space that the export leaves out
                continue
            self._comment([begin, finish], comment)

    def _comment(self, runs: list[Run], comment: WorkComment) -> None:
        (author, body), *replies = comment.entries
        author = clean_line(author)
        note = self._document.add_comment(
            runs, text=clean_line(body), author=author, initials=author[:1]
        )
        for name, reply in replies:
            note.add_paragraph(f"{clean_line(name)}：{clean_line(reply)}")
        if comment.resolved:
            note.add_paragraph(RESOLVED)

    def write_appendix(
        self, add: AddParagraph, titles: Sequence[str], heading: BaseStyle, body: BaseStyle
    ) -> None:
        """The comments left over, as the other formats list them (`comments.appendix`)."""
        if not self.left:
            return
        add(TITLE, heading)
        chapter = None
        for comment in sorted(self.left, key=lambda c: c.chapter):
            if comment.chapter != chapter:
                chapter = comment.chapter
                add(f"【{clean_line(titles[chapter])}】", body)
            state = RESOLVED if comment.resolved else ""
            add(f"「{clean_line(comment.quote)}」{state}", body)
            for name, text in comment.entries:
                add(f"{clean_line(name)}：{clean_line(text)}", body)
