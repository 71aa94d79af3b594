from __future__ import annotations

import pytest

from storage.text.fountain import Element, Script, parse, write

ENGLISH = """\
Title: BRICK & STEEL
Credit: Written by
Author: Stu Maschwitz
Draft date: 1/20/2012
Contact:
    Next Level Productions
    1588 Mission Dr.

# ACT ONE

= Brick confronts Steel.

EXT. BRICK'S PATIO - DAY #1#

A gorgeous day. The sun is shining.
/* This scene was cut. */
But BRICK BRADDOCK, retired police detective, is sitting quietly.

STEEL
(starting the engine)
So much for retirement!
I'm back.

BRICK ^
Not so fast.

[[A note the writers left.]]

CUT TO:

.SNIPER SCOPE POV

~Willy Wonka! Willy Wonka!
~The amazing chocolatier!

> THE END <

===

!SCANNING THE AISLES...
"""

CHINESE = """\
Title: 雨夜
Author: 林默

.内景. 咖啡馆 - 夜

雨水顺着玻璃往下淌。林小雨坐在靠窗的位置。

@林小雨
（轻声）
你来了。

@陈默
(低头)
嗯，路上堵车。

> 切至：

外景. 长街 - 夜

陈默撑开伞。
"""


def test_every_english_element_kind_is_parsed() -> None:
    script = parse(ENGLISH)
    assert script.title_page == {
        "Title": "BRICK & STEEL",
        "Credit": "Written by",
        "Author": "Stu Maschwitz",
        "Draft date": "1/20/2012",
        "Contact": "Next Level Productions\n1588 Mission Dr.",
    }
    assert script.elements == [
        Element("section", "ACT ONE", depth=1),
        Element("synopsis", "Brick confronts Steel."),
        Element("scene_heading", "EXT. BRICK'S PATIO - DAY", number="1"),
        Element(
            "action",
            "A gorgeous day. The sun is shining.\n"
            "But BRICK BRADDOCK, retired police detective, is sitting quietly.",
        ),
        Element("character", "STEEL"),
        Element("parenthetical", "(starting the engine)"),
        Element("dialogue", "So much for retirement!\nI'm back."),
        Element("character", "BRICK", dual=True),
        Element("dialogue", "Not so fast."),
        Element("transition", "CUT TO:"),
        Element("scene_heading", "SNIPER SCOPE POV"),
        Element("lyric", "Willy Wonka! Willy Wonka!\nThe amazing chocolatier!"),
        Element("centered", "THE END"),
        Element("page_break", ""),
        Element("action", "SCANNING THE AISLES..."),
    ]


def test_chinese_headings_cues_parentheticals_and_transitions_are_parsed() -> None:
    script = parse(CHINESE)
    assert script.title_page == {"Title": "雨夜", "Author": "林默"}
    assert script.elements == [
        Element("scene_heading", "内景. 咖啡馆 - 夜"),
        Element("action", "雨水顺着玻璃往下淌。林小雨坐在靠窗的位置。"),
        Element("character", "林小雨"),
        Element("parenthetical", "（轻声）"),
        Element("dialogue", "你来了。"),
        Element("character", "陈默"),
        Element("parenthetical", "(低头)"),
        Element("dialogue", "嗯，路上堵车。"),
        Element("transition", "切至："),
        Element("scene_heading", "外景. 长街 - 夜"),
        Element("action", "陈默撑开伞。"),
    ]


def test_a_caseless_chinese_line_before_text_is_action_not_a_cue() -> None:
    script = parse("\n林小雨站起来\n走到门口。\n")
    assert script.elements == [Element("action", "林小雨站起来\n走到门口。")]


@pytest.mark.parametrize("sample", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_write_then_parse_keeps_the_script(sample: str) -> None:
    script = parse(sample)
    assert parse(write(script)) == script


def test_cjk_cues_headings_and_transitions_are_written_forced() -> None:
    script = Script(
        {"Title": "雨夜"},
        [
            Element("scene_heading", "内景. 咖啡馆 - 日"),
            Element("character", "林小雨"),
            Element("parenthetical", "(轻声)"),
            Element("dialogue", "你来了。"),
            Element("character", "JOHN (V.O.)"),
            Element("dialogue", "Hello."),
            Element("transition", "切至："),
            Element("transition", "CUT TO:"),
        ],
    )
    text = write(script)
    assert text.splitlines() == [
        "Title: 雨夜",
        "",
        ".内景. 咖啡馆 - 日",
        "",
        "@林小雨",
        "(轻声)",
        "你来了。",
        "",
        "JOHN (V.O.)",
        "Hello.",
        "",
        "> 切至：",
        "",
        "CUT TO:",
    ]
    assert parse(text) == script


def test_action_that_would_read_as_another_element_is_forced() -> None:
    script = Script(
        {},
        [
            Element("action", "Note: the door is open."),
            Element("action", "INT. EXTRA TEXT IS ACTION HERE"),
            Element("action", "SHOUTING LOUDLY\nthen quiet."),
            Element("action", "#1 on the list"),
        ],
    )
    assert parse(write(script)) == script


def test_dialogue_keeps_a_blank_line_written_as_two_spaces() -> None:
    script = Script(
        {}, [Element("character", "林小雨"), Element("dialogue", "第一句。\n\n第二句。")]
    )
    assert write(script).splitlines() == ["@林小雨", "第一句。", "  ", "第二句。"]
    assert parse(write(script)) == script


def test_boneyard_and_notes_are_skipped_even_across_lines() -> None:
    script = parse(
        "@林小雨\n你好[[旁注]]。\n[[整行\n备注]]\n再见。\n\n/* 删掉\n的段落 */\n\n外景. 街 - 日\n"
    )
    assert script.elements == [
        Element("character", "林小雨"),
        Element("dialogue", "你好。\n再见。"),
        Element("scene_heading", "外景. 街 - 日"),
    ]


def test_empty_script_writes_empty_text() -> None:
    assert write(Script({}, [])) == ""
    assert parse("") == Script({}, [])
