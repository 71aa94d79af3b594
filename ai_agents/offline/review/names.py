"""Names: a rare spelling one character away from a frequent name (林晓雨 beside 林小雨), a
traditional-character spelling (林曉雨), or for two-character names a homophone (陈墨/陈默)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from itertools import accumulate

from ..chinese import HAN, HAN_RE, NOT_IN_NAME
from .findings import Chapter, Finding, Location, location, surrounding

MIN_NAME_COUNT = 4
VARIANT_RATIO = 4
MAX_PER_VARIANT = 20

# Traditional -> simplified, for characters common in names.
_TRADITIONAL = dict(
    zip(
        "曉東陳張劉楊黃趙吳鄭馮韓蕭葉許華國軍偉麗雲龍鳳傑強誠靜風紅鵬飛輝華順濤蘭嬌婭綺"
        "瑩憶藝詩語賢學寧鐘錢孫羅邱蘇廬盧鄧謝馬齊顏聶龔嚴賀顧歐陽彥潔瑤銘鴻達義勝豐聰寶",
        "晓东陈张刘杨黄赵吴郑冯韩萧叶许华国军伟丽云龙凤杰强诚静风红鹏飞辉华顺涛兰娇娅绮"
        "莹忆艺诗语贤学宁钟钱孙罗邱苏庐卢邓谢马齐颜聂龚严贺顾欧阳彦洁瑶铭鸿达义胜丰聪宝",
        strict=True,
    )
)
_SIMPLIFIED_TO_TRADITIONAL: dict[str, list[str]] = defaultdict(list)
for _traditional, _simplified in _TRADITIONAL.items():
    if _traditional != _simplified:
        _SIMPLIFIED_TO_TRADITIONAL[_simplified].append(_traditional)

# Characters that sound alike and are easily typed for one another in given names.
_HOMOPHONES = [
    "小晓筱",
    "雨语宇羽玉",
    "默墨陌",
    "杰洁捷",
    "静婧靖晶",
    "伟玮炜",
    "明鸣铭",
    "华桦",
    "丽莉俐",
    "云芸昀",
    "峰锋枫风",
    "婷亭",
    "琳霖麟",
    "军君俊",
    "涛韬",
    "斌彬",
    "磊蕾",
    "燕艳雁",
    "霞夏",
    "辉晖",
    "冬东",
    "欣新馨",
    "怡宜仪",
    "佳嘉家",
    "瑶遥",
    "娜纳",
    "浩皓昊",
    "晨辰",
    "凡帆",
    "雪薛",
]
_SOUND_ALIKE: dict[str, str] = {}
for _group in _HOMOPHONES:
    for _char in _group:
        _SOUND_ALIKE[_char] = _SOUND_ALIKE.get(_char, "") + _group.replace(_char, "")

# Characters that follow a surname without being a name: 林小姐, 陈总, 王家.
_TITLES = frozenset("姐哥弟妹叔姨婶伯爷奶总董局处科老少先太氏家府宅某")


class _Book:
    """The chapters' texts as one, a line break between chapters (no name spans one), so that
    each name's patterns scan the work in one call rather than one call per chapter."""

    def __init__(self, chapters: Sequence[Chapter]) -> None:
        self.chapters = chapters
        self.text = "\n".join(chapter[2] for chapter in chapters)
        sizes = (len(chapter[2]) + 1 for chapter in chapters[:-1])
        self.starts = list(accumulate(sizes, initial=0))

    def where(self, offset: int) -> tuple[Chapter, int]:
        """The chapter holding the book's `offset`, and the offset within it."""
        index = bisect_right(self.starts, offset) - 1
        return self.chapters[index], offset - self.starts[index]


def name_findings(chapters: Sequence[Chapter], names: dict[str, int]) -> Iterator[Finding]:
    frequent = {name: count for name, count in names.items() if count >= MIN_NAME_COUNT}
    book = _Book(chapters)
    for name in sorted(frequent, key=lambda n: (-frequent[n], n)):
        variants: dict[str, list[tuple[Chapter, int]]] = defaultdict(list)
        for pattern in _variant_patterns(name):
            for match in pattern.finditer(book.text):
                variant = match.group()
                if _is_variant(variant, name, book.text, match.start(), frequent):
                    variants[variant].append(book.where(match.start()))
        first = _first_occurrence(book, name)
        for variant, places in variants.items():
            traditional = _simplify(variant) == name
            if not traditional and (
                len(places) * VARIANT_RATIO > frequent[name]
                or not any(
                    _used_as_name(chapter[2], start, len(variant)) for chapter, start in places
                )
            ):
                continue
            if traditional:
                message = f"人名“{variant}”与“{name}”繁简混用，全书应统一"
            else:
                message = (
                    f"人名“{variant}”疑似“{name}”的误写（“{name}”出现 {frequent[name]} 次，"
                    f"“{variant}”出现 {len(places)} 次）"
                )
            related = [first] if first else []
            for chapter, start in places[:MAX_PER_VARIANT]:
                end = start + len(variant)
                yield Finding(
                    "name",
                    message,
                    chapter[0],
                    start,
                    end,
                    surrounding(chapter[2], start, end),
                    "medium",
                    related,
                )


def _variant_patterns(name: str) -> Iterator[re.Pattern[str]]:
    for index, char in enumerate(name):
        alternatives = "".join(_SIMPLIFIED_TO_TRADITIONAL.get(char, []))
        if index > 0:
            alternatives += _SOUND_ALIKE.get(char, "")
        if index > 0 and len(name) >= 3:
            pattern = f"(?!{re.escape(char)})[{HAN}]"
        elif alternatives:
            pattern = f"[{re.escape(alternatives)}]"
        else:
            continue
        yield re.compile(re.escape(name[:index]) + pattern + re.escape(name[index + 1 :]))


def _is_variant(variant: str, name: str, text: str, start: int, frequent: dict[str, int]) -> bool:
    if variant == name or variant in frequent:
        return False
    changed = next(v for v, n in zip(variant, name, strict=True) if v != n)
    if changed in NOT_IN_NAME or changed in _TITLES:
        return False
    # Part of another frequent name (林小雨 inside 林小雨霏) or of this one written longer.
    return not any(
        other != name and text.startswith(other, start) and len(other) > len(variant)
        for other in frequent
    )


_BEFORE_NAMES = frozenset("和与对跟向给让叫把被同带找见问帮")
_AFTER_NAMES = frozenset(
    "说道问答喊叫笑哭看望瞧盯点摇叹皱站坐转抬低想听拿把将却也都就便正已才没微轻冷连忙猛突忽终"
)


def _used_as_name(text: str, start: int, size: int) -> bool:
    """Whether this occurrence stands where a name stands: after a boundary or a preposition,
    or before a verb (so 树林小路 is not taken for a misspelt 林小雨)."""
    before = text[start - 1 : start]
    after = text[start + size : start + size + 1]
    return (
        not before or not HAN_RE.match(before) or before in _BEFORE_NAMES or after in _AFTER_NAMES
    )


def _simplify(text: str) -> str:
    return "".join(_TRADITIONAL.get(char, char) for char in text)


def _first_occurrence(book: _Book, name: str) -> Location | None:
    offset = book.text.find(name)
    if offset < 0:
        return None
    chapter, position = book.where(offset)
    return location(chapter, position, position + len(name))
