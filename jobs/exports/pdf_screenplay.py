"""A screenplay as a PDF in the industry layout, laid out line by line on a fixed grid.

US Letter, 12 pt monospace at 6 lines an inch, 55 lines a page; 1.5" left and 1" right margins;
character cues at 3.7" from the page edge, parentheticals at 3.1", dialogue from 2.5" to 6.0",
transitions flush right; page numbers top right from page 2 ("2."). Latin text is set in Courier,
CJK text in the embedded monospaced CJK face (one CJK character is one em, 12 pt wide).

A grid rather than reportlab's flowables, because screenplay pagination has its own rules: a
scene heading never ends a page, a speech split across pages gets "(MORE)" and a "(CONT'D)" cue,
an action paragraph leaves at least two lines on each side of a break.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import BinaryIO

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from jobs.exports.fountain import BOLD, ITALIC, UNDERLINE, credit_for, emphasis, script_elements
from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    ProgressSteps,
    clean_line,
    has_cjk,
    is_cjk,
)
from jobs.exports.pdf_canvas import StreamingCanvas
from jobs.exports.pdf_marks import draw_mark, keywords

INCH = 72.0
PAGE_WIDTH, PAGE_HEIGHT = LETTER
FONT_SIZE = 12.0
LINE_HEIGHT = 12.0
LINES_PER_PAGE = 55
TOP_MARGIN = 1.0 * INCH
PAGE_NUMBER_BASELINE = PAGE_HEIGHT - 0.5 * INCH - 9
RIGHT_EDGE = 7.5 * INCH
COURIER_FACES = {
    0: "Courier",
    BOLD: "Courier-Bold",
    ITALIC: "Courier-Oblique",
    BOLD | ITALIC: "Courier-BoldOblique",
}
COURIER = COURIER_FACES[0]


@dataclass(frozen=True, slots=True)
class Column:
    left: float  # inches from the left page edge
    right: float
    align: str = "left"  # left | right | center
    space_before: int = 1  # blank lines
    upper: bool = False
    italic: bool = False
    underline: bool = False

    @property
    def width(self) -> float:
        return (self.right - self.left) * INCH


COLUMNS: dict[str, Column] = {
    "scene_heading": Column(1.5, 7.5, upper=True),
    "action": Column(1.5, 7.5),
    "character": Column(3.7, 7.5, upper=True),
    "parenthetical": Column(3.1, 5.6, space_before=0),
    "dialogue": Column(2.5, 6.0, space_before=0),
    "transition": Column(1.5, 7.5, align="right", upper=True),
    "centered": Column(1.5, 7.5, align="center"),
    "lyric": Column(1.5, 7.5, italic=True),
    "act": Column(1.5, 7.5, align="center", space_before=0, upper=True, underline=True),
    "title": Column(1.5, 7.5, align="center", space_before=0),
}
_NOT_PRINTED = {"section", "synopsis"}
_SPEECH = {"parenthetical", "dialogue"}


@dataclass(slots=True)
class Line:
    text: str
    kind: str
    styles: tuple[int, ...] = ()  # per character: BOLD | ITALIC | UNDERLINE


@dataclass(slots=True)
class Block:
    """Lines that paginate as a unit: an element, or a character cue with its speech."""

    kind: str
    lines: list[Line]
    new_page: bool = False
    cue: str | None = None
    space_before: int = 1


# ---- fonts and measuring ------------------------------------------------------------------


class _Fonts:
    def __init__(self, cjk: str) -> None:
        self.cjk = cjk

    def runs(
        self, text: str, styles: tuple[int, ...] = (), *, italic: bool = False
    ) -> list[tuple[str, str, bool]]:
        """Split a line into (font, text, underlined) runs: Latin in Courier (bold and italic
        faces as emphasised), everything else in the CJK face, which has one face only."""
        runs: list[tuple[str, str, bool]] = []
        previous = COURIER
        for index, char in enumerate(text):
            style = (styles[index] if index < len(styles) else 0) | (ITALIC if italic else 0)
            font = self._font_for(char, previous, COURIER_FACES[style & (BOLD | ITALIC)])
            underline = bool(style & UNDERLINE)
            if runs and runs[-1][0] == font and runs[-1][2] == underline:
                runs[-1] = (font, runs[-1][1] + char, underline)
            else:
                runs.append((font, char, underline))
            previous = font
        return runs

    def _font_for(self, char: str, previous: str, latin: str) -> str:
        if is_cjk(char):
            return self.cjk
        # Dashes, quotes and ellipses follow the script around them (“……” in Chinese).
        if previous == self.cjk and ("\u2010" <= char <= "\u206f" or char == "\u00b7"):
            return self.cjk
        return latin if _courier_has(char) else self.cjk

    def width(self, text: str) -> float:
        return sum(_char_width(char, self._font_for(char, COURIER, COURIER)) for char in text)


@lru_cache(maxsize=4096)
def _courier_has(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return char.isprintable()


@lru_cache(maxsize=65536)
def _char_width(char: str, font: str) -> float:
    return stringWidth(char, font, FONT_SIZE)


# ---- line breaking ----------------------------------------------------------------------

_NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·,.;:!?)]}%℃")
_NO_LINE_END = set("（《「『【〔〈“‘([{")
_UNIT = re.compile(r"\s+|[^\s]")


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[tuple[int, int]]:
    """Greedy line breaking (Latin at spaces, CJK between characters, kinsoku observed);
    each line is a slice (start, end) of `text` without the spaces at the break."""
    lines: list[tuple[int, int]] = []
    start = end = offset = 0
    line_width = 0.0
    empty = True
    for unit in _units(text):
        unit_start, offset = offset, offset + len(unit)
        core_end = unit_start + len(unit.rstrip())
        if core_end == unit_start and not empty:
            continue  # spaces wait until a word follows them
        added = measure(text[end:core_end])
        if empty or line_width + added <= width:
            end, line_width, empty = core_end, line_width + added, False
        else:
            lines.append((start, end))
            start, end, line_width = unit_start, core_end, measure(text[unit_start:core_end])
        while line_width > width and end - start > 1:  # a word longer than the line
            cut = _longest_fit(text, start, end, width, measure)
            lines.append((start, cut))
            start, line_width = cut, measure(text[cut:end])
    lines.append((start, end))
    return lines


def _units(text: str) -> list[str]:
    """Breakable units: a Latin word with its trailing spaces, or one CJK character;
    closing punctuation sticks to what precedes it, opening punctuation to what follows."""
    units: list[str] = []
    word = ""
    for piece in _UNIT.findall(text):
        if piece.isspace():
            if word:
                units.append(word + piece)
                word = ""
            elif units:
                units[-1] += piece
            else:
                units.append(piece)
        elif is_cjk(piece):
            if word:
                units.append(word)
                word = ""
            units.append(piece)
        else:
            word += piece
    if word:
        units.append(word)
    glued: list[str] = []
    for unit in units:
        if glued and (unit[0] in _NO_LINE_START or glued[-1].rstrip()[-1:] in _NO_LINE_END):
            glued[-1] += unit
        else:
            glued.append(unit)
    return glued


def _longest_fit(text: str, start: int, end: int, width: float, measure) -> int:
    cut = start + 1
    while cut < end and measure(text[start : cut + 1]) <= width:
        cut += 1
    return cut


# ---- from elements to blocks ---------------------------------------------------------------


def blocks_for(work: ExportWork, fonts: _Fonts, steps: ProgressSteps) -> list[Block]:
    blocks: list[Block] = []
    for number, chapter in enumerate(work.chapters, start=1):
        title = _lines("act", clean_line(chapter.title), fonts)
        blocks.append(Block("act", title, new_page=number > 1, space_before=0))
        blocks.extend(_chapter_blocks(script_elements(chapter.text), fonts))
        steps.fraction(number, len(work.chapters), end=50)
    return blocks


def _chapter_blocks(elements: Iterable, fonts: _Fonts) -> list[Block]:
    blocks: list[Block] = []
    for element in elements:
        kind = element.kind
        if kind in _NOT_PRINTED:
            continue
        if kind == "page_break":
            blocks.append(Block("page_break", []))
            continue
        if kind not in COLUMNS or kind in ("act", "title"):
            kind = "action"
        lines = _lines(kind, element.text, fonts)
        if kind in _SPEECH and blocks and blocks[-1].kind == "speech":
            blocks[-1].lines.extend(lines)
        elif kind == "character":
            blocks.append(Block("speech", lines, cue=lines[0].text))
        else:
            blocks.append(Block(kind, lines, space_before=COLUMNS[kind].space_before))
    return blocks


def _lines(kind: str, text: str, fonts: _Fonts) -> list[Line]:
    column = COLUMNS[kind]
    lines: list[Line] = []
    for paragraph in text.split("\n"):
        plain, styles = emphasis(paragraph)
        if column.upper:  # character by character, so styles stay aligned ("ß" stays "ß")
            plain = "".join(c.upper() if len(c.upper()) == 1 else c for c in plain)
        for start, end in wrap(plain, column.width, fonts.width):
            lines.append(Line(plain[start:end], kind, tuple(styles[start:end])))
    return lines


# ---- pagination ----------------------------------------------------------------------------


def paginate(blocks: list[Block]) -> list[list[Line | None]]:
    """Pages of up to 55 lines (None is a blank line)."""
    pages: list[list[Line | None]] = []
    page: list[Line | None] = []

    def turn() -> None:
        nonlocal page
        if page:
            pages.append(page)
        page = []

    for index, block in enumerate(blocks):
        if block.kind == "page_break":
            turn()
            continue
        if block.new_page:
            turn()
        lines = block.lines
        keep = _keep_with_next(block, blocks[index + 1 :])
        while lines:
            gap = block.space_before if page else 0
            room = LINES_PER_PAGE - len(page) - gap
            if len(lines) + (keep if page else 0) <= room:
                page.extend([None] * gap + lines)
                break
            split = _split_point(block, lines, room)
            if split == 0 and page:
                turn()
                continue
            if split == 0:  # too tall for an empty page: break it anywhere
                split = room - (1 if block.kind == "speech" else 0)
            page.extend([None] * gap + lines[:split])
            if block.kind == "speech":
                page.append(Line(_more(block.cue or ""), "character"))
                lines = [Line(_continued(block.cue or ""), "character"), *lines[split:]]
            else:
                lines = lines[split:]
            turn()
            block = replace(block, space_before=0)
    turn()
    return pages


def _keep_with_next(block: Block, following: list[Block]) -> int:
    """Lines of the next block that must share a page with this one (scene headings, acts)."""
    if block.kind not in ("scene_heading", "act") or not following:
        return 0
    nxt = following[0]
    if nxt.kind == "page_break" or nxt.new_page:
        return 0
    return nxt.space_before + min(len(nxt.lines), 2)


def _split_point(block: Block, lines: list[Line], room: int) -> int:
    """How many of `lines` may end this page (0: none; move the block to the next page)."""
    if block.kind == "speech":
        # cue + two lines of speech first, (MORE) takes a line, two lines carry over
        best = min(room - 1, len(lines) - 2)
        while best >= 3 and lines[best - 1].kind == "parenthetical":
            best -= 1
        return best if best >= 3 else 0
    if block.kind in ("action", "lyric", "centered"):
        best = min(room, len(lines) - 2)
        return best if best >= 2 else 0
    return 0


def _more(cue: str) -> str:
    return "（接下页）" if has_cjk(cue) else "(MORE)"


def _continued(cue: str) -> str:
    return f"{cue}（续）" if has_cjk(cue) else f"{cue} (CONT'D)"


# ---- drawing -------------------------------------------------------------------------------


def render_screenplay(
    work: ExportWork, options: ExportOptions, cjk_font: str, steps: ProgressSteps, out: BinaryIO
) -> None:
    fonts = _Fonts(cjk_font)
    pages = paginate(blocks_for(work, fonts, steps))
    canvas = StreamingCanvas(
        out,
        pagesize=LETTER,
        pageCompression=1,
        initialFontName=COURIER,
        lang="zh-CN",
    )
    canvas.setTitle(clean_line(work.title))
    canvas.setAuthor(clean_line(work.author))
    canvas.setCreator("Inkweave")
    canvas.setKeywords(keywords(options))
    if options.include_cover:
        draw_mark(canvas, options.watermark, LETTER, cjk_font)
        _title_page(canvas, work, fonts)
        canvas.showPage()
    for number, page in enumerate(pages, start=1):
        draw_mark(canvas, options.watermark, LETTER, cjk_font)
        if number > 1:
            number_runs = fonts.runs(f"{number}.")
            _draw_runs(canvas, number_runs, PAGE_NUMBER_BASELINE, RIGHT_EDGE, "right")
        for slot, line in enumerate(page):
            if line is not None:
                _draw_line(canvas, fonts, line, _baseline(slot))
        canvas.showPage()
        steps.fraction(number, len(pages), start=50, end=99)
    canvas.save()


def _title_page(canvas: Canvas, work: ExportWork, fonts: _Fonts) -> None:
    rows = [
        (20, clean_line(work.title).upper(), True),
        (23, credit_for(work), False),
        (25, clean_line(work.author), False),
    ]
    column = COLUMNS["title"]
    for slot, text, underline in rows:
        for offset, (start, end) in enumerate(wrap(text, column.width, fonts.width)):
            line = Line(text[start:end], "act" if underline else "title")
            _draw_line(canvas, fonts, line, _baseline(slot + offset))


def _baseline(slot: int) -> float:
    return PAGE_HEIGHT - TOP_MARGIN - (slot + 1) * LINE_HEIGHT + 3


def _draw_line(canvas: Canvas, fonts: _Fonts, line: Line, y: float) -> None:
    column = COLUMNS[line.kind]
    if column.align == "right":
        anchor = column.right * INCH
    elif column.align == "center":
        anchor = (column.left + column.right) / 2 * INCH
    else:
        anchor = column.left * INCH
    runs = fonts.runs(line.text, line.styles, italic=column.italic)
    _draw_runs(canvas, runs, y, anchor, column.align, underline=column.underline)


def _draw_runs(
    canvas: Canvas,
    runs: list[tuple[str, str, bool]],
    y: float,
    anchor: float,
    align: str,
    *,
    underline: bool = False,
) -> None:
    width = sum(stringWidth(text, font, FONT_SIZE) for font, text, _ in runs)
    x = {"right": anchor - width, "center": anchor - width / 2}.get(align, anchor)
    canvas.setLineWidth(0.6)
    for font, text, underlined in runs:
        advance = stringWidth(text, font, FONT_SIZE)
        canvas.setFont(font, FONT_SIZE)
        canvas.drawString(x, y, text)
        if (underline or underlined) and text.strip():
            canvas.line(x, y - 1.5, x + advance, y - 1.5)
        x += advance
