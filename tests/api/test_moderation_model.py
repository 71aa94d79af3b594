"""The optional model check (`INKWEAVE_MODERATION_MODEL_CHECK`), against the local server that
speaks OpenAI's and Anthropic's wire formats: OpenAI's moderation endpoint for an OpenAI-kind
provider, the prompt-based classifier for any other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ai_agents.moderation import CLASSIFIER_PROMPT, parse_classification
from ai_agents.providers.base import ProviderConfig
from api.settings import Settings
from tests.api.test_works import make_work, ok, refused
from tests.support.api import running_api
from tests.support.fake_llm import FakeLLM, Reply, running_fake_llm

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BAD = "一段恶意骚扰的话"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with running_fake_llm() as server:
        yield server


def with_model_check(settings: Settings, llm: FakeLLM, kind: str) -> Settings:
    provider = ProviderConfig(**llm.provider_config("main", kind))  # type: ignore[arg-type]
    return settings.model_copy(update={"ai_providers": [provider], "moderation_model_check": True})


def material(content: str) -> dict[str, Any]:
    return {"title": "街头", "type": "dialogue", "content": content, "is_public": True}


@SQLITE_ONLY
async def test_openai_kind_uses_the_moderation_endpoint(settings: Settings, llm: FakeLLM) -> None:
    llm.flagged_words = {BAD}
    async with running_api(with_model_check(settings, llm, "openai")) as api:
        writer = await api.sign_up()
        flagged = await api.call("POST", "/api/v1/materials", writer, json=material(BAD))
        assert "openai: harassment" in refused(flagged, 400, 40032)["error"]
        ok(await api.call("POST", "/api/v1/materials", writer, json=material("你好。")), 201)
        asked = [r for r in llm.requests if r.path == "/v1/moderations"]
        assert [r.body["model"] for r in asked] == ["omni-moderation-latest"] * 2
        assert BAD in asked[0].body["input"]

        # An AI answer: the verdict is recorded on its history.
        llm.script(Reply(text=f"{BAD}\n---\n- 建议"))
        work = await make_work(api, writer)
        body = {"work_id": work["work_id"], "content": "原文。"}
        ok(await api.call("POST", "/api/v1/ai/polish", writer, json=body))
        verdict = ok(await api.call("GET", "/api/v1/ai/histories", writer))["items"][0]
        assert verdict["provider"] == "main"
        assert verdict["moderation"] == {
            "flagged": True,
            "source": "openai",
            "categories": ["harassment"],
            "words": [],
            "model": "omni-moderation-latest",
            "error": None,
        }


@SQLITE_ONLY
async def test_other_providers_use_a_prompt_classifier(settings: Settings, llm: FakeLLM) -> None:
    async with running_api(with_model_check(settings, llm, "anthropic")) as api:
        writer = await api.sign_up()
        llm.script(Reply(text='{"flagged": true, "categories": ["violence"]}'))
        flagged = await api.call("POST", "/api/v1/materials", writer, json=material("打斗场面"))
        assert "classifier: violence" in refused(flagged, 400, 40032)["error"]
        asked = llm.requests[-1]
        assert asked.path == "/v1/messages" and asked.system == CLASSIFIER_PROMPT
        llm.script(Reply(text='好的：```json\n{"flagged": false, "categories": []}\n```'))
        ok(await api.call("POST", "/api/v1/materials", writer, json=material("喝茶")), 201)


@SQLITE_ONLY
async def test_a_failing_model_check_leaves_the_word_list_verdict(
    settings: Settings, llm: FakeLLM
) -> None:
    async with running_api(with_model_check(settings, llm, "anthropic")) as api:
        writer = await api.sign_up()
        llm.script(Reply(status=500))
        ok(await api.call("POST", "/api/v1/materials", writer, json=material("喝茶")), 201)


def test_the_classifiers_answer_is_read_strictly() -> None:
    assert parse_classification('{"flagged": false}') == (False, ())
    assert parse_classification('x {"flagged": true, "categories": ["hate", 3]} y') == (
        True,
        ("hate",),
    )
    assert parse_classification("没问题") == (True, ("unreadable",))
    assert parse_classification('{"flagged": "no"}') == (True, ("unreadable",))
