"""The agents run without HTTP: handed the ports they use, here fakes and the offline provider."""

from __future__ import annotations

from pathlib import Path

from ai_agents.agents.polish import parse_polish, polish_text
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
