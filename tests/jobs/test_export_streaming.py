"""Exports read a work one chapter at a time: each chapter's text is asked for when the renderer
comes to it, progress is reported after each, and no chapter is held once the renderer has moved
on. The files are the same as when the whole work is given at once, and the same again when a
child process renders them."""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import docx
import pypdf
import pytest
from reportlab.pdfbase.pdfdoc import PDFPage

from jobs.exports import (
    ExportChapter,
    ExportOptions,
    ExportWork,
    LazyChapters,
    NotAScript,
    render,
    write,
)
from jobs.exports.child import write_in_child
from jobs.exports.model import paragraphs
from tests.jobs.fixtures import poppler
from tests.jobs.fixtures.works import long_novel

TINY = ExportWork(
    "长夜",
    "某人",
    "novel",
    "悬疑",
    None,
    [ExportChapter("第一章", "　　风起了。\n\n他推开门。"), ExportChapter("第二章", "天亮了。")],
)


@pytest.fixture(autouse=True)
def _collect_only_what_the_test_makes() -> Iterator[None]:
    """`Reads` collects garbage at every chapter; with the worker's heap from earlier tests
    frozen, each collection looks only at what this test made (seconds a call otherwise)."""
    gc.freeze()
    yield
    gc.unfreeze()


class _Text(str):
    """A chapter's text that can be watched for being let go."""


class Reads:
    """A work's chapters read on demand, with what happened in between: ("read", index) and
    ("progress", percent), in order; each read checks that no chapter before the previous one
    is still held by anything."""

    def __init__(self, work: ExportWork) -> None:
        self.source = list(work.chapters)
        self.events: list[tuple[str, int]] = []
        self.held: list[weakref.ref[_Text]] = []
        self.work = ExportWork(
            work.title,
            work.author,
            work.kind,
            work.genre,
            work.description,
            LazyChapters([c.title for c in self.source], self._text_of),
        )

    def _text_of(self, index: int) -> str:
        gc.collect()
        still_held = [i for i, ref in enumerate(self.held[: max(0, index - 1)]) if ref()]
        assert still_held == [], f"reading chapter {index}, chapters {still_held} are still held"
        self.events.append(("read", index))
        text = _Text(self.source[index].text)
        self.held.append(weakref.ref(text))
        return text

    def progress(self, percent: int) -> None:
        self.events.append(("progress", percent))


def _streamed(fmt: str, work: ExportWork) -> tuple[bytes, Reads]:
    reads = Reads(work)
    out = io.BytesIO()
    write(fmt, reads.work, out, ExportOptions(), reads.progress)
    return out.getvalue(), reads


@pytest.mark.parametrize("fmt", ["txt", "word", "pdf"])
def test_each_chapter_is_read_when_reached_and_progress_follows_each(fmt: str) -> None:
    work = long_novel(chapters=6, characters=300)
    _data, reads = _streamed(fmt, work)
    reads_at = [n for n, (kind, _) in enumerate(reads.events) if kind == "read"]
    assert [reads.events[n][1] for n in reads_at] == list(range(6))  # once each, in order
    for before, after in pairwise(reads_at):
        between = [value for kind, value in reads.events[before:after] if kind == "progress"]
        assert between, f"no progress between {reads.events[before]} and {reads.events[after]}"
    percents = [value for kind, value in reads.events if kind == "progress"]
    assert percents == sorted(set(percents)) and percents[-1] == 100


def test_txt_is_the_same_file_read_a_chapter_at_a_time() -> None:
    data, _reads = _streamed("txt", TINY)
    assert data.decode() == (
        "长夜\n作者：某人\n类型：悬疑\n\n\n"
        "第一章\n\n\u3000\u3000风起了。\n\n\u3000\u3000他推开门。\n\n\n"
        "第二章\n\n\u3000\u3000天亮了。\n"
    )
    assert data == render("txt", TINY)


def test_word_and_pdf_hold_the_same_text_read_a_chapter_at_a_time(tmp_path: Path) -> None:
    poppler.require_poppler()
    work = long_novel(chapters=4, characters=400)
    data, _reads = _streamed("word", work)
    document = docx.Document(io.BytesIO(data))
    assert [p.text for p in document.paragraphs] == [
        p.text for p in docx.Document(io.BytesIO(render("word", work))).paragraphs
    ]
    pdf, _reads = _streamed("pdf", work)
    streamed, whole = tmp_path / "streamed.pdf", tmp_path / "whole.pdf"
    streamed.write_bytes(pdf)
    whole.write_bytes(render("pdf", work))
    pages = poppler.page_texts(streamed)
    assert pages == poppler.page_texts(whole)
    assert poppler.squeeze(paragraphs(work.chapters[-1].text)[-1]) in poppler.squeeze(pages[-1])


def test_a_child_process_export_reads_through_the_parent_and_raises_its_errors(
    tmp_path: Path,
) -> None:
    reads = Reads(TINY)
    path = tmp_path / "tiny.txt"
    write_in_child("txt", reads.work, path, ExportOptions(), reads.progress)
    assert path.read_bytes() == render("txt", TINY)
    assert [value for kind, value in reads.events if kind == "read"] == [0, 1]
    assert ("progress", 100) in reads.events
    with pytest.raises(NotAScript):
        write_in_child("fountain", TINY, tmp_path / "tiny.fountain", ExportOptions())


def test_a_pdf_book_holds_no_finished_page_of_its_chapters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chapter page is written into the file when it is finished: while chapter 30 is read,
    only the contents' pages (which wait for their page numbers) are still held, not the ~30
    pages of the chapters before it."""
    work = long_novel(chapters=40, characters=900)
    pages: weakref.WeakSet[PDFPage] = weakref.WeakSet()
    made = PDFPage.__init__

    def watched(self: PDFPage) -> None:
        made(self)
        pages.add(self)

    monkeypatch.setattr(PDFPage, "__init__", watched)
    held: dict[int, int] = {}

    def text_of(index: int) -> str:
        held[index] = len(pages)  # a page let go is freed at once: pages hold no cycles
        return work.chapters[index].text

    lazy = ExportWork(
        work.title, work.author, work.kind, work.genre, work.description,
        LazyChapters(work.titles, text_of),
    )  # fmt: skip
    path = tmp_path / "book.pdf"
    with path.open("wb") as out:
        write("pdf", lazy, out, ExportOptions(include_cover=False))
    contents_pages = 2  # 40 entries; no more than 2 pages are still open at any time
    assert held[1] <= contents_pages + 2
    assert held[30] <= contents_pages + 2, held
    assert len(pypdf.PdfReader(path, strict=True).pages) > 40


def test_every_object_the_cross_reference_table_lists_starts_where_it_says(
    tmp_path: Path,
) -> None:
    """Objects written as their pages finish and objects written at the save share one table."""
    path = tmp_path / "book.pdf"
    path.write_bytes(render("pdf", long_novel(chapters=8, characters=600)))
    data = path.read_bytes()
    xref = data.rindex(b"\nxref\n") + 1
    assert data.endswith(b"%%EOF\n") and int(data.split(b"startxref\n")[-1].split()[0]) == xref
    lines = data[xref:].split(b"\n")
    first, count = map(int, lines[1].split())
    assert first == 0 and count > 8 * 2
    for number, entry in enumerate(lines[3 : 2 + count], start=1):
        offset, _generation, kind = entry.split()
        assert kind == b"n"
        assert data[int(offset) :].startswith(b"%d 0 obj\n" % number), number
