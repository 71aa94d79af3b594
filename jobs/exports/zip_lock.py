"""A file in an AES-256 zip (WinZip AE-2, `pyzipper`): the password protection of the formats
that have none of their own (Word, txt, Fountain). 7-Zip, WinZip, macOS Archive Utility (recent)
and `unzip` builds with AES open it; Windows Explorer's own zip support does not."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from typing import BinaryIO

ZIP_MEDIA_TYPE = "application/zip"
_CHUNK = 1 << 20


def write_locked(
    inner_name: str, password: str, out: BinaryIO, render: Callable[[BinaryIO], None]
) -> None:
    """`render` writes the file to a temporary file; it goes into `out` as the zip's one entry,
    `inner_name`, encrypted with `password`."""
    import pyzipper  # loaded at the first protected export only

    with tempfile.TemporaryFile(prefix="inkweave-export-") as plain:
        render(plain)
        plain.seek(0)
        with pyzipper.AESZipFile(
            out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(password.encode())
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            with archive.open(inner_name, "w") as entry:
                shutil.copyfileobj(plain, entry, _CHUNK)
