"""Images made in memory with Pillow, for upload tests."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from PIL import Image


def saved(image: Image.Image, fmt: str, **save: Any) -> bytes:
    """`image` in `fmt`; `save` goes to Pillow (`exif=...`, `save_all=True`, levels)."""
    out = BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any
) -> bytes:
    """A `size` image of one colour in `fmt`."""
    colour: Any = 1 if mode == "1" else (200, 40, 40, 255)[: len(mode)]
    return saved(Image.new(mode, size, colour), fmt, **save)


def opened(data: bytes) -> Image.Image:
    """`data` decoded (fully: a truncated image raises here)."""
    image = Image.open(BytesIO(data))
    image.load()
    return image
