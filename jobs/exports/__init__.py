"""Export renderers: a work in, the bytes of a file out (brief §4.3.5).

Each format module has `render(work, options, progress=None) -> bytes`; `render` here picks one
by the API's format name. File names and the Content-Disposition header are made here too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jobs.exports import docx, fountain, pdf, txt
from jobs.exports.fonts import CjkFontNotFound
from jobs.exports.model import (
    ExportChapter,
    ExportError,
    ExportOptions,
    ExportWork,
    NotAScript,
    Progress,
    UnknownFormat,
)

__all__ = [
    "FORMATS",
    "CjkFontNotFound",
    "ExportChapter",
    "ExportError",
    "ExportFormat",
    "ExportOptions",
    "ExportWork",
    "NotAScript",
    "Progress",
    "UnknownFormat",
    "content_disposition",
    "file_name",
    "render",
]

Renderer = Callable[[ExportWork, ExportOptions, Progress | None], bytes]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    extension: str
    media_type: str
    render: Renderer
    scripts_only: bool = False


FORMATS: dict[str, ExportFormat] = {
    "txt": ExportFormat("txt", "txt", "text/plain; charset=utf-8", txt.render),
    "word": ExportFormat(
        "word",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        docx.render,
    ),
    "pdf": ExportFormat("pdf", "pdf", "application/pdf", pdf.render),
    # No registered media type for Fountain; it is plain UTF-8 text.
    "fountain": ExportFormat(
        "fountain", "fountain", "text/plain; charset=utf-8", fountain.render, scripts_only=True
    ),
}


def export_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UnknownFormat(f"unknown export format {name!r}; expected one of {known}") from None


def render(
    fmt: str,
    work: ExportWork,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
    *,
    font_path: str | Path | None = None,
) -> bytes:
    """Render `work` as `fmt`; `font_path` is the deployment's CJK font for PDF, if configured."""
    options = options or ExportOptions()
    chosen = export_format(fmt)
    if chosen.name == "pdf":
        return pdf.render(work, options, progress, font_path=font_path)
    return chosen.render(work, options, progress)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def file_name(title: str, fmt: str) -> str:
    """A file name for the download: the title (CJK kept), minus what file systems refuse."""
    stem = _UNSAFE.sub(" ", unicodedata.normalize("NFC", title))
    stem = " ".join(stem.split()).strip(". ")[:80] or "export"
    return f"{stem}.{export_format(fmt).extension}"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 header value with an ASCII fallback and the UTF-8 name (RFC 5987 `filename*`)."""
    fallback = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    stem, dot, extension = fallback.rpartition(".")
    if not stem.strip(" ._-"):
        fallback = f"download{dot}{extension}" if dot else "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
