"""The review searches only around the rare character each match must hold; it must find
exactly what a search of the whole text finds."""

from __future__ import annotations

import random

from ai_agents.offline.chinese import NUMBER
from ai_agents.offline.review import timeline
from ai_agents.offline.review.near import matches_near

NAMES = ["林晓雨", "陈默", "欧阳明月", "周野"]
PIECES = [
    *NAMES,
    *[
        "今年",
        "已经",
        "刚满",
        "将近",
        "岁",
        "的",
        "十",
        "二",
        "3",
        "7",
        "〇",
        "一九",
        "出生于",
        "生于",
        "出生在了",
        "生在",
        "年",
        "，",
        "。",
        "他",
        "雨",
        "生",
        "满",
    ],
]


def _texts(count: int) -> list[str]:
    rng = random.Random(20261206)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def _spans(matches: object) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(match.span(), match.groupdict()) for match in matches]  # type: ignore[attr-defined]


def test_ages_found_around_each_sui_are_those_of_the_whole_text() -> None:
    frequent = sorted(NAMES, key=len, reverse=True)
    alternation = "|".join(frequent)
    words = "|".join(timeline._AGE_WORDS)
    pattern = timeline.re.compile(
        rf"(?P<name>{alternation})(?:{words})?(?P<age>{NUMBER})岁"
        rf"|(?P<age2>{NUMBER})岁的(?P<name2>{alternation})"
    )
    before = len(frequent[0]) + max(map(len, timeline._AGE_WORDS))
    found = 0
    for text in _texts(3000):
        near = matches_near(
            pattern, text, "岁", before, 1 + len(frequent[0]), extends_back=timeline._NUMBER_CHARS
        )
        whole = _spans(pattern.finditer(text))
        assert _spans(near) == whole, text
        found += len(whole)
    assert found > 100  # the texts do hold ages


def test_birth_years_found_around_each_sheng_are_those_of_the_whole_text() -> None:
    frequent = sorted(NAMES, key=len, reverse=True)
    verbs = "|".join(timeline._BIRTH_VERBS)
    pattern = timeline.re.compile(
        rf"(?P<name>{'|'.join(frequent)})(?:{verbs})(?P<year>\d{{4}}|[〇零一二三四五六七八九]{{4}})年"
    )
    before = len(frequent[0]) + max(verb.index("生") for verb in timeline._BIRTH_VERBS)
    after = max(len(verb) - verb.index("生") - 1 for verb in timeline._BIRTH_VERBS) + 5
    rng = random.Random(7)
    pieces = [
        *NAMES,
        *["出生于", "生于", "出生在了", "生在", "年", "一九", "九〇", "19", "91", "〇", "生", "。"],
    ]
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        whole = _spans(pattern.finditer(text))
        assert _spans(matches_near(pattern, text, "生", before, after)) == whole, text
        found += len(whole)
    assert found  # the texts do hold birth years


def test_a_window_too_narrow_would_miss_matches() -> None:
    """The comparison above can fail: without the number's run the windows miss ages."""
    pattern = timeline.re.compile(rf"陈默(?P<age>{NUMBER})岁")
    text = "陈默一百二十三岁"
    assert _spans(matches_near(pattern, text, "岁", 2, 0)) == []
    assert _spans(matches_near(pattern, text, "岁", 2, 0, extends_back=timeline._NUMBER_CHARS))


def test_the_review_finds_the_same_ages_and_birth_years() -> None:
    chapters = [
        (1, "一", "林晓雨今年十二岁。林晓雨出生于一九九〇年。"),
        (2, "二", "第二年，林晓雨已经十岁。十五岁的林晓雨笑了。林晓雨生于1991年。"),
    ]
    findings = list(timeline.timeline_findings(chapters, {"林晓雨": 9}))
    messages = [finding.message for finding in findings]
    assert any("年龄" in message and "变小" in message for message in messages), messages
    assert any("出生年份" in message for message in messages), messages
