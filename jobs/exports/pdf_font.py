"""The CJK TrueType font as reportlab measures it, one character at a time.

reportlab breaks CJK lines by measuring every character on its own, through a general routine
(any text, any encoding): `textsplit.getCharWidths` asks `pdfmetrics.stringWidth`, which asks the
font, once per character; most of a long book's layout time went there. For this font the widths
of a whole run are computed here in one pass, with the same arithmetic, so the layout is
unchanged; any other font is measured by reportlab's own routine.
"""

from __future__ import annotations

from reportlab.lib import textsplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont


class MeasuredFont(TTFont):
    def __init__(self, name: str, filename: str, *, subfontIndex: int = 0) -> None:
        super().__init__(name, filename, subfontIndex=subfontIndex)
        self._width_of = self.face.charWidths.get
        self._default_width = self.face.defaultWidth

    def stringWidth(self, text: str | bytes, size: float, encoding: str = "utf8") -> float:
        if isinstance(text, str) and len(text) == 1:
            return 0.001 * size * self._width_of(ord(text), self._default_width)
        width: float = super().stringWidth(text, size, encoding)
        return width

    def char_widths(self, text: str, size: float) -> list[float]:
        """`stringWidth` of each character of `text`."""
        width_of, default = self._width_of, self._default_width
        return [0.001 * size * width_of(ord(char), default) for char in text]


_reportlab_char_widths = textsplit.getCharWidths


def _char_widths(word: str, font_name: str, font_size: float) -> list[float]:
    font = pdfmetrics.getFont(font_name)
    if isinstance(font, MeasuredFont) and isinstance(word, str):
        return font.char_widths(word, font_size)
    widths: list[float] = _reportlab_char_widths(word, font_name, font_size)
    return widths


# `textsplit.wordSplit` (reportlab's CJK line breaking) reads it as a module global.
textsplit.getCharWidths = _char_widths
