"""Prompt templates render with every placeholder filled; context fits its budget."""

from __future__ import annotations

import pytest

from ai_agents import prompts
from ai_agents.context import Bible, assemble, clip, render_bible, tail

TEMPLATES = {
    "continue": {"bible": "B", "summaries": "S", "preceding": "P", "length": 9, "instruction": ""},
    "polish": {"style": "正式", "style_instruction": "书面", "text": "T"},
    "convert_to_script": {"title_line": "标题", "text": "T"},
    "convert_to_novel": {"text": "T"},
    "outline": {"kind_name": "小说", "chapters": 3, "genre": "G", "premise": "P", "bible": "B"},
    "summary": {"max_chars": 300, "title": "t", "text": "T"},
    "snowflake": {
        "step": 1,
        "step_name": "n",
        "step_instruction": "i",
        "title": "t",
        "genre": "g",
        "previous": "p",
    },
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_its_request_last(name: str) -> None:
    values = {key: f"«{key}»" for key in TEMPLATES[name]}
    messages = prompts.render(name, **values)
    assert messages[0].role == "system" and messages[-1].role == "user"
    roles = [m.role for m in messages[1:]]
    assert roles == ["user", "assistant"] * (len(roles) // 2) + (["user"] if len(roles) % 2 else [])
    rendered = "".join(m.content for m in messages)
    assert "$" not in rendered.replace("$$", "")
    for key in TEMPLATES[name]:
        assert f"«{key}»" in rendered, key


def test_a_missing_value_is_an_error() -> None:
    with pytest.raises(KeyError):
        prompts.render("summary", max_chars=1, title="t")


def test_tail_and_clip_cut_at_boundaries() -> None:
    text = "第一段很长的叙述。\n第二段。她笑了。\n第三段结尾。"
    cut = tail(text, 14)
    assert text.endswith(cut) and 0 < len(cut) <= 14
    assert text[len(text) - len(cut) - 1] in "。\n"  # starts right after a boundary
    head = clip("一句。二句。三句很长很长很长。", 8)
    assert head == "一句。二句。"


def test_assemble_keeps_the_nearest_summaries_and_the_text_before_the_cursor() -> None:
    bible = Bible(
        title="雨巷",
        kind="novel",
        genre="都市",
        materials=[("character", "林小雨", "咖啡馆店主" * 100)],
        notes={"premise": "雨夜重逢"},
    )
    summaries = [(f"第{n}章", f"第{n}章发生的事。" * 30) for n in range(1, 30)]
    preceding = "很久以前。" * 5000 + "最后一句。"
    context = assemble(bible, summaries, preceding, budget=6000)
    total = len(context.bible) + len(context.summaries) + len(context.preceding)
    assert total <= 6000 + 100
    assert "林小雨" in context.bible and "雨夜重逢" in context.bible
    assert "第29章" in context.summaries and "第1章：" not in context.summaries
    assert context.preceding.endswith("最后一句。")
    assert len(render_bible(bible, 50)) <= 50
