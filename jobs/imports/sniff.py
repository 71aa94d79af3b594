"""A quick look at an upload's first bytes: is it the kind of file its extension says?

Run on the request, so that a PDF or an image renamed `.txt`, or a `.doc` renamed `.docx`, is
refused at once with a clear answer rather than failing later in the background. It reads a few
KiB only; the parsers still check everything (a `.docx` that starts like a zip may yet be broken).
"""

from __future__ import annotations

import codecs

_ZIP = b"PK\x03\x04"  # a .docx is a zip archive
_HEAD = 4096
# Documents that are not plain text, by their magic numbers (to name them in the answer); any
# other binary file (images, archives, programs) has a NUL byte within its first 4 KiB.
_DOCUMENTS = {
    b"%PDF-": "a PDF (save it as .txt or .docx)",
    _ZIP: "a zip archive (a .docx?)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an old Word (.doc) or WPS file (save it as .docx)",
    b"{\\rtf": "an RTF file (save it as .docx)",
}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def content_refusal(extension: str, data: bytes) -> str | None:
    """Why `data` is not a `extension` file (".txt", ".docx", ...), or None when it may be."""
    if extension == ".docx":
        return None if data.startswith(_ZIP) else "not a .docx (Word 2007 or later) file"
    for magic, kind in _DOCUMENTS.items():
        if data.startswith(magic):
            return f"{kind}, not a {extension} text file"
    if b"\x00" in data[:_HEAD] and not data.startswith(_UTF16_BOMS):
        return f"binary data, not a {extension} text file"
    return None
