"""Long-text review on a generated 20-chapter work: planted slips are found, clean text is not."""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator

from ai_agents.offline.review import Limits, review
from ai_agents.offline.review.findings import Finding
from ai_agents.offline.review.processes import review_in_processes
from ai_agents.offline.review.repetition import RepetitionIndex

CAST = ("林小雨", "陈默", "周远山", "苏青")
PLACES = ("咖啡馆", "图书馆", "旧书店", "车站", "码头", "教室", "厨房", "天台", "花店", "小院")
ACTS = (
    "推开了窗户",
    "点了点头",
    "看着窗外的雨",
    "放下手里的杯子",
    "沉默了很久",
    "转身走向门口",
    "轻轻叹了口气",
    "翻开那本旧笔记",
    "把信塞进口袋",
    "望着远处的灯火",
    "揉了揉发酸的眼睛",
    "把伞靠在墙边",
)
MOODS = (
    "很安静",
    "飘着咖啡的香气",
    "只剩下几盏灯",
    "挤满了避雨的人",
    "传来低低的说话声",
    "弥漫着旧纸张的味道",
    "有一只猫在打盹",
    "的钟走得很慢",
)
LINES = (
    "你来得正好",
    "我们走吧",
    "再等一会儿",
    "这件事不简单",
    "我不相信",
    "你听我说",
    "明天再说吧",
    "还有别的办法",
    "谁也别告诉",
    "我早就知道了",
)
TOGETHER = ("并肩走着", "隔着桌子坐下", "同时笑了", "谁也没有说话", "一起整理书架", "分着吃一碗面")
WEATHER = ("雨小了", "风停了", "天色暗下来", "云散开了", "路灯亮了", "远处响起钟声")
CHAPTERS = 20
PARAGRAPHS = 32


def _sentence(rng: random.Random) -> str:
    name, other = rng.sample(CAST, 2)
    shape = rng.randrange(5)
    if shape == 0:
        return f"{name}{rng.choice(ACTS)}。"
    if shape == 1:
        return f"{rng.choice(PLACES)}里{rng.choice(MOODS)}。"
    if shape == 2:
        return f"“{rng.choice(LINES)}。”{name}说。"
    if shape == 3:
        return f"{name}和{other}{rng.choice(TOGETHER)}。"
    return f"{rng.choice(WEATHER)}，{name}{rng.choice(ACTS)}。"


def generate_work(seed: int = 7) -> list[list[str]]:
    """Chapters as lists of paragraphs; consistent ages and weekdays, no repeated passages."""
    rng = random.Random(seed)
    chapters = [
        ["".join(_sentence(rng) for _ in range(rng.randint(4, 7))) for _ in range(PARAGRAPHS)]
        for _ in range(CHAPTERS)
    ]
    chapters[0].insert(1, "林小雨今年十七岁，在码头边的花店帮忙。")
    chapters[1].insert(2, "今天是星期一，天还没亮，陈默就出了门。")
    chapters[1].insert(6, "第二天，陈默又去了码头。")
    chapters[2].insert(0, "今天是星期二，周远山在车站等了一上午。")
    chapters[9].insert(0, "一年后，十八岁的林小雨回到了码头。")
    return chapters


def as_input(chapters: list[list[str]]) -> list[tuple[int, str, str]]:
    return [
        (100 + index, f"第{index + 1}章", "\n".join(paragraphs))
        for index, paragraphs in enumerate(chapters)
    ]


def test_a_clean_work_has_no_findings() -> None:
    work = as_input(generate_work())
    assert sum(len(text) for _, _, text in work) > 40_000
    assert review(work).findings == []


def _only(findings: list[Finding], kind: str) -> Finding:
    matching = [finding for finding in findings if finding.kind == kind]
    assert len(matching) == 1, matching
    return matching[0]


def test_planted_name_age_and_copied_paragraph_are_each_found_where_they_are() -> None:
    chapters = generate_work()
    chapters[6].insert(3, "林晓雨把伞靠在墙边。")
    chapters[13].insert(5, "十五岁的林小雨站在天台上。")
    copied = chapters[2][4]
    chapters[16].insert(8, copied)
    work = as_input(chapters)
    texts = {chapter_id: text for chapter_id, _, text in work}

    findings = review(work).findings

    name = _only(findings, "name")
    assert name.chapter_id == 106
    assert texts[106][name.start : name.end] == "林晓雨"
    assert "林小雨" in name.message
    assert name.related and texts[name.related[0].chapter_id].startswith(
        "林小雨", name.related[0].start
    )

    age = _only(findings, "timeline")
    assert age.chapter_id == 113
    assert texts[113][age.start : age.end] == "十五岁的林小雨"
    assert "18" in age.message and "15" in age.message
    assert age.related[0].chapter_id == 109

    repeated = _only(findings, "repetition")
    assert repeated.chapter_id == 116
    assert texts[116][repeated.start : repeated.end] == copied
    source = repeated.related[0]
    assert source.chapter_id == 102
    assert texts[102][source.start : source.end] == copied


def test_a_lightly_edited_copy_is_still_found() -> None:
    chapters = generate_work()
    original = chapters[4][10]
    edited = original.replace("。", "，", 1)[:-1] + "！"
    chapters[11].insert(2, edited)
    findings = review(as_input(chapters)).findings
    repeated = _only(findings, "repetition")
    assert repeated.chapter_id == 111
    assert repeated.related[0].chapter_id == 104


def test_a_weekday_that_does_not_follow_from_the_days_passed_is_found() -> None:
    chapters = generate_work()
    chapters[2][0] = "今天是星期四，周远山在车站等了一上午。"
    findings = review(as_input(chapters)).findings
    slip = _only(findings, "timeline")
    assert slip.chapter_id == 102
    assert "星期二" in slip.message and "星期四" in slip.message
    assert slip.related[0].chapter_id == 101


def test_a_traditional_spelling_of_a_name_is_found() -> None:
    chapters = generate_work()
    chapters[8].insert(0, "林小雨和陳默並肩走著。")
    findings = review(as_input(chapters)).findings
    name = _only(findings, "name")
    assert name.chapter_id == 108
    assert "繁简" in name.message and "陈默" in name.message


def test_long_sentences_repeated_word_for_word_are_found() -> None:
    chapters = generate_work()
    sentence = "那封没有署名的信一直压在抽屉最底层，信纸已经发黄变脆。"
    chapters[3].insert(4, f"{sentence}林小雨点了点头。")
    chapters[15].insert(9, f"陈默推开了窗户。{sentence}")
    findings = review(as_input(chapters)).findings
    repeated = _only(findings, "repetition")
    assert repeated.chapter_id == 115
    assert repeated.excerpt.startswith("那封没有署名的信")
    assert repeated.related[0].chapter_id == 103


def test_words_that_merely_share_a_names_characters_are_not_flagged() -> None:
    chapters = generate_work()
    chapters[5].insert(2, "他穿过树林小路，又经过林小姐的花店。")
    assert [f for f in review(as_input(chapters)).findings if f.kind == "name"] == []


def test_a_flashback_age_is_not_a_timeline_slip() -> None:
    chapters = generate_work()
    chapters[12].insert(3, "她想起小时候，八岁的林小雨总在码头边等船。")
    assert review(as_input(chapters)).findings == []


def test_findings_past_the_caps_are_counted_and_the_most_severe_kept_in_reading_order() -> None:
    chapters = generate_work()
    sentence = "那封没有署名的信一直压在抽屉最底层，信纸已经发黄变脆。"
    for index in range(3, 15):  # a sentence said twelve times: eleven repeats (low)
        chapters[index][4] += sentence
    for index, weekday in ((4, "六"), (6, "三"), (8, "五")):  # days that do not follow (high)
        chapters[index].insert(0, f"今天是星期{weekday}，周远山在车站等了一上午。")
    chapters[6].insert(3, "林晓雨把伞靠在墙边。")  # a misspelt name (medium)
    work = as_input(chapters)

    everything = review(work, Limits(total=1_000, per_kind=1_000))
    capped = review(work, Limits(total=6, per_kind=4))

    found = Counter(finding.kind for finding in everything.findings)
    assert found == {"repetition": 11, "timeline": 3, "name": 1}
    assert not everything.truncated and capped.truncated
    assert capped.counts == everything.counts == found
    # the three slips of the story, the name, then the first two repeats in reading order
    assert [(f.kind, f.severity) for f in capped.findings] == [
        *[("timeline", "high")] * 3,
        ("name", "medium"),
        *[("repetition", "low")] * 2,
    ]
    order = [chapter_id for chapter_id, _, _ in work]
    places = [(order.index(f.chapter_id), f.start) for f in capped.findings]
    assert places[:3] == sorted(places[:3]) and places[4:] == sorted(places[4:])
    repeats = [f for f in everything.findings if f.kind == "repetition"]
    first_two = sorted(repeats, key=lambda f: (order.index(f.chapter_id), f.start))[:2]
    assert capped.findings[4:] == first_two

    fewer_per_kind = review(work, Limits(total=1_000, per_kind=2))
    assert Counter(f.kind for f in fewer_per_kind.findings) == {
        "repetition": 2,
        "timeline": 2,
        "name": 1,
    }


async def test_a_review_in_child_processes_finds_the_same() -> None:
    chapters = generate_work()
    chapters[6].insert(3, "林晓雨把伞靠在墙边。")
    chapters[13].insert(5, "十五岁的林小雨站在天台上。")
    work = as_input(chapters)

    async def as_read() -> AsyncIterator[tuple[int, str, str]]:
        for chapter in work:
            yield chapter

    apart = await review_in_processes(as_read())
    assert apart == review(work)
    assert {finding.kind for finding in apart.findings} == {"name", "timeline"}


def test_the_repetition_index_holds_a_shingle_in_a_few_bytes() -> None:
    """A 5,000-chapter work has some 15 million shingles: as Python ints in sets, with a counter
    of their spread, they took about 125 bytes each (1.9 GB in the review's child process)."""
    work = as_input(generate_work())
    RepetitionIndex().add(work[0])  # what a first use imports is not the index's
    index = RepetitionIndex()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for chapter in work:
            index.add(chapter)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    shingles = sum(len(passage.shingles) for passage in index.passages)
    assert shingles > 20_000
    assert held / shingles < 24, held / shingles


def test_a_work_without_long_paragraphs_or_without_repeats_reviews_to_nothing() -> None:
    assert review([]).findings == []
    assert review([(1, "序", "短句。\n又一句。")]).findings == []
    assert review(as_input(generate_work())[:1]).findings == []
