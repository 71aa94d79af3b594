"""Fountain 1.1 export of a screenplay: a title page, then each chapter as a section.

Sections (`# 第一集`) are structure, not printed text, so the chapters survive a round trip
through any Fountain app without changing how the script prints.
"""

from __future__ import annotations

import re
from datetime import date
from typing import BinaryIO

from jobs.exports.model import (
    ExportOptions,
    ExportWork,
    NotAScript,
    Progress,
    ProgressSteps,
    clean_line,
    has_cjk,
)
from storage.text import fountain


def write(
    work: ExportWork, options: ExportOptions, out: BinaryIO, progress: Progress | None = None
) -> None:
    """A Fountain file is written whole: an element's form depends on its neighbours, across
    chapters too."""
    if not work.is_script:
        raise NotAScript("fountain export is for scripts; export a novel as txt, word or pdf")
    steps = ProgressSteps(progress)
    elements: list[fountain.Element] = []
    for done, chapter in enumerate(work.chapters, start=1):
        elements.append(fountain.Element("section", clean_line(chapter.title), depth=1))
        elements.extend(script_elements(chapter.text))
        steps.fraction(done, len(work.chapters), end=90)
    out.write(fountain.write(fountain.Script(title_page(work), elements)).encode("utf-8"))
    steps.finish()


def title_page(work: ExportWork) -> dict[str, str]:
    page = {"Title": clean_line(work.title), "Credit": credit_for(work)}
    if work.author.strip():
        page["Author"] = clean_line(work.author)
    if work.genre and work.genre.strip():
        page["Genre"] = clean_line(work.genre)
    page["Draft date"] = date.today().isoformat()
    return page


def script_elements(text: str) -> list[fountain.Element]:
    """A screenplay chapter's elements; a title page inside a chapter is not the work's."""
    return list(fountain.parse(text).elements)


def credit_for(work: ExportWork) -> str:
    return "编剧" if has_cjk(work.title + work.author) else "Written by"


BOLD, ITALIC, UNDERLINE = 1, 2, 4
_MARKER_STYLE = {"***": BOLD | ITALIC, "**": BOLD, "*": ITALIC, "_": UNDERLINE}
# an underscore inside a Latin word (snake_case) is not a marker
_EMPHASIS = re.compile(
    r"(\*\*\*|\*\*|\*)(?=\S)(.+?)(?<=\S)\1"
    r"|(?<![A-Za-z0-9])(_)(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9])"
)
_ESCAPES = (("\\*", "\ue000", "*"), ("\\_", "\ue001", "_"))


def emphasis(line: str) -> tuple[str, list[int]]:
    """A line as printed, Fountain's emphasis markers removed, and each character's style
    (BOLD | ITALIC | UNDERLINE): `*italic*`, `**bold**`, `***both***`, `_underline_`, `\\*`."""
    for escaped, private, _ in _ESCAPES:
        line = line.replace(escaped, private)
    text, styles = _styled(line, 0)
    for _, private, literal in _ESCAPES:
        text = text.replace(private, literal)
    return text, styles


def spans(line: str) -> list[tuple[str, int]]:
    """`emphasis` as runs of one style each."""
    text, styles = emphasis(line)
    runs: list[tuple[str, int]] = []
    for char, style in zip(text, styles, strict=True):
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + char, style)
        else:
            runs.append((char, style))
    return runs


def _styled(line: str, style: int) -> tuple[str, list[int]]:
    parts: list[str] = []
    styles: list[int] = []
    position = 0
    for match in _EMPHASIS.finditer(line):
        parts.append(line[position : match.start()])
        styles += [style] * (match.start() - position)
        marker, content = match.group(1, 2) if match.group(1) else match.group(3, 4)
        inner, inner_styles = _styled(content, style | _MARKER_STYLE[marker])
        parts.append(inner)
        styles += inner_styles
        position = match.end()
    parts.append(line[position:])
    styles += [style] * (len(line) - position)
    return "".join(parts), styles
