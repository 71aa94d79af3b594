"""The agents run without HTTP: handed the ports they use, here fakes and the offline provider."""

from __future__ import annotations

from pathlib import Path

from ai_agents.agents.polish import Polished, parse_polish, polish_text
from ai_agents.agents.snowflake import why_not
from ai_agents.providers.router import CallContext, Router
from ai_agents.safety import SensitiveWords
from api.settings import Settings

CTX = CallContext(user_id=7, work_id=70, task_id=None, action_type="polish")


async def test_polish_answers_from_the_offline_provider_with_no_app_around_it(
    tmp_path: Path,
) -> None:
    ai = Router.from_settings(Settings(data_dir=tmp_path, ai_offline_delay_ms=0), None)
    try:
        polished = await polish_text(
            "他说：“我们走吧 ,天黑了。”",
            "literary",
            ai=ai,
            safety=SensitiveWords(["天黑"]),
            level="free",
            ctx=CTX,
        )
    finally:
        await ai.aclose()
    assert (polished.provider, polished.model) == ("offline", "offline")
    assert polished.text
    assert "天黑" not in polished.text  # masked before it is shown or written


async def offline_polish(tmp_path: Path, content: str) -> Polished:
    ai = Router.from_settings(Settings(data_dir=tmp_path, ai_offline_delay_ms=0), None)
    try:
        return await polish_text(
            content, "casual", ai=ai, safety=SensitiveWords([]), level="free", ctx=CTX
        )
    finally:
        await ai.aclose()


async def test_an_offline_polish_with_nothing_to_correct_is_no_edit(tmp_path: Path) -> None:
    content = "林小雨推开门，风铃响了。\n"
    polished = await offline_polish(tmp_path, content)
    assert (polished.text, polished.changed, polished.suggestions) == (content, False, [])


async def test_a_polished_selection_keeps_its_surrounding_white_space(tmp_path: Path) -> None:
    polished = await offline_polish(tmp_path, "　　他很快的跑了过去。\n")
    assert (polished.text, polished.changed) == ("　　他很快地跑了过去。\n", True)
    assert polished.suggestions == ["「很快的跑」→「很快地跑」：修饰动词用“地”"]


def test_a_polish_answer_is_split_into_text_and_suggestions() -> None:
    assert parse_polish("雨停了。\n===建议===\n- 少用形容词\n• 句子再短些") == (
        "雨停了。",
        ["少用形容词", "句子再短些"],
    )
    assert parse_polish('{"text": "雨停了。", "suggestions": ["a"]}') == ("雨停了。", ["a"])


def test_a_snowflake_step_waits_for_the_one_before_it() -> None:
    assert why_not(1, {}) is None
    assert why_not(3, {"snowflake.1": "一句话"}) == "do step 2 first"
    assert why_not(2, {"snowflake.1": "一句话"}) is None
    assert why_not(11, {}) == "step: 1..10"
