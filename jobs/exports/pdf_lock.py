"""A password on a finished PDF: the standard security handler with AES-256 (PDF 2.0's
revision 6), written by `pypdf` on top of `cryptography`. reportlab writes only RC4 itself (its
AES needs the pure-Python `pyaes`, seconds per megabyte); RC4 is broken, so the file is rendered
plainly to a temporary file and encrypted as a whole afterwards."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from jobs.exports.model import Protection


def write_locked_pdf(
    protection: Protection, out: BinaryIO, render: Callable[[BinaryIO], None]
) -> None:
    """`render` writes the PDF; it reaches `out` encrypted with `protection.password`. The owner
    password is random and thrown away, so the permissions hold for whoever has the password."""
    from pypdf import PdfReader, PdfWriter  # loaded at the first protected PDF only

    with tempfile.TemporaryFile(prefix="inkweave-export-") as plain:
        render(plain)
        plain.seek(0)
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(
            user_password=protection.password,
            owner_password=secrets.token_urlsafe(24),
            permissions_flag=_permissions(protection),
            algorithm="AES-256",
        )
        writer.write(out)


def _permissions(protection: Protection) -> int:
    from pypdf.constants import UserAccessPermissions as Allowed

    granted = Allowed.EXTRACT_TEXT_AND_GRAPHICS  # screen readers, whatever else is refused
    if protection.can_print:
        granted |= Allowed.PRINT | Allowed.PRINT_TO_REPRESENTATION
    if protection.can_copy:
        granted |= Allowed.EXTRACT
    if protection.can_modify:
        granted |= Allowed.MODIFY | Allowed.ADD_OR_MODIFY | Allowed.ASSEMBLE_DOC
        granted |= Allowed.FILL_FORM_FIELDS
    return granted
