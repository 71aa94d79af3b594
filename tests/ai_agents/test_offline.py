"""The offline methods: continuation, polish, conversion, outline, summary, snowflake."""

from __future__ import annotations

import re

import pytest

from ai_agents.offline.chinese import HAN
from ai_agents.offline.continuation import builtin_corpus, continue_text, normalize
from ai_agents.offline.conversion import fountain_to_novel, novel_to_fountain
from ai_agents.offline.outline import outline
from ai_agents.offline.polish import polish
from ai_agents.offline.snowflake import STEPS, step
from ai_agents.offline.summary import summarize
from storage.text.fountain import Element, parse

WORK = """\
林小雨把最后一把椅子倒扣在桌上，咖啡馆里只剩下她一个人。窗外的雨下了整整一天，街灯在水洼里碎成一片一片的光。
她想起陈默说过的话。陈默说，等这场雨停了，他就回来。可是雨一直没有停，陈默也一直没有回来。
林小雨擦干净柜台，把那只旧杯子放回架子上。那是陈默留下的杯子，杯沿有一道细细的裂纹。
门上的铃铛忽然响了。林小雨抬起头，看见陈默站在门口，浑身湿透，手里攥着一把折断的伞。
“你回来了。”林小雨轻声说。
陈默点点头，没有说话。他走到柜台前，看着那只旧杯子，看了很久。
“我以为你不会回来了。”林小雨说。
“我答应过你的。”陈默低声说，“雨停之前，我一定回来。”
林小雨转过身，给他倒了一杯热水。热气升起来，模糊了她的眼睛。
那天夜里，雨终于停了。林小雨和陈默坐在窗边，谁也没有开口。街上的积水慢慢退去，远处传来第一声鸟叫。
第二天清晨，林小雨推开咖啡馆的门，阳光落在湿漉漉的台阶上。陈默站在街对面，朝她挥了挥手。
林小雨笑了。她知道，有些人离开，是为了更好地回来。
"""
ENDINGS = ("。", "！", "？", "……")


def _ends_a_sentence(text: str) -> bool:
    return text.rstrip("”’」』").endswith(ENDINGS)


def _copied_runs(output: str, sources: list[str], size: int = 12) -> list[str]:
    haystack = "\n".join(normalize(source) for source in sources)
    return [
        output[i : i + size]
        for i in range(len(output) - size + 1)
        if output[i : i + size] in haystack
    ]


# --- continuation -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [80, 300, 800])
def test_continuation_respects_length_and_ends_at_a_sentence_end(length: int) -> None:
    text = "".join(continue_text(WORK, [WORK], length, seed=1))
    assert 0.8 * length <= len(text) <= 1.2 * length
    assert _ends_a_sentence(text)


def test_continuation_writes_in_the_works_names_and_characters() -> None:
    text = "".join(continue_text(WORK, [WORK], 400, seed=2))
    assert "林小雨" in text or "陈默" in text
    bigrams = [
        text[i : i + 2]
        for i in range(len(text) - 1)
        if re.fullmatch(f"[{HAN}]{{2}}", text[i : i + 2])
    ]
    known = "\n".join([WORK, builtin_corpus()])
    seen = sum(1 for bigram in bigrams if bigram in known)
    assert seen / len(bigrams) > 0.9


def test_continuation_never_copies_twelve_characters_of_its_sources() -> None:
    for seed in range(5):
        text = "".join(continue_text(WORK[:200], [WORK], 500, seed=seed))
        assert _copied_runs(text, [WORK, builtin_corpus()]) == []


def test_continuation_is_deterministic_per_seed_and_streams_in_pieces() -> None:
    pieces = list(continue_text(WORK, [WORK], 200, seed=3))
    assert len(pieces) > 10
    assert all(0 < len(piece) <= 8 for piece in pieces)
    assert pieces == list(continue_text(WORK, [WORK], 200, seed=3))
    assert "".join(pieces) != "".join(continue_text(WORK, [WORK], 200, seed=4))


def test_continuation_works_with_no_corpus_at_all() -> None:
    text = "".join(continue_text("", [], 150, seed=0))
    assert 120 <= len(text) <= 180
    assert _ends_a_sentence(text)
    assert _copied_runs(text, [builtin_corpus()]) == []


def test_continuation_closes_a_quote_it_opened() -> None:
    for seed in range(8):
        text = "".join(continue_text(WORK, [WORK], 120, seed=seed))
        for paragraph in text.split("\n"):
            assert paragraph.count("“") == paragraph.count("”"), paragraph


# --- polish -----------------------------------------------------------------------------------

POLISH_RULES = [
    ("half-width comma and period", "他来了,我走了.", "他来了，我走了。", "literary"),
    ("question and exclamation", "你去吗?去!", "你去吗？去！", "literary"),
    ("colon and semicolon", "他说:好;她说:不", "他说：好；她说：不", "literary"),
    ("straight quotes", '他说"你好"。', "他说“你好”。", "literary"),
    ("spaces between Chinese", "我 今天  很 高兴。", "我今天很高兴。", "literary"),
    ("pangu spacing in formal", "我用Python写了3个程序。", "我用 Python 写了 3 个程序。", "formal"),
    (
        "no pangu spacing in literary",
        "我用Python写了3个程序。",
        "我用Python写了3个程序。",
        "literary",
    ),
    ("repeated punctuation", "真的吗？？？太好了！！！", "真的吗？太好了！", "literary"),
    ("ellipsis from dots", "他走了...再也没回来。", "他走了……再也没回来。", "literary"),
    ("single ellipsis mark", "嗯…好吧。", "嗯……好吧。", "literary"),
    ("dash from hyphens", "他说--不行。", "他说——不行。", "literary"),
    ("trailing spaces", "第一段。   \n第二段。  ", "第一段。\n第二段。", "literary"),
    ("blank lines", "第一段。\n\n\n\n第二段。", "第一段。\n\n第二段。", "literary"),
    ("duplicate particle", "我的的书。", "我的书。", "literary"),
    ("duplicate word", "但是但是他没来。", "但是他没来。", "literary"),
    ("full-width digits", "第３章", "第3章", "literary"),
    ("parentheses", "他(笑着)说。", "他（笑着）说。", "literary"),
    ("formal words", "你咋不去？啥时候来？", "你怎么不去？什么时候来？", "formal"),
    ("casual words", "然而他尚未回来。", "可是他还没回来。", "casual"),
    ("literary words", "然后他突然笑了。", "随后他忽然笑了。", "literary"),
]


@pytest.mark.parametrize(
    ("text", "expected", "style"),
    [rule[1:] for rule in POLISH_RULES],
    ids=[rule[0] for rule in POLISH_RULES],
)
def test_polish_applies_each_rule(text: str, expected: str, style: str) -> None:
    result = polish(text, style)
    assert result.text == expected
    if text != expected:
        assert result.suggestions


@pytest.mark.parametrize(
    "text",
    [
        "林小雨笑了笑，说：“你来了。”陈默点点头……然后——他沉默了。",
        "的的确确，这件事不了了之。",
        "Hello, world. It costs 3.14 dollars at 12:30.",
        "　　第一段，开头有全角缩进。\n　　第二段。",
    ],
)
@pytest.mark.parametrize("style", ["formal", "casual", "literary"])
def test_polish_leaves_correct_text_unchanged(text: str, style: str) -> None:
    if style == "literary":
        text = text.replace("然后", "随后")
    assert polish(text, style).text == text


def test_polish_is_idempotent_and_advises_on_long_sentences_and_repetition() -> None:
    messy = '他看着她的的眼睛,说:"我们走吧!!!"' + "她想了很久很久很久很久" * 10 + "。"
    once = polish(messy, "formal")
    assert polish(once.text, "formal").text == once.text
    assert any("超过" in note for note in once.suggestions)
    assert any("很久" in note for note in once.suggestions)


# (what the writer typed, the polished text, the correction, its reason): one row per mistake.
POLISH_CORRECTIONS = [
    ("我的的书。", "我的书。", ("的的", "的"), "重复的“的”"),
    ("他走了了。", "他走了。", ("了了", "了"), "重复的“了”"),
    ("但是但是他没来。", "但是他没来。", ("但是但是", "但是"), "重复的“但是”"),
    ("他很快的跑了过去。", "他很快地跑了过去。", ("很快的跑", "很快地跑"), "修饰动词用“地”"),
    ("她轻轻的关上门。", "她轻轻地关上门。", ("轻轻的关", "轻轻地关"), "修饰动词用“地”"),
    ("他高兴的说：“好。”", "他高兴地说：“好。”", ("高兴的说", "高兴地说"), "修饰动词用“地”"),
    ("他跑的很快。", "他跑得很快。", ("跑的很", "跑得很"), "引出程度补语用“得”"),
    ("她累的要命。", "她累得要命。", ("累的要命", "累得要命"), "引出程度补语用“得”"),
    ("我觉的不对。", "我觉得不对。", ("觉的", "觉得"), "“觉得”不写作“觉的”"),
    ("他来了,我走了。", "他来了，我走了。", (",", "，"), "中文里用全角标点"),
    ("你好，，世界。", "你好，世界。", ("，，", "，"), "重复的标点"),
    ("夜深了。。", "夜深了。", ("。。", "。"), "重复的标点"),
]


@pytest.mark.parametrize(
    ("text", "expected", "change", "reason"),
    POLISH_CORRECTIONS,
    ids=[row[2][0] for row in POLISH_CORRECTIONS],
)
def test_each_polish_correction_comes_with_its_reason(
    text: str, expected: str, change: tuple[str, str], reason: str
) -> None:
    result = polish(text, "casual")
    before, after = change
    assert result.text == expected
    assert [(c.before, c.after, c.reason) for c in result.corrections] == [(before, after, reason)]
    assert result.suggestions == [f"「{before}」→「{after}」：{reason}"]


@pytest.mark.parametrize(
    "text",
    [
        "脸上露出淡淡的笑。",  # a noun after 的: 笑 as "smile"
        "静静的走廊里没有人。",
        "他说的很对。",  # "what he said": 的 is right
        "去过的很多地方。",
        "他睡觉的时候，门开了。",
        "这是个不得了的人物。",
        "他的确来了，这件事不了了之。",
    ],
)
def test_polish_leaves_correct_uses_of_de_alone(text: str) -> None:
    result = polish(text, "casual")
    assert (result.text, result.corrections) == (text, [])


def test_polish_of_correct_text_has_no_corrections_to_offer() -> None:
    result = polish("林小雨推开门，风铃响了。", "casual")
    assert (result.text, result.corrections, result.suggestions) == (
        "林小雨推开门，风铃响了。",
        [],
        [],
    )


def test_polish_refuses_an_unknown_style() -> None:
    with pytest.raises(ValueError):
        polish("你好", "poetic")


# --- conversion -------------------------------------------------------------------------------

NOVEL = """\
第一章 雨夜

夜里，雨下得很大。林小雨坐在咖啡馆靠窗的位置，看着玻璃上的水痕。
门被推开了，陈默走进来，收起湿漉漉的伞。
“你来了。”林小雨轻声说。
陈默点点头，在她对面坐下：“路上堵车。”
“我等了你一个小时。”
“对不起。”
她冷冷地说：“你总是这样。”
陈默叹道：“这次真的不一样。”

第二天清晨，林小雨撑着伞走在街道上。
她想了想，说：“也许我该原谅他。”
"""


def test_novel_to_fountain_finds_speakers_manners_and_scenes() -> None:
    script = parse(novel_to_fountain(NOVEL, title="雨夜"))
    assert script.title_page["Title"] == "雨夜"
    speech = [
        (element.kind, element.text)
        for element in script.elements
        if element.kind in ("character", "parenthetical", "dialogue")
    ]
    assert speech == [
        ("character", "林小雨"),
        ("parenthetical", "(轻声)"),
        ("dialogue", "你来了。"),
        ("character", "陈默"),
        ("dialogue", "路上堵车。"),
        ("character", "林小雨"),
        ("dialogue", "我等了你一个小时。"),
        ("character", "陈默"),
        ("dialogue", "对不起。"),
        ("character", "林小雨"),
        ("parenthetical", "(冷冷地)"),
        ("dialogue", "你总是这样。"),
        ("character", "陈默"),
        ("parenthetical", "(叹气)"),
        ("dialogue", "这次真的不一样。"),
        ("character", "林小雨"),
        ("dialogue", "也许我该原谅他。"),
    ]
    headings = [e.text for e in script.elements if e.kind == "scene_heading"]
    assert headings == ["内景. 咖啡馆 - 夜", "外景. 街道 - 晨"]
    assert Element("section", "第一章 雨夜", depth=1) in script.elements
    actions = [e.text for e in script.elements if e.kind == "action"]
    assert "陈默点点头，在她对面坐下。" in actions
    assert not any("说" in action for action in actions)


def test_novel_without_dialogue_becomes_action_under_a_generic_heading() -> None:
    script = parse(novel_to_fountain("风吹过山岗。\n一切都很安静。"))
    assert [e.kind for e in script.elements] == ["scene_heading", "action", "action"]
    assert script.elements[0].text == "场景一"


def test_fountain_to_novel_keeps_every_line_of_dialogue() -> None:
    fountain_text = novel_to_fountain(NOVEL)
    novel = fountain_to_novel(fountain_text)
    for element in parse(fountain_text).elements:
        if element.kind == "dialogue":
            assert f"“{element.text}”" in novel
    assert "“你来了。”林小雨轻声说。" in novel
    assert "“你总是这样。”林小雨冷冷地说。" in novel
    assert "“这次真的不一样。”陈默叹道。" in novel
    assert "夜里，咖啡馆。" in novel


def test_fountain_to_novel_reads_an_english_script() -> None:
    text = (
        "INT. CAFE - NIGHT\n\nRain on the glass.\n\nJOHN (V.O.)\n(quietly)\nYou came.\nFinally.\n"
    )
    lines = fountain_to_novel(text).splitlines()
    assert lines[:2] == ["夜里，CAFE。", "Rain on the glass."]
    assert "“You came. Finally.”" in lines[2]
    assert "JOHN" in lines[2] and "V.O." not in lines[2]


# --- outline ----------------------------------------------------------------------------------

PREMISE = "林小雨在咖啡馆遇见了陈默，两人决心寻找失踪的妹妹，却卷入了一场跨越十年的阴谋。"


@pytest.mark.parametrize("chapters", [1, 3, 4, 9, 15])
@pytest.mark.parametrize(
    ("kind", "genre"), [("novel", "都市"), ("novel", "玄幻"), ("script", None)]
)
def test_outline_gives_n_chapters_built_on_the_premise(
    chapters: int, kind: str, genre: str | None
) -> None:
    result = outline(PREMISE, genre=genre, kind=kind, chapters=chapters, corpus=[])
    assert len(result) == chapters
    assert len({chapter.title for chapter in result}) == chapters
    assert all(chapter.summary for chapter in result)
    assert result[0].title.startswith("第一场" if kind == "script" else "第一章")
    text = "".join(chapter.title + chapter.summary for chapter in result)
    assert "林小雨" in text
    if chapters >= 4:
        assert "陈默" in text
        assert "寻找失踪的妹妹" in text


def test_outline_takes_names_from_the_materials_when_the_premise_has_none() -> None:
    materials = ["周远山是一名退休警察，周远山说话很慢。周远山看人总是眯着眼。"]
    result = outline(
        "一个关于追查旧案的故事", genre="悬疑", kind="novel", chapters=4, corpus=materials
    )
    assert "周远山" in "".join(chapter.summary for chapter in result)
    assert result == outline(
        "一个关于追查旧案的故事", genre="悬疑", kind="novel", chapters=4, corpus=materials
    )


# --- summary ----------------------------------------------------------------------------------

STORY = (
    "清晨的码头起了雾。卖早点的摊子冒着热气。几只海鸥落在栏杆上。"
    "林小雨在码头的旧仓库里找到了失踪三年的妹妹林小雪，妹妹手里还攥着那封没有寄出的信。"
    "远处有船鸣笛。风吹得帆布哗哗作响。"
    "林小雨带着妹妹离开码头，那封信后来被她们一起烧掉了。"
    "天慢慢亮了。路边的灯一盏盏熄灭。"
)


@pytest.mark.parametrize("max_chars", [10, 45, 80, 120, 1000])
def test_summary_respects_max_chars(max_chars: int) -> None:
    result = summarize(STORY, max_chars)
    assert 0 < len(result) <= max_chars


def test_summary_keeps_the_key_sentence_in_order() -> None:
    result = summarize(STORY, 80)
    assert "林小雨在码头的旧仓库里找到了失踪三年的妹妹林小雪" in result
    kept = re.findall(r"[^。]+。", result)
    assert all(sentence in STORY for sentence in kept)
    assert [STORY.index(s) for s in kept] == sorted(STORY.index(s) for s in kept)


def test_summary_returns_short_text_whole() -> None:
    assert summarize("很短的一句话。", 100) == "很短的一句话。"


# --- snowflake --------------------------------------------------------------------------------

MARK = "林小雨在灯塔下找到了一封旧信。"
EDITED = {
    1: MARK,
    2: f"{MARK}陈默决定帮她查明写信的人。",
    3: "【林小雨】（主角）\n动机：找到妹妹。\n\n【周大海】（对手）\n动机：掩盖旧事。",
    4: f"{MARK}\n\n周大海在灯塔下烧掉了另一封信。",
    5: f"【林小雨】眼中的故事\n{MARK}",
    6: f"第一部分\n{MARK}",
    7: "【周大海】档案\n身份：对手",
    8: f"场景一｜视角：林小雨｜地点：灯塔｜{MARK}",
    9: f"场景一：{MARK}\n目标：林小雨想弄清真相。",
}


def test_snowflake_has_ten_named_steps() -> None:
    assert [number for number, _, _ in STEPS] == list(range(1, 11))
    assert all(name and instruction for _, name, instruction in STEPS)


def test_snowflake_drafts_every_step_from_the_premise_alone() -> None:
    state: dict[str | int, str] = {"premise": PREMISE, "genre": "悬疑"}
    for number in range(1, 11):
        text = step(number, state)
        assert text.strip()
        assert "林小雨" in text
        state[number] = text


# Which earlier steps each step is drafted from.
FEEDS = {2: (1,), 3: (2,), 4: (2,), 5: (3, 4), 6: (4,), 7: (5,), 8: (6, 7), 9: (8,), 10: (9,)}


@pytest.mark.parametrize("number", range(2, 11))
def test_snowflake_builds_each_step_on_the_writers_earlier_steps(number: int) -> None:
    state: dict[str | int, str] = {"premise": "林小雨和陈默追查一桩旧案。", "genre": "悬疑"}
    for source in FEEDS[number]:
        # Saved state comes back from JSON with string keys; accept both.
        state[str(source) if source % 2 else source] = EDITED[source]
    text = step(number, state)
    if number == 5:
        assert "【周大海】眼中的故事" in text
        assert "周大海在灯塔下烧掉了另一封信。" in text
    else:
        assert "在灯塔下找到了一封旧信" in text
    if number == 8:
        assert "视角：周大海" in text


def test_snowflake_refuses_a_step_outside_one_to_ten() -> None:
    with pytest.raises(ValueError):
        step(11, {"premise": PREMISE})
