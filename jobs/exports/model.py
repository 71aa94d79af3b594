"""What a renderer takes in: a work, its chapters and the reader's options.

Renderers are pure functions of these values: no database, no HTTP, no clock beyond the draft date.
A work's chapters are a sequence that a renderer walks once, in order: `LazyChapters` reads each
chapter's text only when the renderer reaches it, so a long work is never in memory at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import overload

Progress = Callable[[int], None]
"""Called with 0..100 as rendering advances."""


@dataclass(frozen=True, slots=True)
class ExportChapter:
    title: str
    text: str  # a novel's paragraphs one per line, or a screenplay chapter in Fountain


@dataclass(frozen=True, slots=True)
class WorkComment:
    """A comment thread for a format that anchors comments to their text (Word)."""

    chapter: int  # index into the work's chapters
    start: int | None  # str indices into that chapter's text; None: the text it was on is gone
    end: int | None
    anchored: str  # the text between start and end when the thread was read
    quote: str  # the text it was made on
    resolved: bool
    entries: tuple[tuple[str, str], ...]  # (author, body): the first comment, then its replies


@dataclass(frozen=True, slots=True)
class ExportWork:
    title: str
    author: str
    kind: str  # "novel" | "script"
    genre: str | None
    description: str | None
    chapters: Sequence[ExportChapter]
    comments: tuple[WorkComment, ...] = ()  # only when asked for and the format anchors them

    @property
    def is_script(self) -> bool:
        return self.kind == "script"

    @property
    def titles(self) -> list[str]:
        """The chapters' titles, without reading their text where it is read lazily."""
        if isinstance(self.chapters, LazyChapters):
            return list(self.chapters.titles)
        return [chapter.title for chapter in self.chapters]


class LazyChapters(Sequence[ExportChapter]):
    """Chapters whose titles are known and whose text is read, by `text_of(index)`, when a
    renderer comes to each: nothing keeps a chapter once the renderer has let it go."""

    def __init__(self, titles: Sequence[str], text_of: Callable[[int], str]) -> None:
        self.titles = tuple(titles)
        self._text_of = text_of

    def __len__(self) -> int:
        return len(self.titles)

    @overload
    def __getitem__(self, index: int) -> ExportChapter: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ExportChapter]: ...

    def __getitem__(self, index: int | slice) -> ExportChapter | Sequence[ExportChapter]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        position = range(len(self))[index]  # IndexError past the end ends iteration
        return ExportChapter(self.titles[position], self._text_of(position))


class ExportError(ValueError):
    """The work cannot be rendered in the asked format (the caller's mistake, not a crash)."""


FONT_SIZES = (6, 48)  # points; beyond these a page holds a handful of characters, or too many


@dataclass(frozen=True, slots=True)
class Watermark:
    """Who a file was made for and when. `mark_id` goes into every file's metadata (and SQL, by
    the job); the visible mark (`text`) is drawn on every page only when `visible`."""

    mark_id: str
    account: str
    made_on: str  # ISO date, UTC
    visible: bool = False

    @property
    def text(self) -> str:
        return f"{self.account} · {self.made_on} · {self.mark_id[:12]}"

    @property
    def keyword(self) -> str:
        return f"inkweave-export:{self.mark_id}"


@dataclass(frozen=True, slots=True)
class Protection:
    """A password on the file: the PDF's own encryption with these permissions, or for other
    formats an AES-256 zip around the file. Held in memory only: never in a task row."""

    password: str = field(repr=False)
    can_print: bool = True
    can_copy: bool = False
    can_modify: bool = False


@dataclass(frozen=True, slots=True)
class ExportOptions:
    include_cover: bool = True
    font_size: float = 12  # novels; a screenplay is always 12 pt
    include_toc: bool = True  # novels; a screenplay has no contents
    include_comments: bool = False  # an appendix of the chapters' comments (`comments`)
    watermark: Watermark | None = None
    protection: Protection | None = None

    def __post_init__(self) -> None:
        low, high = FONT_SIZES
        if not low <= self.font_size <= high:
            raise ExportError(f"font_size must be between {low} and {high} points")


class UnknownFormat(ExportError):
    pass


class NotAScript(ExportError):
    pass


_LINE_BREAK = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# U+3000 (ideographic space) and NBSP count as white space at a paragraph's ends.
_EDGE_SPACE = " \t\u3000\u00a0\ufeff"


def paragraphs(text: str) -> list[str]:
    """A novel chapter's paragraphs: one per non-blank line, without indentation or controls."""
    text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    stripped = (line.strip(_EDGE_SPACE) for line in text.split("\n"))
    return [line for line in stripped if line]


_CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe10-\ufe1f\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]"
)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def is_cjk(char: str) -> bool:
    """Chinese, Japanese or Korean script, CJK punctuation or a full-width form."""
    return _CJK.match(char) is not None


def clean_line(text: str) -> str:
    """A one-line field (title, author, genre): control codes gone, inner breaks as spaces."""
    text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    return " ".join(part.strip(_EDGE_SPACE) for part in text.split("\n") if part.strip(_EDGE_SPACE))


class ProgressSteps:
    """Reports progress that only ever rises, and only when the whole percent changes."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._last = -1

    def report(self, percent: float) -> None:
        value = max(0, min(100, int(percent)))
        if self._progress is not None and value > self._last:
            self._last = value
            self._progress(value)

    def fraction(self, done: int, total: int, *, start: float = 0, end: float = 100) -> None:
        """Report `done` of `total` steps mapped onto the span start..end."""
        share = done / total if total else 1.0
        self.report(start + (end - start) * share)

    def finish(self) -> None:
        self.report(100)
