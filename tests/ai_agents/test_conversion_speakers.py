"""Who says each line when the offline converter turns a novel into a screenplay.

Each scene is a table of paragraphs (38 of them with dialogue), with the speaker expected for
every quotation in it (None: nobody can be named, so the quote stays in the action with its
quotation marks). The scenes are converted whole, as a chapter is, because turn-taking and
pronouns depend on what came before.
"""

from __future__ import annotations

import re

import pytest

from ai_agents.offline.conversion import novel_to_fountain
from storage.text.fountain import Script, parse

Line = tuple[str, tuple[str | None, ...]]

SCENES: dict[str, list[Line]] = {
    "母女夜话": [
        ("夜深了，林小雨还坐在窗前，手里攥着那封信。", ()),
        ("“你还在等他吗？”母亲在身后问。", ("母亲",)),
        ("“嗯。”", ("林小雨",)),
        ("“早点睡吧。”母亲叹了口气。", ("母亲",)),
        ("“妈，你先睡。”", ("林小雨",)),
        ("母亲轻轻带上了门。", ()),
    ],
    "咖啡馆": [
        ("雨夜，咖啡馆里只剩林小雨一个人。门被推开了，陈默走进来，收起湿漉漉的伞。", ()),
        ("“你来了。”林小雨轻声说。", ("林小雨",)),
        ("陈默点点头，在她对面坐下：“路上堵车。”", ("陈默",)),
        ("“我等了你一个小时。”", ("林小雨",)),
        ("“对不起。”", ("陈默",)),
        ("她冷冷地说：“你总是这样。”", ("林小雨",)),
        ("“这次真的不一样。”陈默低下头。", ("陈默",)),
        ("林小雨看着他，一字一句地说：“我不会再等了。”", ("林小雨",)),
        ("“我答应过你的。”陈默低声说，“雨停之前，我一定回来。”", ("陈默", "陈默")),
    ],
    "客栈": [
        ("天色已晚，一个书生模样的年轻人走进客栈，抖落一身的雪。", ()),
        ("王掌柜问道：“客官要住店吗？”", ("王掌柜",)),
        ("“一间上房。”年轻人把包袱放在柜台上。", ("年轻人",)),
        ("“好嘞！”小二高声应道。", ("小二",)),
        ("门外忽然有人喊道：“官兵来了！”", ("有人",)),
        ("“快从后门走！”王掌柜压低声音说。", ("王掌柜",)),
    ],
    "办公室": [
        ("周一早上，办公室里一片忙乱。", ()),
        ("李经理把文件摔在桌上，厉声问道：“这份报告是谁写的？”", ("李经理",)),
        ("小陈战战兢兢地站起来：“是我。”", ("小陈",)),
        ("“你跟我来一趟。”李经理转身走进了会议室。", ("李经理",)),
        ("同事们面面相觑。“这下麻烦了。”有人小声嘀咕。", ("有人",)),
    ],
    "第一人称": [
        ("我推开家门，看见父亲坐在沙发上看报纸。", ()),
        ("“回来了？”父亲头也没抬。", ("父亲",)),
        ("“嗯，回来了。”我说。", ("我",)),
        ("“吃饭了吗？”", ("父亲",)),
        ("“还没有。”", ("我",)),
    ],
    "山道": [
        ("山道上，两骑飞驰而来。", ()),
        ("为首的黑衣人勒住马缰，冷笑道：“萧大侠，别来无恙。”", ("为首的黑衣人",)),
        ("萧远山按住剑柄，淡淡地道：“阁下是谁？”", ("萧远山",)),
        ("“取你性命的人。”", ("为首的黑衣人",)),
    ],
    "无人应答": [
        ("屋里一片漆黑，只有钟摆在响。", ()),
        ("“有人吗？”", (None,)),
        ("没有回答。", ()),
        ("“谁在那里？”门外传来一个沙哑的声音。", (None,)),
    ],
    "会议记录": [
        ("苏晚晴：“我不同意。”", ("苏晚晴",)),
        ("老周：“那就投票。”", ("老周",)),
        ("苏晚晴：“投就投。”", ("苏晚晴",)),
    ],
    "转身": [
        ("傍晚，江边的风很大。", ()),
        ("“你怎么来了？”林小雨转身问。", ("林小雨",)),
        ("陈默笑着说：“路过。”", ("陈默",)),
        ("“骗人。”她轻声说。", ("林小雨",)),
        ("张医生推了推眼镜，说道：“她的情况不太乐观。”", ("张医生",)),
        ("“药已经煎好了。”小丫头怯生生地说。", ("小丫头",)),
    ],
}
QUOTE = re.compile(r"“([^“”]*)”")


def speaker_of(script: Script, speech: str) -> str | None:
    """The cue over the dialogue holding `speech`; None when the quote is left in an action."""
    cue: str | None = None
    for element in script.elements:
        if element.kind == "character":
            cue = element.text
        elif element.kind == "dialogue" and speech in element.text:
            return cue
        elif element.kind == "action" and f"“{speech}”" in element.text:
            return None
    raise AssertionError(f"{speech!r} is not in the script")


@pytest.mark.parametrize("scene", SCENES)
def test_each_quotation_goes_to_its_speaker(scene: str) -> None:
    lines = SCENES[scene]
    script = parse(novel_to_fountain("\n".join(text for text, _ in lines)))
    found = [
        (text, tuple(speaker_of(script, speech) for speech in QUOTE.findall(text)))
        for text, _ in lines
    ]
    assert found == lines


def test_a_speaker_is_a_name_without_the_words_around_it() -> None:
    """The bug report: 母亲在身后问 made a character 母亲在身后, who then said the next line too."""
    script = parse(novel_to_fountain("“你还在等他吗？”母亲在身后问。\n“嗯。”\n"))
    cues = [element.text for element in script.elements if element.kind == "character"]
    assert cues == ["母亲"]
    assert ("action", "“嗯。”") in [(element.kind, element.text) for element in script.elements]
