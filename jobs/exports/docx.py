"""Word (.docx) export through python-docx.

Novels: an A4 manuscript as Chinese publishers expect it (宋体 body, 黑体 headings, first-line
indent of two characters, chapters as Heading 1 on new pages), with a cover and a table of
contents. Screenplays: US Letter, 12 pt Courier New with 宋体 for CJK text, the element styles
and indents of the industry layout, page numbers top right from page 2.

python-docx cannot compute page numbers, so the contents is a real TOC field (Word refreshes it
on open, `updateFields`) whose cached result lists the chapter titles, so it is never empty.
"""

from __future__ import annotations

from functools import partial
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph

from jobs.exports.docx_comments import WordComments
from jobs.exports.fountain import BOLD, ITALIC, UNDERLINE, credit_for, script_elements, spans
from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    Progress,
    ProgressSteps,
    Watermark,
    clean_line,
    has_cjk,
    paragraphs,
)

LATIN_SERIF = "Times New Roman"
LATIN_SANS = "Arial"
LATIN_MONO = "Courier New"
CJK_SERIF = "宋体"
CJK_SANS = "黑体"

# Screenplay element styles: (style name, left indent, right indent, space before, alignment).
# Indents are from the 1.5" left margin: cue at 3.7", parenthetical 3.1", dialogue 2.5"–6.0".
SCRIPT_STYLES: dict[str, tuple[str, float, float, int, WD_ALIGN_PARAGRAPH]] = {
    "scene_heading": ("Scene Heading", 0, 0, 12, WD_ALIGN_PARAGRAPH.LEFT),
    "action": ("Action", 0, 0, 12, WD_ALIGN_PARAGRAPH.LEFT),
    "character": ("Character", 2.2, 0, 12, WD_ALIGN_PARAGRAPH.LEFT),
    "parenthetical": ("Parenthetical", 1.6, 1.9, 0, WD_ALIGN_PARAGRAPH.LEFT),
    "dialogue": ("Dialogue", 1.0, 1.5, 0, WD_ALIGN_PARAGRAPH.LEFT),
    "transition": ("Transition", 0, 0, 12, WD_ALIGN_PARAGRAPH.RIGHT),
    "centered": ("Centered", 0, 0, 12, WD_ALIGN_PARAGRAPH.CENTER),
    "lyric": ("Lyrics", 0, 0, 12, WD_ALIGN_PARAGRAPH.LEFT),
}
SCRIPT_STYLE_NAMES = {name: kind for kind, (name, *_rest) in SCRIPT_STYLES.items()}
_KEEP_WITH_NEXT = {"scene_heading", "character", "parenthetical"}
_UPPER_CASE = {"scene_heading", "character", "transition"}
_NOT_PRINTED = {"section", "synopsis"}


def write(
    work: ExportWork, options: ExportOptions, out: BinaryIO, progress: Progress | None = None
) -> None:
    """python-docx holds the whole document until it saves; chapters are still read one at a
    time, so the work's text is not held twice."""
    steps = ProgressSteps(progress)
    document = Document()
    script = work.is_script
    _set_up_styles(document, options, script=script)
    body = document.sections[0]
    _page_setup(body, script=script)
    if options.include_cover:
        _cover(document, work, script=script)
        body = document.add_section(WD_SECTION.NEW_PAGE)
        _page_setup(body, script=script)
    _page_numbers(body, script=script)
    if options.include_toc and work.chapters and not script:
        _contents(document, work)
    heading_style = document.styles["Heading 1"]
    body_style = document.styles["Body Text"]
    add = partial(_add_paragraph, document)
    notes = WordComments(document, work.comments)
    for done, chapter in enumerate(work.chapters, start=1):
        _add_paragraph(document, clean_line(chapter.title), heading_style)
        anchored = notes.placeable(done - 1, chapter.text, script=script)
        if script:
            _script_chapter(document, chapter.text)
        elif anchored:
            notes.write_chapter(add, chapter.text, body_style, anchored)
        else:
            for paragraph in paragraphs(chapter.text):
                _add_paragraph(document, paragraph, body_style)
        steps.fraction(done, len(work.chapters), end=95)
    notes.write_appendix(add, work.titles, heading_style, body_style)
    document.core_properties.title = clean_line(work.title)
    document.core_properties.author = clean_line(work.author)
    if work.genre:
        document.core_properties.category = clean_line(work.genre)
    document.core_properties.language = "zh-CN" if has_cjk(work.title) else "en-US"
    if options.watermark is not None:
        _mark(document, options.watermark)
    document.save(out)
    steps.finish()


def _mark(document: DocxDocument, mark: Watermark) -> None:
    """The export id in the file's properties; when visible, a grey line in every page's footer
    (the first page's too, where a section has its own)."""
    document.core_properties.identifier = mark.mark_id
    document.core_properties.keywords = mark.keyword
    if not mark.visible:
        return
    for section in document.sections:
        footers = [section.footer]
        if section.different_first_page_header_footer:
            footers.append(section.first_page_footer)
        for footer in footers:
            footer.is_linked_to_previous = False
            paragraph = footer.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(mark.text)
            run.font.size = Pt(7)
            run.font.color.rgb = RGBColor(0x99, 0x99, 0x99)


def _set_up_styles(document: DocxDocument, options: ExportOptions, *, script: bool) -> None:
    styles = document.styles
    size = Pt(12 if script else options.font_size)
    body_latin, body_cjk = (LATIN_MONO, CJK_SERIF) if script else (LATIN_SERIF, CJK_SERIF)
    head_latin, head_cjk = (LATIN_MONO, CJK_SERIF) if script else (LATIN_SANS, CJK_SANS)

    defaults = styles.element.find(qn("w:docDefaults"))
    default_rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(default_rpr, body_latin, body_cjk)
    lang = default_rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")

    normal = styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), body_latin, body_cjk)
    normal.font.size = size
    normal.paragraph_format.space_after = Pt(0)
    if script:
        normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        normal.paragraph_format.line_spacing = Pt(12)

    heading = styles["Heading 1"]
    _set_fonts(heading.element.get_or_add_rPr(), head_latin, head_cjk)
    heading.font.color.rgb = RGBColor(0, 0, 0)
    heading.font.size = Pt(12) if script else Pt(options.font_size * 1.5)
    heading.font.bold = True
    heading_format = heading.paragraph_format
    heading_format.page_break_before = True
    heading_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading_format.space_before = Pt(0 if script else options.font_size * 2)
    heading_format.space_after = Pt(12 if script else options.font_size * 2)
    if script:
        heading.font.underline = True

    for name in ("Title", "Subtitle", "TOC Heading"):
        style = styles[name]
        _set_fonts(style.element.get_or_add_rPr(), head_latin, head_cjk)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
        style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _remove_borders(styles["Title"])
    styles["Title"].font.size = Pt(12) if script else Pt(options.font_size * 2.5)
    styles["Subtitle"].font.size = Pt(12) if script else Pt(options.font_size * 1.25)
    styles["TOC Heading"].font.size = Pt(12) if script else Pt(options.font_size * 1.5)

    body = styles["Body Text"]
    body_format = body.paragraph_format
    body_format.space_after = Pt(0)
    if not script:
        body_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        body_format.line_spacing = 1.5
        body_format.first_line_indent = Pt(options.font_size * 2)
        # Word measures the indent in characters when firstLineChars is set: 200 = two.
        body.element.get_or_add_pPr().get_or_add_ind().set(qn("w:firstLineChars"), "200")

    toc = styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    toc.base_style = normal
    toc.paragraph_format.space_after = Pt(6)

    if script:
        _add_script_styles(document)


def _add_script_styles(document: DocxDocument) -> None:
    for kind, (name, left, right, before, alignment) in SCRIPT_STYLES.items():
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        fmt = style.paragraph_format
        fmt.left_indent = Inches(left)
        fmt.right_indent = Inches(right)
        fmt.space_before = Pt(before)
        fmt.alignment = alignment
        fmt.keep_with_next = kind in _KEEP_WITH_NEXT
        fmt.widow_control = True
        style.font.italic = kind == "lyric"
        # Upper case as formatting, so the writer's own text survives a round trip.
        style.font.all_caps = kind in _UPPER_CASE


def _add_paragraph(document: DocxDocument, text: str, style: BaseStyle) -> Paragraph:
    """`document.add_paragraph(text, style)` in constant time. python-docx searches every style
    for the default one and every body child for the section properties on each call, which
    made a 100,000-character screenplay take seconds."""
    element = OxmlElement("w:p")
    element.style = style.style_id
    document.element.body[-1].addprevious(element)  # the body's last child is its w:sectPr
    paragraph = Paragraph(element, document._body)
    if text:
        paragraph.add_run(text)
    return paragraph


def _set_fonts(rpr: OxmlElement, latin: str, east_asian: str) -> None:
    """Name the fonts outright: theme attributes would win over them, so they go."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def _remove_borders(style: BaseStyle) -> None:
    ppr = style.element.pPr
    if ppr is not None:
        for border in ppr.findall(qn("w:pBdr")):
            ppr.remove(border)


def _page_setup(section, *, script: bool) -> None:
    if script:
        section.page_width, section.page_height = Inches(8.5), Inches(11)
        section.left_margin, section.right_margin = Inches(1.5), Inches(1)
        section.top_margin, section.bottom_margin = Inches(1), Inches(1)
        section.header_distance = Inches(0.5)
    else:
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.left_margin = section.right_margin = Cm(3.17)
        section.top_margin = section.bottom_margin = Cm(2.54)


def _page_numbers(section, *, script: bool) -> None:
    """Number the body from 1: screenplays top right from page 2 ("2."), books at the foot."""
    section.header.is_linked_to_previous = False
    section.footer.is_linked_to_previous = False
    page_type = OxmlElement("w:pgNumType")
    page_type.set(qn("w:start"), "1")
    # sectPr children have a fixed order; Word refuses a file that breaks it.
    section._sectPr.insert_element_before(page_type, *_AFTER_PAGE_NUMBER_TYPE)
    if script:
        section.different_first_page_header_footer = True
        paragraph = section.header.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _field(paragraph, "PAGE", "1")
        paragraph.add_run(".")
    else:
        paragraph = section.footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _field(paragraph, "PAGE", "1")


def _cover(document: DocxDocument, work: ExportWork, *, script: bool) -> None:
    chinese = has_cjk(work.title + work.author)
    title = document.add_paragraph(clean_line(work.title), document.styles["Title"])
    title.paragraph_format.space_before = Inches(3 if script else 2.5)
    title.paragraph_format.space_after = Pt(24)
    lines: list[str] = []
    if script:
        lines = [credit_for(work), clean_line(work.author)]
    else:
        if work.author.strip():
            lines.append(("作者：" if chinese else "by ") + clean_line(work.author))
        if work.genre and work.genre.strip():
            lines.append(("类型：" if chinese else "Genre: ") + clean_line(work.genre))
    for line in filter(None, lines):
        document.add_paragraph(line, document.styles["Subtitle"])
    if not script and work.description and paragraphs(work.description):
        label = document.add_paragraph("内容简介" if chinese else "About this book")
        label.style = document.styles["Subtitle"]
        label.paragraph_format.space_before = Inches(1)
        for paragraph in paragraphs(work.description):
            document.add_paragraph(paragraph, document.styles["Body Text"])


def _contents(document: DocxDocument, work: ExportWork) -> None:
    title = "目录" if has_cjk(work.title + work.author) else "Contents"
    document.add_paragraph(title, document.styles["TOC Heading"])
    toc_style = document.styles["toc 1"]
    titles = work.titles
    entries = [_add_paragraph(document, "", toc_style) for _ in titles]
    _field_begin(entries[0], r'TOC \o "1-1" \h \z \u')
    for entry, title in zip(entries, titles, strict=True):
        entry.add_run(clean_line(title))
    _field_char(entries[-1], "end")
    _update_fields_on_open(document)


def _field(paragraph: Paragraph, instruction: str, cached: str) -> None:
    _field_begin(paragraph, instruction)
    paragraph.add_run(cached)
    _field_char(paragraph, "end")


def _field_begin(paragraph: Paragraph, instruction: str) -> None:
    _field_char(paragraph, "begin")
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)
    _field_char(paragraph, "separate")


def _field_char(paragraph: Paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(char)


_AFTER_PAGE_NUMBER_TYPE = (
    "w:cols",
    "w:formProt",
    "w:vAlign",
    "w:noEndnote",
    "w:titlePg",
    "w:textDirection",
    "w:bidi",
    "w:rtlGutter",
    "w:docGrid",
    "w:printerSettings",
    "w:sectPrChange",
)
# CT_Settings is a sequence: updateFields must precede these elements when they are present.
_AFTER_UPDATE_FIELDS = ("w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat")


def _update_fields_on_open(document: DocxDocument) -> None:
    settings = document.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    for tag in _AFTER_UPDATE_FIELDS:
        successor = settings.find(qn(tag))
        if successor is not None:
            successor.addprevious(update)
            return
    settings.append(update)


def _script_chapter(document: DocxDocument, text: str) -> None:
    styles = {kind: document.styles[name] for kind, (name, *_rest) in SCRIPT_STYLES.items()}
    for element in script_elements(text):
        if element.kind in _NOT_PRINTED:
            continue
        if element.kind == "page_break":
            _add_paragraph(document, "", styles["action"]).add_run().add_break(WD_BREAK.PAGE)
            continue
        style = styles.get(element.kind, styles["action"])
        paragraph = _add_paragraph(document, "", style)
        for number, line in enumerate(element.text.split("\n")):
            if number:
                paragraph.add_run().add_break()
            for text, emphasis in spans(line):
                run = paragraph.add_run(text)
                if emphasis:  # setting None would still add an empty <w:rPr> to every run
                    run.bold = bool(emphasis & BOLD) or None
                    run.italic = bool(emphasis & ITALIC) or None
                    run.underline = bool(emphasis & UNDERLINE) or None
