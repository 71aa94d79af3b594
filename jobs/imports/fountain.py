"""Fountain screenplays (.fountain, .spmd): chapters at the top-level sections, else at scenes.

Our own export writes each chapter as a `#` section, so an export comes back chapter for chapter;
a script from another app without sections becomes one chapter per scene.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import PurePath

from jobs.exports.model import ExportChapter, ProgressSteps
from jobs.imports.model import EmptyFile, ImportedWork, ImportFileError
from jobs.imports.txt import decode
from storage.text import fountain

_EMPHASIS = re.compile(r"(?<!\\)[*_]+")


_TITLE_PAGE_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*Title\s*:", re.IGNORECASE)


def is_fountain(data: bytes) -> bool:
    """Plain text that is a screenplay: a Fountain title page and at least one scene heading."""
    if not _TITLE_PAGE_START.match(data):
        return False
    try:
        text = decode(data, "")
    except ImportFileError:
        return False
    return any(e.kind == "scene_heading" for e in fountain.parse(text).elements)


def parse(filename: str, data: bytes, steps: ProgressSteps) -> ImportedWork:
    script = fountain.parse(decode(data, filename))
    steps.report(30)
    elements = script.elements
    if not elements:
        raise EmptyFile(f"{filename} has no screenplay text")
    title = _plain(script.title_page.get("Title", "")) or PurePath(filename).stem
    author = _plain(script.title_page.get("Author") or script.title_page.get("Authors") or "")
    description = _plain(script.title_page.get("Notes", "")) or None

    sections = [element.depth for element in elements if element.kind == "section"]
    if sections:
        top = min(sections)
        starts = [i for i, e in enumerate(elements) if e.kind == "section" and e.depth == top]
    else:
        starts = [i for i, e in enumerate(elements) if e.kind == "scene_heading"]

    chapters: list[ExportChapter] = []
    if not starts:
        chapters.append(ExportChapter(title, _write(elements)))
    bounds = [*starts, len(elements)]
    for number, (start, end) in enumerate(pairwise(bounds), start=1):
        opening = elements[:start] if number == 1 else []  # FADE IN: before the first boundary
        body = elements[start + 1 : end] if sections else elements[start:end]
        chapters.append(ExportChapter(elements[start].text, _write(opening + body)))
        steps.fraction(number, len(starts), start=30, end=95)
    return ImportedWork(title, "script", chapters, author or None, description)


def _write(elements: list[fountain.Element]) -> str:
    return fountain.write(fountain.Script({}, elements)).rstrip("\n")


def _plain(value: str) -> str:
    """A title page value without emphasis markers or line breaks."""
    return " ".join(_EMPHASIS.sub("", value).split())
