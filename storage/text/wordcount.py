"""字数 as Chinese writing tools count it.

Each CJK character and each CJK punctuation mark counts one; each run of Latin letters or digits
counts one; white space and other symbols count none.
"""

from __future__ import annotations

import re

_CJK = (
    "\u2e80-\u2fdf"  # radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303b"  # 々〆〇, Hangzhou numerals
    "\u3040-\u30ff"  # kana
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # ideographs
    "\uac00-\ud7af"  # hangul
    "\U00020000-\U0003134f"  # ideographs, planes 2 and 3
)
_CJK_PUNCTUATION = (
    "\u3001-\u3004\u3008-\u3020\u3030\u303d"  # 、。《》「」【】 (U+3000 is a space)
    "\u2014\u2015\u2018\u2019\u201c\u201d\u2026\u2027\u00b7"  # —— ‘’ “” …… ·
    "\ufe10-\ufe1f\ufe30-\ufe4f"  # vertical forms
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"  # full-width punctuation
)
_LATIN = r"A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u00c0-\u024f"
# What each count means: one token per CJK character or mark, one per Latin run.
TOKEN = re.compile(rf"[{_CJK}{_CJK_PUNCTUATION}]|[{_LATIN}]+")
# How it is counted: a match per run, not per character (14x faster on a chapter, where a match
# and its replacement per character cost ~0.4 ms for 3,000 characters on every read).
_CJK_RUN = re.compile(rf"[{_CJK}{_CJK_PUNCTUATION}]+")
_LATIN_RUN = re.compile(rf"[{_LATIN}]+")


def count_words(text: str) -> int:
    """The number of `TOKEN`s in `text`."""
    # Each CJK run becomes one space (so the Latin runs on either side stay apart): the text
    # shrinks by the run's length less one.
    rest, runs = _CJK_RUN.subn(" ", text)
    return len(text) - len(rest) + runs + _LATIN_RUN.subn("", rest)[1]
