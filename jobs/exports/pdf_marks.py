"""What a PDF carries of its watermark: the export id in the metadata and the visible mark on
every page (its password is put on afterwards: `pdf_lock`)."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from jobs.exports.model import ExportOptions, Watermark

MARK_GRAY = 0.55
MARK_ALPHA = 0.18


def keywords(options: ExportOptions) -> str:
    return options.watermark.keyword if options.watermark is not None else ""


def draw_mark(canvas: Canvas, mark: Watermark | None, size: tuple[float, float], font: str) -> None:
    """A light diagonal line across the page and a small one at its foot (the account, the date
    and the export id); nothing unless the mark is to be visible."""
    if mark is None or not mark.visible:
        return
    width, height = size
    canvas.saveState()
    canvas.setFillGray(MARK_GRAY, alpha=MARK_ALPHA)
    canvas.setFont(font, 16)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, mark.text)
    canvas.restoreState()
    canvas.saveState()
    canvas.setFillGray(MARK_GRAY, alpha=0.6)
    canvas.setFont(font, 6)
    canvas.drawCentredString(width / 2, 12, mark.text)
    canvas.restoreState()
