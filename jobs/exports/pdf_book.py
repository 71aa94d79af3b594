"""A novel as a PDF book: cover, contents with page numbers, one chapter per page run.

A5 pages (the trim of a Chinese paperback), the CJK font embedded, CJK line breaking with
reportlab's kinsoku rules, first-line indent of two characters, page numbers in the footer.

One layout pass, a chapter at a time: the story is made as the build reaches each chapter (so
only that chapter's text and paragraphs are held), the contents shows page numbers defined as the
chapters are laid out (`pdf_contents`), and each finished page is written into the file at once
(`pdf_canvas`). What stays in memory is one chapter and a few objects per page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.sax.saxutils import escape  # nosec B406 # escapes text for ReportLab; parses no XML

from reportlab.lib import textsplit
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)
from reportlab.platypus import paragraph as rl_paragraph

from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    ProgressSteps,
    Watermark,
    clean_line,
    has_cjk,
    paragraphs,
)
from jobs.exports.pdf_canvas import StreamingCanvas
from jobs.exports.pdf_contents import Contents, chapter_key
from jobs.exports.pdf_marks import draw_mark, keywords

PAGE = A5
MARGIN_X = 18 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 22 * mm
FOOTER_Y = 11 * mm
TEXT_WIDTH = PAGE[0] - 2 * MARGIN_X


# reportlab's kinsoku list is Japanese; without Chinese closing punctuation a line could start
# with "，" or "”". Both wrapping paths read it as a module global at wrap time: extend it once.
_CHINESE_CANNOT_START = "，。、；：？！）》」』】〕〉”’…—·～％"
for _module in (textsplit, rl_paragraph):
    if _CHINESE_CANNOT_START not in _module.ALL_CANNOT_START:
        _module.ALL_CANNOT_START += _CHINESE_CANNOT_START


class _Styles:
    def __init__(self, font: str, size: float) -> None:
        self.font = font
        self.size = size
        leading = size * 1.7
        self.body_cjk = ParagraphStyle(
            "body-cjk",
            fontName=font,
            fontSize=size,
            leading=leading,
            firstLineIndent=size * 2,
            alignment=TA_JUSTIFY,
            wordWrap="CJK",
        )
        self.body_latin = ParagraphStyle("body-latin", parent=self.body_cjk, wordWrap=None)
        self.chapter = ParagraphStyle(
            "chapter",
            fontName=font,
            fontSize=size * 1.5,
            leading=size * 2.2,
            alignment=TA_CENTER,
            spaceBefore=size * 3,
            spaceAfter=size * 2.5,
            wordWrap="CJK",
        )
        self.cover_title = ParagraphStyle(
            "cover-title",
            parent=self.chapter,
            fontSize=size * 2.5,
            leading=size * 3.2,
            spaceBefore=0,
            spaceAfter=size * 2,
        )
        self.cover_line = ParagraphStyle(
            "cover-line",
            parent=self.chapter,
            fontSize=size * 1.1,
            leading=size * 2,
            spaceBefore=0,
            spaceAfter=size * 0.5,
        )
        self.section_title = ParagraphStyle("section", parent=self.chapter, spaceBefore=size)
        self.toc_entry = ParagraphStyle(
            "toc-entry",
            fontName=font,
            fontSize=size,
            leading=size * 1.8,
            leftIndent=0,
            rightIndent=size * 3,
            firstLineIndent=0,
            wordWrap="CJK",
        )

    def body(self, text: str) -> ParagraphStyle:
        return self.body_cjk if has_cjk(text) else self.body_latin


class _ChapterTitle(Paragraph):
    """A chapter title: the build bookmarks it and lists it in the contents."""

    def __init__(self, text: str, style: ParagraphStyle, number: int) -> None:
        super().__init__(escape(text), style)
        self.plain = text
        self.number = number


class _Story(list[Flowable]):
    """The flowables still to lay out, made a chapter at a time as the build comes to them:
    reportlab's build takes flowables off the front and asks for the length before each one."""

    def __init__(self, head: list[Flowable], chapters: Iterator[list[Flowable]]) -> None:
        super().__init__(head)
        self._chapters = chapters

    def __len__(self) -> int:
        # Two left, so that a flowable kept with the next one always has it to hand.
        while super().__len__() < 2:
            more = next(self._chapters, None)
            if more is None:
                break
            self.extend(more)
        return super().__len__()


class _BookTemplate(BaseDocTemplate):
    def __init__(
        self,
        out: BinaryIO,
        steps: ProgressSteps,
        chapters: int,
        contents: Contents | None,
        *,
        cover: bool,
        footer_font: tuple[str, float],
        mark: Watermark | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(out, pagesize=PAGE, **kwargs)
        self._mark = mark
        self._steps = steps
        self._chapters = chapters
        self._contents = contents
        self._font, self._size = footer_font
        frame = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            TEXT_WIDTH,
            PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        numbered = PageTemplate("numbered", [frame], onPage=self._footer)
        unnumbered = PageTemplate("cover", [frame], onPage=self._mark_page)
        # The first template in the list lays out page 1.
        self.addPageTemplates([unnumbered, numbered] if cover else [numbered, unnumbered])

    def beforeDocument(self) -> None:
        if self._contents is not None:
            self._contents.start(self.canv)

    def afterFlowable(self, flowable: Flowable) -> None:
        if not isinstance(flowable, _ChapterTitle):
            return
        key = chapter_key(flowable.number)
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(flowable.plain, key, level=0)
        if self._contents is not None:
            self._contents.chapter_on_page(self.canv, flowable.number, self.page)
        self._steps.fraction(flowable.number, self._chapters, end=95)

    def _mark_page(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        draw_mark(canvas, self._mark, PAGE, self._font)

    def _footer(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        self._mark_page(canvas, doc)
        canvas.saveState()
        canvas.setFont(self._font, self._size * 0.8)
        canvas.drawCentredString(PAGE[0] / 2, FOOTER_Y, str(doc.page))
        canvas.restoreState()


def render_book(
    work: ExportWork, options: ExportOptions, font: str, steps: ProgressSteps, out: BinaryIO
) -> None:
    styles = _Styles(font, options.font_size)
    chinese = has_cjk(work.title + work.author)
    head: list[Flowable] = []
    if options.include_cover:
        head.extend(_cover(work, styles, chinese))
        head.append(NextPageTemplate("numbered"))
        head.append(PageBreak())
    contents = None
    if options.include_toc and work.chapters:
        contents = Contents(styles.toc_entry, TEXT_WIDTH)
        head.append(Paragraph("目录" if chinese else "Contents", styles.section_title))
        head.extend(
            contents.entry(number, clean_line(title))
            for number, title in enumerate(work.titles, start=1)
        )
        head.append(PageBreak())
    if not head and not work.chapters:
        head.append(Spacer(1, 1))
    template = _BookTemplate(
        out,
        steps,
        len(work.chapters),
        contents,
        cover=options.include_cover,
        footer_font=(font, options.font_size),
        mark=options.watermark,
        title=clean_line(work.title),
        author=clean_line(work.author),
        subject=clean_line(work.genre or ""),
        keywords=keywords(options),
        creator="Inkweave",
        lang="zh-CN" if chinese else "en",
        initialFontName=font,
    )
    template.build(_Story(head, _chapters(work, styles)), canvasmaker=StreamingCanvas)


def _chapters(work: ExportWork, styles: _Styles) -> Iterator[list[Flowable]]:
    """Each chapter's flowables, made when the build reaches it: its text is read then."""
    for number, chapter in enumerate(work.chapters, start=1):
        flowables: list[Flowable] = [PageBreak()] if number > 1 else []
        flowables.append(_ChapterTitle(clean_line(chapter.title), styles.chapter, number))
        flowables.extend(Paragraph(escape(p), styles.body(p)) for p in paragraphs(chapter.text))
        yield flowables


def _cover(work: ExportWork, styles: _Styles, chinese: bool) -> list[Flowable]:
    cover: list[Flowable] = [
        Spacer(1, (PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM) * 0.28),
        Paragraph(escape(clean_line(work.title)), styles.cover_title),
    ]
    if work.author.strip():
        label = "作者：" if chinese else "by "
        cover.append(Paragraph(escape(label + clean_line(work.author)), styles.cover_line))
    if work.genre and work.genre.strip():
        label = "类型：" if chinese else "Genre: "
        cover.append(Paragraph(escape(label + clean_line(work.genre)), styles.cover_line))
    blurb = paragraphs(work.description or "")
    if blurb:
        cover.append(NextPageTemplate("numbered"))
        cover.append(PageBreak())
        cover.append(Paragraph("内容简介" if chinese else "About this book", styles.section_title))
        cover.extend(Paragraph(escape(p), styles.body(p)) for p in blurb)
    return cover
