"""Long-text review (长文本审校): names, timeline and repeated passages across a whole work.

Each chapter is read once (chunk by chunk); what is learned (names and how often they occur, ages,
dates, paragraph fingerprints) is then compared across chapters. Every finding points at a chapter
and a character range, with the earlier passages it conflicts with in `related`.

- Names: a rare spelling one character away from a frequent name (林晓雨 beside 林小雨), a
  traditional-character spelling (林曉雨), or for two-character names a homophone (陈墨/陈默).
- Timeline: a person's stated age that goes down, or rises faster than the years the text lets
  pass; two birth years for one person; a weekday or date that does not follow from the previous
  one and the days passed since (第二天, 三天后); a date whose weekday is wrong for its year.
- Repetition: paragraphs that share most of their 8-character shingles with an earlier one, and
  long sentences repeated word for word.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .chinese import (
    HAN,
    HAN_RE,
    NOT_IN_NAME,
    NUMBER,
    paragraphs,
    parse_number,
    person_names,
    sentences,
)

MIN_NAME_COUNT = 4
VARIANT_RATIO = 4
MIN_PARAGRAPH = 30
SHINGLE = 8
SIMILAR = 0.6
MIN_REPEATED_SENTENCE = 20
MAX_SHINGLE_SPREAD = 16
MIN_SHARED_RARE = 3
MAX_PER_VARIANT = 20
EXCERPT = 40


@dataclass(frozen=True, slots=True)
class Location:
    chapter_id: int
    start: int
    end: int
    excerpt: str


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # "name", "timeline" or "repetition"
    message: str
    chapter_id: int
    start: int
    end: int
    excerpt: str
    related: list[Location] = field(default_factory=list)


Chapter = tuple[int, str, str]


def review(chapters: Sequence[Chapter]) -> list[Finding]:
    """Findings for a work given as (chapter_id, title, text) in reading order."""
    order = {chapter_id: index for index, (chapter_id, _, _) in enumerate(chapters)}
    names = person_names([text for _, _, text in chapters], min_count=MIN_NAME_COUNT)
    findings = [
        *_name_findings(chapters, names),
        *_timeline_findings(chapters, names),
        *_repetition_findings(chapters),
    ]
    return sorted(findings, key=lambda f: (order[f.chapter_id], f.start, f.kind))


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start:end]
    if len(piece) > EXCERPT:
        return piece[: EXCERPT - 1] + "…"
    return piece


def _location(chapter: Chapter, start: int, end: int) -> Location:
    return Location(chapter[0], start, end, _excerpt(chapter[2], start, end))


# --- names ------------------------------------------------------------------------------------

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


def _name_findings(chapters: Sequence[Chapter], names: dict[str, int]) -> Iterator[Finding]:
    frequent = {name: count for name, count in names.items() if count >= MIN_NAME_COUNT}
    for name in sorted(frequent, key=lambda n: (-frequent[n], n)):
        variants: dict[str, list[tuple[Chapter, int]]] = defaultdict(list)
        for pattern in _variant_patterns(name):
            for chapter in chapters:
                for match in pattern.finditer(chapter[2]):
                    variant = match.group()
                    if _is_variant(variant, name, chapter[2], match.start(), frequent):
                        variants[variant].append((chapter, match.start()))
        first = _first_occurrence(chapters, name)
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
                    _context(chapter[2], start, end),
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


def _first_occurrence(chapters: Sequence[Chapter], name: str) -> Location | None:
    for chapter in chapters:
        position = chapter[2].find(name)
        if position >= 0:
            return _location(chapter, position, position + len(name))
    return None


def _context(text: str, start: int, end: int, around: int = 12) -> str:
    left = max(text.rfind("\n", 0, start) + 1, start - around)
    line_end = text.find("\n", end)
    right = min(line_end if line_end >= 0 else len(text), end + around)
    return text[left:right]


# --- timeline ---------------------------------------------------------------------------------

_FLASHBACK = re.compile("年前|那年|当年|小时候|回忆|曾经|记得|那时|想起|从前|儿时|幼时|梦见")
_WEEKDAYS = "一二三四五六日"
_YEARS_PASS = re.compile(
    f"(?P<n>{NUMBER})年(?:后|以后|之后|过去|过去了)|过了(?P<m>{NUMBER})年|第二年|次年|翌年|来年|转眼又是一年"
)
_YEARS_UNKNOWN = re.compile("几年后|多年后|数年后|若干年后|许多年后|很多年后|几年过去")
_DAYS_PASS = re.compile(
    f"第二天|次日|翌日|隔天|第二日|(?P<d>{NUMBER})天(?:后|以后|之后|过去)|过了(?P<e>{NUMBER})天"
    f"|(?P<w>{NUMBER})(?:个)?(?:星期|礼拜|周)(?:后|以后|之后)"
)
_DAYS_UNKNOWN = re.compile(
    f"几天后|数日后|几日后|多日后|几周后|几个星期后|(?:{NUMBER})?个?月(?:后|以后|之后)|年(?:后|以后|之后)"
)
_MONTH_DAY = (
    r"(?:(?P<year>\d{4})年)?(?P<month>\d{1,2}|[一二三四五六七八九十]{1,2})月"
    r"(?P<day>\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
)
_DAY_STATEMENT = re.compile(
    rf"(?:今天|这天|那天|当天|这一天)(?:是|正是)?(?:{_MONTH_DAY})?[，,]?"
    rf"(?:(?:星期|礼拜|周)(?P<weekday>[一二三四五六日天]))?"
)


@dataclass(slots=True)
class _Age:
    chapter: Chapter
    start: int
    end: int
    age: int
    years: float


def _timeline_findings(chapters: Sequence[Chapter], names: dict[str, int]) -> Iterator[Finding]:
    frequent = sorted((n for n, c in names.items() if c >= MIN_NAME_COUNT), key=len, reverse=True)
    if frequent:
        yield from _age_findings(chapters, frequent)
        yield from _birth_year_findings(chapters, frequent)
    yield from _calendar_findings(chapters)


def _narration(text: str) -> str:
    """The text with quoted speech blanked out (same length, so offsets stay true)."""
    return re.sub(r"“[^“”]*”|「[^「」]*」", lambda m: " " * len(m.group()), text)


def _sentence_at(text: str, position: int) -> str:
    start = max(text.rfind(mark, 0, position) for mark in "。！？\n") + 1
    ends = [i for i in (text.find(mark, position) for mark in "。！？\n") if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _age_findings(chapters: Sequence[Chapter], frequent: list[str]) -> Iterator[Finding]:
    alternation = "|".join(re.escape(name) for name in frequent)
    pattern = re.compile(
        rf"(?P<name>{alternation})(?:今年|已经|已|才|刚|刚满|都|快|将近|已满|满)?(?P<age>{NUMBER})岁"
        rf"|(?P<age2>{NUMBER})岁的(?P<name2>{alternation})"
    )
    years = 0.0
    ages: dict[str, list[_Age]] = defaultdict(list)
    for chapter in chapters:
        text = _narration(chapter[2])
        events: list[tuple[int, str, re.Match[str]]] = []
        events += [(m.start(), "age", m) for m in pattern.finditer(text)]
        events += [(m.start(), "years", m) for m in _YEARS_PASS.finditer(text)]
        events += [(m.start(), "unknown", m) for m in _YEARS_UNKNOWN.finditer(text)]
        for position, kind, match in sorted(events, key=lambda e: e[0]):
            if kind == "years":
                years += parse_number(match.group("n") or match.group("m") or "一") or 1
                continue
            if kind == "unknown":
                years = float("inf")
                continue
            if _FLASHBACK.search(_sentence_at(text, position)):
                continue
            name = match.group("name") or match.group("name2")
            age = parse_number(match.group("age") or match.group("age2"))
            if age is None:
                continue
            current = _Age(chapter, match.start(), match.end(), age, years)
            history = ages[name]
            if history:
                finding = _age_conflict(name, history[-1], current)
                if finding:
                    yield finding
            history.append(current)


def _age_conflict(name: str, before: _Age, now: _Age) -> Finding | None:
    passed = now.years - before.years
    if now.age < before.age:
        reason = f"此前写作 {before.age} 岁，此处却是 {now.age} 岁，年龄变小了"
    elif now.age - before.age > passed + 1:
        years = "没有交代时间流逝" if passed == 0 else f"其间只过去约 {int(passed)} 年"
        reason = f"此前写作 {before.age} 岁，此处是 {now.age} 岁，{years}"
    else:
        return None
    chapter = now.chapter
    return Finding(
        "timeline",
        f"“{name}”的年龄前后矛盾：{reason}",
        chapter[0],
        now.start,
        now.end,
        _context(chapter[2], now.start, now.end),
        [_location(before.chapter, before.start, before.end)],
    )


def _birth_year_findings(chapters: Sequence[Chapter], frequent: list[str]) -> Iterator[Finding]:
    alternation = "|".join(re.escape(name) for name in frequent)
    pattern = re.compile(
        rf"(?P<name>{alternation})(?:出生于|生于|出生在|生在|出生在了)"
        r"(?P<year>\d{4}|[〇零一二三四五六七八九]{4})年"
    )
    seen: dict[str, tuple[int, Location]] = {}
    for chapter in chapters:
        for match in pattern.finditer(chapter[2]):
            year = parse_number(match.group("year"))
            name = match.group("name")
            if year is None:
                continue
            here = _location(chapter, match.start(), match.end())
            if name in seen and seen[name][0] != year:
                yield Finding(
                    "timeline",
                    f"“{name}”的出生年份前后不一：此前写作 {seen[name][0]} 年，此处是 {year} 年",
                    chapter[0],
                    match.start(),
                    match.end(),
                    _context(chapter[2], match.start(), match.end()),
                    [seen[name][1]],
                )
            seen.setdefault(name, (year, here))


@dataclass(slots=True)
class _Anchor:
    location: Location
    weekday: int | None
    month_day: tuple[int, int] | None
    days: int = 0


def _calendar_findings(chapters: Sequence[Chapter]) -> Iterator[Finding]:
    anchor: _Anchor | None = None
    for chapter in chapters:
        text = _narration(chapter[2])
        events: list[tuple[int, str, re.Match[str]]] = []
        events += [(m.start(), "statement", m) for m in _DAY_STATEMENT.finditer(text)]
        events += [(m.start(), "days", m) for m in _DAYS_PASS.finditer(text)]
        events += [(m.start(), "unknown", m) for m in _DAYS_UNKNOWN.finditer(text)]
        for _, kind, match in sorted(events, key=lambda e: e[0]):
            if kind == "unknown":
                anchor = None
            elif kind == "days":
                if anchor:
                    anchor.days += _days(match)
            elif match.group("weekday") or match.group("month"):
                stated = _statement(match)
                if stated is None:
                    continue
                year, month_day, weekday = stated
                here = _location(chapter, match.start(), match.end())
                context = _context(chapter[2], match.start(), match.end())
                if year and month_day and weekday is not None:
                    actual = _weekday_of(year, month_day)
                    if actual is not None and actual != weekday:
                        yield Finding(
                            "timeline",
                            f"{year}年{month_day[0]}月{month_day[1]}日是星期{_WEEKDAYS[actual]}，"
                            f"文中写作星期{_WEEKDAYS[weekday]}",
                            chapter[0],
                            match.start(),
                            match.end(),
                            context,
                        )
                if anchor:
                    problem = _calendar_conflict(anchor, month_day, weekday, year)
                    if problem:
                        yield Finding(
                            "timeline",
                            problem,
                            chapter[0],
                            match.start(),
                            match.end(),
                            context,
                            [anchor.location],
                        )
                anchor = _Anchor(here, weekday, month_day)


def _days(match: re.Match[str]) -> int:
    if match.group("d") or match.group("e"):
        return parse_number(match.group("d") or match.group("e")) or 0
    if match.group("w"):
        return 7 * (parse_number(match.group("w")) or 0)
    return 1


def _statement(
    match: re.Match[str],
) -> tuple[int | None, tuple[int, int] | None, int | None] | None:
    weekday_char = match.group("weekday")
    weekday = None
    if weekday_char:
        weekday = 6 if weekday_char in "日天" else _WEEKDAYS.index(weekday_char)
    month_day = None
    if match.group("month"):
        month, day = parse_number(match.group("month")), parse_number(match.group("day"))
        if not month or not day or not 1 <= month <= 12 or not 1 <= day <= 31:
            return None
        month_day = (month, day)
    year = int(match.group("year")) if match.group("year") else None
    return year, month_day, weekday


def _weekday_of(year: int, month_day: tuple[int, int]) -> int | None:
    try:
        return datetime.date(year, *month_day).weekday()
    except ValueError:
        return None


def _calendar_conflict(
    anchor: _Anchor, month_day: tuple[int, int] | None, weekday: int | None, year: int | None
) -> str | None:
    days = anchor.days
    passed = "当天" if days == 0 else f"过了 {days} 天"
    if weekday is not None and anchor.weekday is not None:
        expected = (anchor.weekday + days) % 7
        if expected != weekday:
            return (
                f"星期与时间推移不符：前文是星期{_WEEKDAYS[anchor.weekday]}，{passed}应为"
                f"星期{_WEEKDAYS[expected]}，此处却是星期{_WEEKDAYS[weekday]}"
            )
    if month_day and anchor.month_day:
        base_year = year or 2001
        try:
            start = datetime.date(base_year, *anchor.month_day)
        except ValueError:
            return None
        expected_date = start + datetime.timedelta(days=days)
        if (expected_date.month, expected_date.day) != month_day:
            return (
                f"日期与时间推移不符：前文是{anchor.month_day[0]}月{anchor.month_day[1]}日，"
                f"{passed}应为{expected_date.month}月{expected_date.day}日，"
                f"此处却是{month_day[0]}月{month_day[1]}日"
            )
    return None


# --- repetition -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Passage:
    chapter: Chapter
    start: int
    end: int
    shingles: set[int]


_KEEP = re.compile(f"[{HAN}A-Za-z0-9]")


def _normalized(text: str) -> str:
    return "".join(_KEEP.findall(text))


def _repetition_findings(chapters: Sequence[Chapter]) -> Iterator[Finding]:
    passages: list[_Passage] = []
    for chapter in chapters:
        for start, paragraph in paragraphs(chapter[2]):
            normal = _normalized(paragraph)
            if len(normal) < MIN_PARAGRAPH:
                continue
            shingles = {hash(normal[i : i + SHINGLE]) for i in range(len(normal) - SHINGLE + 1)}
            passages.append(_Passage(chapter, start, start + len(paragraph), shingles))
    matched: dict[int, tuple[int, float]] = _similar_pairs(passages)
    covered: list[tuple[int, int, int]] = []
    for later, (earlier, similarity) in sorted(matched.items()):
        passage, source = passages[later], passages[earlier]
        covered.append((passage.chapter[0], passage.start, passage.end))
        covered.append((source.chapter[0], source.start, source.end))
        where = f"《{source.chapter[1]}》" if source.chapter[1] else "前文"
        if similarity >= 0.999:
            message = f"这一段与{where}中的一段完全相同"
        else:
            message = f"这一段与{where}中的一段高度相似（相似度 {similarity:.0%}）"
        yield Finding(
            "repetition",
            message,
            passage.chapter[0],
            passage.start,
            passage.end,
            _excerpt(passage.chapter[2], passage.start, passage.end),
            [_location(source.chapter, source.start, source.end)],
        )
    yield from _repeated_sentences(chapters, covered)


def _similar_pairs(passages: list[_Passage]) -> dict[int, tuple[int, float]]:
    """For each passage, the earliest earlier passage it largely repeats, with the similarity.

    Candidates are pairs that share shingles found in few passages (a stock phrase in every
    chapter says nothing); their similarity is then the Jaccard index of all their shingles.
    """
    holders: dict[int, list[int]] = defaultdict(list)
    for index, passage in enumerate(passages):
        for shingle in passage.shingles:
            holders[shingle].append(index)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for indexes in holders.values():
        if 1 < len(indexes) <= MAX_SHINGLE_SPREAD:
            for position, later in enumerate(indexes):
                for earlier in indexes[:position]:
                    shared[(earlier, later)] += 1
    best: dict[int, tuple[int, float]] = {}
    for (earlier, later), count in sorted(shared.items()):
        if later in best or count < MIN_SHARED_RARE:
            continue
        a, b = passages[earlier].shingles, passages[later].shingles
        common = len(a & b)
        similarity = common / (len(a) + len(b) - common)
        if similarity >= SIMILAR:
            best[later] = (earlier, similarity)
    return best


def _repeated_sentences(
    chapters: Sequence[Chapter], covered: list[tuple[int, int, int]]
) -> Iterator[Finding]:
    def inside(chapter_id: int, start: int) -> bool:
        return any(c == chapter_id and s <= start < e for c, s, e in covered)

    first_seen: dict[str, tuple[Chapter, int, int]] = {}
    for chapter in chapters:
        for sentence in sentences(chapter[2]):
            normal = _normalized(sentence.text)
            if len(normal) < MIN_REPEATED_SENTENCE:
                continue
            if normal not in first_seen:
                first_seen[normal] = (chapter, sentence.start, sentence.end)
                continue
            if inside(chapter[0], sentence.start):
                continue
            source, start, end = first_seen[normal]
            where = f"《{source[1]}》" if source[1] else "前文"
            yield Finding(
                "repetition",
                f"这句话与{where}中的一句完全相同",
                chapter[0],
                sentence.start,
                sentence.end,
                _excerpt(chapter[2], sentence.start, sentence.end),
                [_location(source, start, end)],
            )
