"""What an import produces, and the errors that say why a file was refused."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.exports.model import ExportChapter


@dataclass(frozen=True, slots=True)
class ImportedWork:
    title: str
    kind: str  # "novel" | "script"
    chapters: list[ExportChapter]
    author: str | None = None
    description: str | None = None


class ImportFileError(ValueError):
    """The uploaded file cannot become a work; `code` names the reason for the API's error table."""

    code = "import_failed"


class UnsupportedFileType(ImportFileError):
    code = "unsupported_file_type"


class EmptyFile(ImportFileError):
    code = "empty_file"


class UndecodableText(ImportFileError):
    code = "undecodable_text"


class CorruptFile(ImportFileError):
    code = "corrupt_file"
