"""Timeline: a person's stated age that goes down, or rises faster than the years the text lets
pass; two birth years for one person; a weekday or date that does not follow from the previous
one and the days passed since (第二天, 三天后); a date whose weekday is wrong for its year."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..chinese import NUMBER, parse_number
from .findings import Chapter, Finding, Location, location, surrounding
from .names import MIN_NAME_COUNT
from .near import matches_near

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


def timeline_findings(chapters: Sequence[Chapter], names: dict[str, int]) -> Iterator[Finding]:
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


_AGE_WORDS = ("今年", "已经", "已", "才", "刚", "刚满", "都", "快", "将近", "已满", "满")
_NUMBER_CHARS = frozenset("0123456789零〇一二两三四五六七八九十百千万")
_BIRTH_VERBS = ("出生于", "生于", "出生在", "生在", "出生在了")


def _age_findings(chapters: Sequence[Chapter], frequent: list[str]) -> Iterator[Finding]:
    alternation = "|".join(re.escape(name) for name in frequent)
    words = "|".join(_AGE_WORDS)
    pattern = re.compile(
        rf"(?P<name>{alternation})(?:{words})?(?P<age>{NUMBER})岁"
        rf"|(?P<age2>{NUMBER})岁的(?P<name2>{alternation})"
    )
    longest = len(frequent[0])  # `frequent` is longest first
    # Every match holds a 岁, preceded by its number, at most one age word and a name, or
    # followed by 的 and a name: only the text around each 岁 is searched.
    before = longest + max(map(len, _AGE_WORDS))
    after = len("的") + longest
    years = 0.0
    ages: dict[str, list[_Age]] = defaultdict(list)
    for chapter in chapters:
        text = _narration(chapter[2])
        events: list[tuple[int, str, re.Match[str]]] = []
        ages_here = matches_near(pattern, text, "岁", before, after, extends_back=_NUMBER_CHARS)
        events += [(m.start(), "age", m) for m in ages_here]
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
        surrounding(chapter[2], now.start, now.end),
        "high",
        [location(before.chapter, before.start, before.end)],
    )


def _birth_year_findings(chapters: Sequence[Chapter], frequent: list[str]) -> Iterator[Finding]:
    alternation = "|".join(re.escape(name) for name in frequent)
    verbs = "|".join(_BIRTH_VERBS)
    pattern = re.compile(
        rf"(?P<name>{alternation})(?:{verbs})(?P<year>\d{{4}}|[〇零一二三四五六七八九]{{4}})年"
    )
    # Every match holds the 生 of its verb: only the text around each 生 is searched.
    before = len(frequent[0]) + max(verb.index("生") for verb in _BIRTH_VERBS)
    after = max(len(verb) - verb.index("生") - 1 for verb in _BIRTH_VERBS) + len("0000年")
    seen: dict[str, tuple[int, Location]] = {}
    for chapter in chapters:
        for match in matches_near(pattern, chapter[2], "生", before, after):
            year = parse_number(match.group("year"))
            name = match.group("name")
            if year is None:
                continue
            here = location(chapter, match.start(), match.end())
            if name in seen and seen[name][0] != year:
                yield Finding(
                    "timeline",
                    f"“{name}”的出生年份前后不一：此前写作 {seen[name][0]} 年，此处是 {year} 年",
                    chapter[0],
                    match.start(),
                    match.end(),
                    surrounding(chapter[2], match.start(), match.end()),
                    "high",
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
                here = location(chapter, match.start(), match.end())
                context = surrounding(chapter[2], match.start(), match.end())
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
                            "high",
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
                            "high",
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
