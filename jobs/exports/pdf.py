"""PDF export with an embedded CJK font: novels as books, screenplays in the industry layout."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from jobs.exports.fonts import find_cjk_fonts, pdf_font_name
from jobs.exports.model import ExportOptions, ExportWork, Progress, ProgressSteps
from jobs.exports.pdf_book import render_book
from jobs.exports.pdf_screenplay import render_screenplay


def write(
    work: ExportWork,
    options: ExportOptions,
    out: BinaryIO,
    progress: Progress | None = None,
    *,
    font_path: str | Path | None = None,
) -> None:
    """`font_path` overrides the system CJK font (a TrueType .ttf/.ttc; `path#N` picks face N)."""
    steps = ProgressSteps(progress)
    fonts = find_cjk_fonts(font_path)
    if work.is_script:
        render_screenplay(work, options, pdf_font_name(fonts.mono), steps, out)
    else:
        render_book(work, options, pdf_font_name(fonts.regular), steps, out)
    steps.finish()
