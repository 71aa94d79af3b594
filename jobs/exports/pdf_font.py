"""The CJK TrueType font as reportlab measures it, one character at a time.

reportlab breaks CJK lines by measuring every character on its own, through a general routine
(any text, any encoding); most of a long book's layout time went there. One character's width
is computed here directly, with the same arithmetic, so the layout is unchanged.
"""

from __future__ import annotations

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
