"""CJK TrueType fonts for PDF export: where to find them and how reportlab embeds them.

reportlab embeds (a subset of) TrueType fonts with `glyf` outlines only, so the OpenType/CFF Noto
CJK fonts that many systems ship cannot be used; WenQuanYi Micro Hei (Debian package
`fonts-wqy-microhei`) can, and its collection carries a monospaced face for screenplays.
No suitable PyPI package ships such a font (the Noto CJK wheels are CFF), so the font comes from
the system, or from a path the deployment configures.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "no CJK TrueType font found for PDF export: install the Debian package fonts-wqy-microhei "
    "(apt-get install fonts-wqy-microhei) or configure the path of a TrueType (.ttf/.ttc) CJK font"
)


@dataclass(frozen=True, slots=True)
class FontFace:
    path: Path
    subfont_index: int = 0


@dataclass(frozen=True, slots=True)
class CjkFonts:
    """A proportional face for books and a monospaced one for screenplays (may be the same)."""

    regular: FontFace
    mono: FontFace


# (collection, regular index, mono index), best first.
KNOWN_FONTS: tuple[tuple[str, int, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, 1),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0, 1),  # Fedora, Arch
    ("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0, 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, 0),
)


class CjkFontNotFound(RuntimeError):
    """The server has no usable CJK font: an installation problem, not the user's."""


def find_cjk_fonts(override: str | Path | None = None) -> CjkFonts:
    """The configured font if given (must exist), else the first known system font present.

    An override path may end in `#N` to pick face N of a collection for both roles.
    """
    if override:
        path_text, _, index = str(override).partition("#")
        face = FontFace(Path(path_text), int(index) if index else 0)
        if not face.path.is_file():
            raise CjkFontNotFound(f"configured CJK font {face.path} does not exist. {INSTALL_HINT}")
        return CjkFonts(face, face)
    for path, regular, mono in KNOWN_FONTS:
        if Path(path).is_file():
            return CjkFonts(FontFace(Path(path), regular), FontFace(Path(path), mono))
    raise CjkFontNotFound(INSTALL_HINT)


_registered: dict[FontFace, str] = {}
_lock = threading.Lock()


def pdf_font_name(face: FontFace) -> str:
    """Register `face` with reportlab once per process and return its reportlab name."""
    from reportlab.pdfbase import pdfmetrics  # reportlab loads at the first PDF export
    from reportlab.pdfbase.ttfonts import TTFError

    from jobs.exports.pdf_font import MeasuredFont

    with _lock:
        name = _registered.get(face)
        if name is None:
            name = f"InkweaveCJK{len(_registered)}"
            try:
                font = MeasuredFont(name, str(face.path), subfontIndex=face.subfont_index)
            except (TTFError, OSError) as exc:
                raise CjkFontNotFound(f"cannot embed {face.path}: {exc}. {INSTALL_HINT}") from exc
            pdfmetrics.registerFont(font)
            _registered[face] = name
        return name
