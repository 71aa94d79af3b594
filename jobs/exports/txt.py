"""Plain text export: UTF-8, LF line ends, as Chinese web-novel sites and e-readers expect.

A novel: the title block, then each chapter's title and its paragraphs, indented with two
ideographic spaces and separated by a blank line. A screenplay: its Fountain text, which is
plain text meant to be read as it is.
"""

from __future__ import annotations

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


def render(work: ExportWork, options: ExportOptions, progress: Progress | None = None) -> bytes:
    if work.is_script:
        return fountain.render(work, options, progress)
    steps = ProgressSteps(progress)
    blocks: list[str] = []
    if options.include_cover:
        blocks.append(_title_block(work))
    for done, chapter in enumerate(work.chapters, start=1):
        lines = [clean_line(chapter.title)]
        lines.extend(INDENT + paragraph for paragraph in paragraphs(chapter.text))
        blocks.append("\n\n".join(lines))
        steps.fraction(done, len(work.chapters))
    steps.finish()
    return ("\n\n\n".join(blocks) + "\n").encode("utf-8")


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
