"""Word (.docx) files: chapters at the top heading level, paragraphs as they are.

Headings are found by outline level (a paragraph's own, or its style's), by the built-in style
names in English or Chinese Word ("Heading 1", "标题 1"), and, for files that use no heading
styles at all, by the text patterns of plain-text novels (第一章 ...). A document written in the
screenplay styles of our own export comes back as a script, in Fountain.
"""

from __future__ import annotations

import io
import re
import zipfile
from itertools import pairwise
from pathlib import PurePath

from docx import Document
from docx.oxml.ns import qn
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph

from jobs.exports.docx import SCRIPT_STYLE_NAMES
from jobs.exports.model import ExportChapter, ProgressSteps
from jobs.imports.model import CorruptFile, EmptyFile, ImportedWork
from jobs.imports.txt import is_chapter_heading
from storage.text import fountain

MAX_UNCOMPRESSED = 256 * 1024 * 1024  # a zip bomb stops here, not in memory
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_SKIPPED_STYLES = re.compile(r"^(?:toc \d|toc heading|目录 \d|header|footer)$", re.IGNORECASE)
_COVER_STYLES = {"title", "subtitle"}
_AUTHOR = re.compile(r"^(?:作者\s*[:：]|by\s+)(.+)$", re.IGNORECASE)
_BLURB_LABELS = {"内容简介", "简介", "about this book"}


def parse(filename: str, data: bytes, steps: ProgressSteps) -> ImportedWork:
    document = _open(filename, data)
    steps.report(20)
    blocks = [(p, _style_name(p), p.text.strip()) for p in document.paragraphs]
    blocks = [b for b in blocks if b[2] and not _SKIPPED_STYLES.match(b[1])]
    if not blocks:
        raise EmptyFile(f"{filename} has no text")
    script = any(name in SCRIPT_STYLE_NAMES for _, name, _ in blocks)
    levels = [_outline_level(paragraph) for paragraph, _, _ in blocks]
    present = [level for level in levels if level is not None]
    if present:
        top = min(present)
        starts = [i for i, level in enumerate(levels) if level == top]
    else:
        starts = [i for i, (_, _, text) in enumerate(blocks) if is_chapter_heading(text)]

    cover_end = starts[0] if starts else 0
    title, author, description = _cover(blocks[:cover_end])
    title = document.core_properties.title.strip() or title or PurePath(filename).stem
    author = document.core_properties.author.strip() or author

    chapters: list[ExportChapter] = []
    if not starts:
        chapters.append(ExportChapter(title, _chapter_text(blocks, script)))
    bounds = [*starts, len(blocks)]
    for number, (start, end) in enumerate(pairwise(bounds), start=1):
        body = _chapter_text(blocks[start + 1 : end], script)
        chapters.append(ExportChapter(blocks[start][2], body))
        steps.fraction(number, len(starts), start=20, end=95)
    return ImportedWork(title, "script" if script else "novel", chapters, author, description)


def _open(filename: str, data: bytes):
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CorruptFile(
            f"{filename} is not a .docx file (Word 2007 or later); "
            "save older .doc files as .docx first"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "word/document.xml" not in archive.namelist():
            raise CorruptFile(f"{filename} is a zip archive but not a Word document")
        if sum(entry.file_size for entry in archive.infolist()) > MAX_UNCOMPRESSED:
            raise CorruptFile(f"{filename} unpacks to more than {MAX_UNCOMPRESSED >> 20} MiB")
    try:
        return Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds (KeyError, lxml errors, ...)
        raise CorruptFile(f"{filename} cannot be read as a Word document: {exc}") from exc


def _style_name(paragraph: Paragraph) -> str:
    try:
        style = paragraph.style
    except (KeyError, ValueError):
        return ""
    return (style.name or "") if style is not None else ""


def _outline_level(paragraph: Paragraph) -> int | None:
    """0 for a chapter-level heading; None for body text."""
    own = _pPr_outline(paragraph._p.pPr)
    if own is not None:
        return own
    try:
        style: BaseStyle | None = paragraph.style
    except (KeyError, ValueError):
        return None
    while style is not None:
        match = _HEADING_NAME.match(style.name or "")
        if match:
            return int(match.group(1)) - 1
        level = _pPr_outline(style.element.pPr)
        if level is not None:
            return level
        style = style.base_style
    return None


def _pPr_outline(ppr) -> int | None:
    if ppr is None:
        return None
    element = ppr.find(qn("w:outlineLvl"))
    if element is None:
        return None
    value = int(element.get(qn("w:val"), "9"))
    return value if value < 9 else None  # 9 = body text


def _cover(blocks: list[tuple[Paragraph, str, str]]) -> tuple[str | None, str | None, str | None]:
    """(title, author, description) from what precedes the first chapter."""
    title = author = None
    blurb: list[str] = []
    for _, style, text in blocks:
        name = style.lower()
        if name == "title" and title is None:
            title = text
        elif name in _COVER_STYLES and _AUTHOR.match(text):
            author = _AUTHOR.match(text).group(1).strip()
        elif name in _COVER_STYLES or text.lower() in _BLURB_LABELS:
            continue
        elif title is None and len(text) <= 50 and not blurb:
            title = text
        else:
            blurb.append(text)
    return title, author, "\n".join(blurb) or None


def _chapter_text(blocks: list[tuple[Paragraph, str, str]], script: bool) -> str:
    if not script:
        return "\n".join(text for _, _, text in blocks)
    elements = [
        fountain.Element(SCRIPT_STYLE_NAMES.get(style, "action"), _with_emphasis(paragraph))
        for paragraph, style, _ in blocks
    ]
    return fountain.write(fountain.Script({}, elements)).rstrip("\n")


def _with_emphasis(paragraph: Paragraph) -> str:
    """The paragraph's text with its bold, italic and underlined runs as Fountain markers."""
    parts: list[str] = []
    for run in paragraph.runs:
        text = run.text
        core = text.strip()
        stars = "*" * ((2 if run.bold else 0) + (1 if run.italic else 0))
        marker = ("_" if run.underline else "") + stars
        if not core or not marker:
            parts.append(text)
            continue
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        parts.append(f"{lead}{marker}{core}{marker[::-1]}{trail}")
    return "".join(parts).strip("\n")
