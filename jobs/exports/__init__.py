"""Export renderers: a work in, a file out (brief §4.3.5).

Each format module has `write(work, options, out, progress=None)`, which writes the file to the
binary stream `out` as it goes; `write` here picks one by the API's format name, and `render`
returns the bytes instead. File names and the Content-Disposition header are made here too.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from jobs.exports import fountain, txt
from jobs.exports.fonts import CjkFontNotFound
from jobs.exports.model import (
    ExportChapter,
    ExportError,
    ExportOptions,
    ExportWork,
    LazyChapters,
    NotAScript,
    Progress,
    Protection,
    UnknownFormat,
    Watermark,
)

__all__ = [
    "FORMATS",
    "CjkFontNotFound",
    "ExportChapter",
    "ExportError",
    "ExportFormat",
    "ExportOptions",
    "ExportWork",
    "LazyChapters",
    "NotAScript",
    "Progress",
    "Protection",
    "UnknownFormat",
    "Watermark",
    "content_disposition",
    "delivered_as",
    "file_name",
    "render",
    "write",
]

Writer = Callable[[ExportWork, ExportOptions, BinaryIO, Progress | None], None]


# Word and PDF load python-docx and reportlab (with Pillow) at their first export, not with the
# server: most processes never render either.
def _write_docx(
    work: ExportWork, options: ExportOptions, out: BinaryIO, progress: Progress | None = None
) -> None:
    from jobs.exports import docx

    docx.write(work, options, out, progress)


def _write_pdf(
    work: ExportWork,
    options: ExportOptions,
    out: BinaryIO,
    progress: Progress | None = None,
    *,
    font_path: str | Path | None = None,
) -> None:
    from jobs.exports import pdf

    if options.protection is None:
        pdf.write(work, options, out, progress, font_path=font_path)
        return
    from jobs.exports.pdf_lock import write_locked_pdf

    plain = replace(options, protection=None)
    write_locked_pdf(
        options.protection,
        out,
        lambda into: pdf.write(work, plain, into, progress, font_path=font_path),
    )


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    extension: str
    media_type: str
    write: Writer
    scripts_only: bool = False
    # The renderer holds the whole document until it saves (python-docx, reportlab), so a long
    # work's export is worth a process of its own (`jobs.exports.child`).
    holds_document: bool = False
    # Comments go into the file anchored to their text (`ExportWork.comments`), not an appendix.
    anchors_comments: bool = False


FORMATS: dict[str, ExportFormat] = {
    "txt": ExportFormat("txt", "txt", "text/plain; charset=utf-8", txt.write),
    "word": ExportFormat(
        "word",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _write_docx,
        holds_document=True,
        anchors_comments=True,
    ),
    "pdf": ExportFormat("pdf", "pdf", "application/pdf", _write_pdf, holds_document=True),
    # No registered media type for Fountain; it is plain UTF-8 text.
    "fountain": ExportFormat(
        "fountain", "fountain", "text/plain; charset=utf-8", fountain.write, scripts_only=True
    ),
}


def export_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UnknownFormat(f"unknown export format {name!r}; expected one of {known}") from None


def write(
    fmt: str,
    work: ExportWork,
    out: BinaryIO,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
    *,
    font_path: str | Path | None = None,
) -> None:
    """Write `work` as `fmt` to `out`; `font_path` is the deployment's CJK font for PDF, if
    configured. With `options.protection`, a PDF is encrypted (`pdf_lock`) and any other format
    goes into a password-protected zip (`zip_lock`)."""
    options = options or ExportOptions()
    chosen = export_format(fmt)
    if options.protection is not None and chosen.name != "pdf":
        from jobs.exports.zip_lock import write_locked

        inner = replace(options, protection=None)
        write_locked(
            file_name(work.title, fmt),
            options.protection.password,
            out,
            lambda plain: chosen.write(work, inner, plain, progress),
        )
    elif chosen.name == "pdf":
        _write_pdf(work, options, out, progress, font_path=font_path)
    else:
        chosen.write(work, options, out, progress)


def render(
    fmt: str,
    work: ExportWork,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
    *,
    font_path: str | Path | None = None,
) -> bytes:
    """The file's bytes, for a work small enough to hold (tests, imports' round trips)."""
    out = io.BytesIO()
    write(fmt, work, out, options, progress, font_path=font_path)
    return out.getvalue()


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def file_name(title: str, fmt: str, *, protected: bool = False) -> str:
    """A file name for the download: the title (CJK kept), minus what file systems refuse."""
    stem = _UNSAFE.sub(" ", unicodedata.normalize("NFC", title))
    stem = " ".join(stem.split()).strip(". ")[:80] or "export"
    return f"{stem}.{delivered_as(fmt, protected=protected)[0]}"


def delivered_as(fmt: str, *, protected: bool) -> tuple[str, str]:
    """The extension and media type of the file handed out: a zip where a password protects a
    format other than PDF."""
    chosen = export_format(fmt)
    if protected and chosen.name != "pdf":
        return f"{chosen.extension}.zip", "application/zip"
    return chosen.extension, chosen.media_type


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 header value with an ASCII fallback and the UTF-8 name (RFC 5987 `filename*`)."""
    fallback = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    stem, dot, extension = fallback.rpartition(".")
    if not stem.strip(" ._-"):
        fallback = f"download{dot}{extension}" if dot else "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
