"""Import parsers: an uploaded file's name and bytes in, a work split into chapters out.

`parse` picks the parser by extension: .txt/.text (novels; UTF-8, UTF-16 with BOM or GB18030),
.docx (Word 2007+), .fountain/.spmd (screenplays; also a .txt that opens with a Fountain title
page and has scene headings). Every refusal is an `ImportFileError`
(a ValueError) with a `code` for the API's error table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from jobs.exports.model import ExportChapter, Progress, ProgressSteps
from jobs.imports import fountain, txt
from jobs.imports.model import (
    CorruptFile,
    EmptyFile,
    ImportedWork,
    ImportFileError,
    UndecodableText,
    UnsupportedFileType,
)

__all__ = [
    "PARSERS",
    "CorruptFile",
    "EmptyFile",
    "ExportChapter",
    "ImportFileError",
    "ImportedWork",
    "UndecodableText",
    "UnsupportedFileType",
    "parse",
]

Parser = Callable[[str, bytes, ProgressSteps], ImportedWork]


def _parse_docx(filename: str, data: bytes, steps: ProgressSteps) -> ImportedWork:
    from jobs.imports import docx  # python-docx loads at the first Word import, not at start

    return docx.parse(filename, data, steps)


PARSERS: dict[str, Parser] = {
    ".txt": txt.parse,
    ".text": txt.parse,
    ".docx": _parse_docx,
    ".fountain": fountain.parse,
    ".spmd": fountain.parse,
}


def parse(filename: str, data: bytes, progress: Progress | None = None) -> ImportedWork:
    extension = PurePath(filename).suffix.lower()
    parser = PARSERS.get(extension)
    if parser is None:
        hint = " (save it as .docx)" if extension in (".doc", ".wps", ".rtf", ".odt") else ""
        known = ", ".join(PARSERS)
        raise UnsupportedFileType(
            f"cannot import {extension or 'files without an extension'}{hint}; supported: {known}"
        )
    if parser is txt.parse and fountain.is_fountain(data):
        parser = fountain.parse  # a screenplay saved as .txt, e.g. our own txt export of a script
    steps = ProgressSteps(progress)
    steps.report(0)
    work = parser(PurePath(filename).name, data, steps)
    steps.finish()
    return work
