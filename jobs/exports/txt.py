"""Plain text export: UTF-8, LF line ends, as Chinese web-novel sites and e-readers expect.

A novel: the title block, then each chapter's title and its paragraphs, indented with two
ideographic spaces and separated by a blank line. A screenplay: its Fountain text, which is
plain text meant to be read as it is.
"""

from __future__ import annotations

from typing import BinaryIO

from jobs.exports import fountain
from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    Progress,
    ProgressSteps,
    clean_line,
    paragraphs,
)

INDENT = "\u3000\u3000"
BETWEEN_BLOCKS = "\n\n\n"


def write(
    work: ExportWork, options: ExportOptions, out: BinaryIO, progress: Progress | None = None
) -> None:
    """Write the file to `out` a block at a time: the title block, then each chapter."""
    if work.is_script:
        fountain.write(work, options, out, progress)
        return
    steps = ProgressSteps(progress)
    separator = ""
    if options.include_cover:
        out.write(_title_block(work).encode("utf-8"))
        separator = BETWEEN_BLOCKS
    for done, chapter in enumerate(work.chapters, start=1):
        lines = [clean_line(chapter.title)]
        lines.extend(INDENT + paragraph for paragraph in paragraphs(chapter.text))
        out.write((separator + "\n\n".join(lines)).encode("utf-8"))
        separator = BETWEEN_BLOCKS
        steps.fraction(done, len(work.chapters))
    out.write(b"\n")
    steps.finish()


def _title_block(work: ExportWork) -> str:
    lines = [clean_line(work.title)]
    if work.author.strip():
        lines.append(f"作者：{clean_line(work.author)}")
    if work.genre and work.genre.strip():
        lines.append(f"类型：{clean_line(work.genre)}")
    block = "\n".join(lines)
    if work.description and paragraphs(work.description):
        block += "\n\n" + "\n".join(["简介："] + [INDENT + p for p in paragraphs(work.description)])
    return block
