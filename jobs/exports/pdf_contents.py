"""A PDF book's contents in one layout pass: page numbers drawn before they are known.

reportlab's TableOfContents lays the whole book out two or three times (one pass learns the pages,
the next prints them). Here each entry draws its title and dot leader, and shows its page number
through a form XObject named after the chapter, which a PDF may define anywhere in the file: the
form is defined when the chapter's title is laid out and its page is known. The page numbers sit
right-aligned in a column reserved at the right edge, so an entry's layout never depends on them.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape  # nosec B406 # escapes text for ReportLab; parses no XML

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

DOTS = " . "
DIGITS = 6  # room for page numbers up to 999,999
_END_OF_ENTRY = "inkweaveContentsEntry"  # the canvas callback each entry's paragraph calls


def chapter_key(number: int) -> str:
    """The bookmark of chapter `number` (1-based), which its contents entry links to."""
    return f"chapter-{number}"


def _form(number: int) -> str:
    return f"contents-page-{number}"


class Contents:
    """Entries `width` points wide in `style`, with dot leaders to their page numbers."""

    def __init__(self, style: ParagraphStyle, width: float) -> None:
        self.font, self.size, self.width = style.fontName, style.fontSize, width
        self.dot = stringWidth(DOTS, self.font, self.size)
        # Leader dots sit in cells counted from the right edge: the entry draws those left of
        # the reserved column, the page number's form those in it that its digits leave free.
        self.reserved_cells = math.ceil(stringWidth("0" * DIGITS, self.font, self.size) / self.dot)
        self.reserved = self.reserved_cells * self.dot
        self.style = ParagraphStyle(
            f"{style.name}-reserved", parent=style, rightIndent=self.reserved
        )

    def entry(self, number: int, title: str) -> Paragraph:
        link = f'<a href="#{chapter_key(number)}">{escape(title)}</a>'
        return Paragraph(f'{link}<onDraw name="{_END_OF_ENTRY}" label="{number}"/>', self.style)

    def start(self, canvas: Canvas) -> None:
        """Give `canvas` the callback that ends each entry."""
        canvas.setNamedCB(_END_OF_ENTRY, self._end_entry)

    def _end_entry(self, canvas: Canvas, _kind: str, label: str) -> None:
        # Where the entry's text ended, as reportlab tells its own contents' callback.
        x, y = canvas._curr_tx_info["cur_x"], canvas._curr_tx_info["cur_y"]
        last_cell = math.floor((self.width - x) / self.dot)
        if last_cell > self.reserved_cells:
            canvas.setFont(self.font, self.size)
            leader = DOTS * (last_cell - self.reserved_cells)
            canvas.drawString(self.width - last_cell * self.dot, y, leader)
        canvas.saveState()
        canvas.translate(self.width, y)
        canvas.doForm(_form(int(label)))
        canvas.restoreState()

    def chapter_on_page(self, canvas: Canvas, number: int, page: int) -> None:
        """Define the form that shows chapter `number`'s page in its entry."""
        text = str(page)
        first_free = math.ceil(stringWidth(text, self.font, self.size) / self.dot) + 1
        canvas.beginForm(
            _form(number),
            lowerx=-self.reserved - self.size,
            lowery=-self.size,
            upperx=self.size,
            uppery=2 * self.size,
        )
        canvas.setFont(self.font, self.size)
        if first_free <= self.reserved_cells:
            leader = DOTS * (self.reserved_cells - first_free + 1)
            canvas.drawString(-self.reserved, 0, leader)
        canvas.drawRightString(0, 0, text)
        canvas.endForm()
