"""Avatars: an upload is decoded and drawn again, so what is stored is an image and nothing else.

The declared type and the file name are ignored: Pillow reads the bytes, trying only PNG, JPEG,
WebP and GIF. An image larger than `MAX_SIDE` on either side is refused from its header, before
it is decoded (Pillow's own decompression-bomb check refuses the grossest ones earlier still).
What is stored is a new WebP drawn from the decoded pixels: at most `STORED_SIDE` on a side,
the first frame of an animation, turned upright by its EXIF orientation, and without any of the
upload's metadata (EXIF with its GPS position, XMP, ICC profile, comments). HTML, scripts or a
polyglot behind an image header do not survive being decoded and drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

from ..errors import AppError, Err

if TYPE_CHECKING:
    from PIL import Image

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4096  # so at most 16 Mpx are ever decoded (64 MiB as RGBA)
STORED_SIDE = 512  # avatars are shown small; larger would only cost space and bandwidth
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
STORED_TYPE = "image/webp"
WEBP_QUALITY = 85


@dataclass(frozen=True, slots=True)
class Avatar:
    data: bytes
    content_type: str


def reencode(data: bytes) -> Avatar:
    """The avatar to store for the upload `data`; refuses what is not a small, intact image.
    CPU-bound: call it off the event loop."""
    from PIL import Image, UnidentifiedImageError  # Pillow loads at the first upload

    if not data:
        raise AppError(Err.IMAGE_REFUSED, "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise AppError(Err.FILE_TOO_LARGE, f"an avatar is at most {MAX_UPLOAD_BYTES} bytes")
    try:
        with Image.open(BytesIO(data), formats=FORMATS) as image:
            _within_budget(*image.size)
            return Avatar(_drawn_again(image), STORED_TYPE)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        raise AppError(Err.IMAGE_TOO_LARGE, str(bomb)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as broken:
        # Pillow reports a truncated or malformed image in any of these
        raise AppError(Err.IMAGE_REFUSED, f"not an intact {', '.join(FORMATS)} image") from broken


def _within_budget(width: int, height: int) -> None:
    if width > MAX_SIDE or height > MAX_SIDE:
        raise AppError(
            Err.IMAGE_TOO_LARGE, f"{width}×{height} pixels; at most {MAX_SIDE}×{MAX_SIDE}"
        )


def _drawn_again(image: Image.Image) -> bytes:
    from PIL import Image, ImageOps

    image.draft("RGB", (STORED_SIDE, STORED_SIDE))  # a JPEG decodes at a reduced scale
    image.load()
    upright = ImageOps.exif_transpose(image)
    mode = "RGBA" if upright.has_transparency_data else "RGB"
    pixels = upright.convert(mode)
    pixels.thumbnail((STORED_SIDE, STORED_SIDE))
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())  # pixels only: no metadata
    out = BytesIO()
    clean.save(out, "WEBP", quality=WEBP_QUALITY)
    return out.getvalue()
