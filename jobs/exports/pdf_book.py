"""A novel as a PDF book: cover, contents with page numbers, one chapter per page run.

A5 pages (the trim of a Chinese paperback), the CJK font embedded, CJK line breaking with
reportlab's kinsoku rules, first-line indent of two characters, page numbers in the footer.
The contents is reportlab's TableOfContents, filled by a multi-pass build.
"""

from __future__ import annotations

import io
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
from reportlab.platypus.tableofcontents import TableOfContents

from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    ProgressSteps,
    clean_line,
    has_cjk,
    paragraphs,
)

PAGE = A5
MARGIN_X = 18 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 22 * mm
FOOTER_Y = 11 * mm


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


class _BookTemplate(BaseDocTemplate):
    def __init__(
        self,
        buffer: io.BytesIO,
        steps: ProgressSteps,
        chapters: int,
        *,
        cover: bool,
        footer_font: tuple[str, float],
        **kwargs: object,
    ) -> None:
        super().__init__(buffer, pagesize=PAGE, **kwargs)
        self._steps = steps
        self._chapters = chapters
        self._pass = 0
        self._font, self._size = footer_font
        frame = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            PAGE[0] - 2 * MARGIN_X,
            PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        numbered = PageTemplate("numbered", [frame], onPage=self._footer)
        unnumbered = PageTemplate("cover", [frame])
        # The first template in the list lays out page 1.
        self.addPageTemplates([unnumbered, numbered] if cover else [numbered, unnumbered])

    def beforeDocument(self) -> None:
        self._pass += 1

    def afterFlowable(self, flowable: Flowable) -> None:
        if not isinstance(flowable, _ChapterTitle):
            return
        key = f"chapter-{flowable.number}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(flowable.plain, key, level=0)
        self.notify("TOCEntry", (0, escape(flowable.plain), self.page, key))
        # Usually two passes: the first lays out, the second fills the contents' page numbers.
        start, end = (0, 60) if self._pass == 1 else (60, 95)
        self._steps.fraction(flowable.number, self._chapters, start=start, end=end)

    def _footer(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(self._font, self._size * 0.8)
        canvas.drawCentredString(PAGE[0] / 2, FOOTER_Y, str(doc.page))
        canvas.restoreState()


def render_book(work: ExportWork, options: ExportOptions, font: str, steps: ProgressSteps) -> bytes:
    styles = _Styles(font, options.font_size)
    chinese = has_cjk(work.title + work.author)
    story: list[Flowable] = []
    if options.include_cover:
        story.extend(_cover(work, styles, chinese))
        story.append(NextPageTemplate("numbered"))
        story.append(PageBreak())
    if options.include_toc and work.chapters:
        story.append(Paragraph("目录" if chinese else "Contents", styles.section_title))
        contents = TableOfContents(
            levelStyles=[styles.toc_entry],
            dotsMinLevel=0,
            # The table's own default font would add a non-embedded Helvetica to the file.
            tableStyle=[
                ("FONT", (0, 0), (-1, -1), font, options.font_size),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ],
        )
        story.append(contents)
        story.append(PageBreak())
    for number, chapter in enumerate(work.chapters, start=1):
        if number > 1:
            story.append(PageBreak())
        story.append(_ChapterTitle(clean_line(chapter.title), styles.chapter, number))
        story.extend(Paragraph(escape(p), styles.body(p)) for p in paragraphs(chapter.text))
    buffer = io.BytesIO()
    template = _BookTemplate(
        buffer,
        steps,
        len(work.chapters),
        cover=options.include_cover,
        footer_font=(font, options.font_size),
        title=clean_line(work.title),
        author=clean_line(work.author),
        subject=clean_line(work.genre or ""),
        creator="Inkweave",
        lang="zh-CN" if chinese else "en",
        initialFontName=font,
    )
    if not story:
        story.append(Spacer(1, 1))
    template.multiBuild(story)
    return buffer.getvalue()


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
