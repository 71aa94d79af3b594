"""`/api/v1/search`: two-character Chinese words on every engine, only what the caller may read."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.services import search as search_module
from api.services.search import Matcher, search
from api.services.search_index import reindex, reindex_edit, term_counts
from storage.sql.models import Chapter, SearchTerm, Work, WorkMember
from storage.text.terms import terms
from tests.support.api import Account, Api

DAIYU = "那一夜，林黛玉独自坐在窗前，听着雨声。宝玉推门进来，说：“妹妹，雨夜里别着凉。”"


ANCHOR = datetime.now(UTC).replace(microsecond=0)


async def _chapter(
    api: Api,
    owner: Account,
    text: str,
    *,
    title: str = "第一章",
    deleted: bool = False,
    members: tuple[tuple[Account, str], ...] = (),
    age_s: float = 0,
) -> tuple[int, int]:
    """A work with one chapter, written the way the projection writes `Chapter.text`; its
    `updated_at` is `age_s` before one fixed moment, so ages compare exactly."""
    at = ANCHOR - timedelta(seconds=age_s)
    async with api.app.adapters.database.session() as s:
        work = Work(user_id=owner.id, title=f"作品{title}", type="novel", is_deleted=int(deleted))
        s.add(work)
        await s.flush()
        for member, role in members:
            s.add(WorkMember(work_id=work.id, user_id=member.id, role=role))
        chapter = Chapter(
            work_id=work.id,
            chapter_number=1,
            title=title,
            content_id=uuid.uuid4().hex,
            text=text,
            text_updated_at=at,
            updated_at=at,
        )
        s.add(chapter)
        await s.flush()
        await reindex(s, "chapter", chapter.id, text)
        return work.id, chapter.id


async def _material(api: Api, who: Account, title: str, content: str, **more: Any) -> int:
    body = {"title": title, "type": "character", "genre": "言情", "content": content, **more}
    response = await api.call("POST", "/api/v1/materials", who, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["material_id"]


async def _search(api: Api, who: Account, q: str, **params: Any) -> dict[str, Any]:
    response = await api.call("GET", "/api/v1/search", who, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _ids(result: dict[str, Any], kind: str) -> set[int]:
    return {item["id"] for item in result["items"] if item["type"] == kind}


async def test_two_character_words_single_characters_and_latin(api: Api) -> None:
    alice = await api.sign_up()
    work_id, chapter_id = await _chapter(api, alice, DAIYU, title="葬花")
    material_id = await _material(api, alice, "黛玉小像", "眉尖若蹙，身量未足。Lin Daiyu")

    found = await _search(api, alice, "黛玉")
    assert _ids(found, "chapter") == {chapter_id}
    assert material_id in _ids(found, "material")
    chapter = next(i for i in found["items"] if i["type"] == "chapter")
    assert chapter["work_id"] == work_id
    assert chapter["title"] == "葬花"
    assert "<em>黛玉</em>" in chapter["snippet"]
    assert len(chapter["snippet"].replace("<em>", "").replace("</em>", "")) <= 50
    material = next(i for i in found["items"] if i["id"] == material_id and i["type"] == "material")
    assert material["work_id"] is None
    assert "<em>黛玉</em>" in material["snippet"]

    rainy = await _search(api, alice, "雨夜")
    assert _ids(rainy, "chapter") == {chapter_id}
    assert "<em>雨夜</em>" in next(i for i in rainy["items"] if i["type"] == "chapter")["snippet"]

    single = await _search(api, alice, "窗", type="chapters")
    assert _ids(single, "chapter") == {chapter_id}
    assert "<em>窗</em>" in single["items"][0]["snippet"]
    frown = await _search(api, alice, "蹙")  # scanned in materials' titles and contents
    assert _ids(frown, "material") == {material_id} and not _ids(frown, "chapter")
    assert frown["items"][0]["occurrences"] == 1

    latin = await _search(api, alice, "daiyu", type="materials")
    assert _ids(latin, "material") == {material_id}
    assert "<em>Daiyu</em>" in latin["items"][0]["snippet"]

    assert (await _search(api, alice, "宝钗"))["total"] == 0


async def test_bigram_false_positives_are_dropped(api: Api) -> None:
    alice = await api.sign_up()
    _, chapter_id = await _chapter(api, alice, "林黛玉进贾府。")
    await _material(api, alice, "人物", "林黛玉，字颦颦。")
    assert (await _search(api, alice, "林玉"))["total"] == 0

    # Every bigram of "玉林黛" ("玉林", "林黛") is in this text, but the phrase is not:
    # the index offers the chapter, the confirmation against the text must refuse it.
    _, tricky = await _chapter(api, alice, "林黛玉说：黛玉林中散步。")
    assert (await _search(api, alice, "玉林黛"))["total"] == 0
    assert _ids(await _search(api, alice, "黛玉林"), "chapter") == {tricky}
    assert _ids(await _search(api, alice, "黛玉进贾府"), "chapter") == {chapter_id}


async def test_only_what_the_caller_may_read(api: Api) -> None:
    alice, bob, carol = await api.sign_up(), await api.sign_up(), await api.sign_up()
    _, private_chapter = await _chapter(api, alice, "密室里只有黛玉一人。")
    _, shared_chapter = await _chapter(api, alice, "黛玉在共享章节里。", members=((bob, "viewer"),))
    _, trashed_chapter = await _chapter(api, bob, "回收站里的黛玉。", deleted=True)
    private_material = await _material(api, alice, "私密黛玉", "只给自己看。")
    public_material = await _material(api, alice, "公开黛玉", "大家都能看。", is_public=True)

    as_alice = await _search(api, alice, "黛玉")
    assert _ids(as_alice, "chapter") == {private_chapter, shared_chapter}
    assert {private_material, public_material} <= _ids(as_alice, "material")

    as_bob = await _search(api, bob, "黛玉")
    assert _ids(as_bob, "chapter") == {shared_chapter}  # member; his own trashed work is out
    assert trashed_chapter not in _ids(as_bob, "chapter")
    assert public_material in _ids(as_bob, "material")
    assert private_material not in _ids(as_bob, "material")

    as_carol = await _search(api, carol, "黛玉")
    assert _ids(as_carol, "chapter") == set()
    assert _ids(as_carol, "material") == {public_material}


async def test_scope_order_and_pages(api: Api) -> None:
    alice = await api.sign_up()
    _, once = await _chapter(api, alice, "雨夜。", title="一次", age_s=10)
    _, thrice_old = await _chapter(api, alice, "雨夜，雨夜，又是雨夜。", title="三次旧", age_s=100)
    _, thrice_new = await _chapter(api, alice, "雨夜雨夜雨夜", title="三次新", age_s=1)
    material = await _material(api, alice, "雨夜", "雨夜的气味：湿泥土。")

    chapters = await _search(api, alice, "雨夜", type="chapters")
    assert [i["id"] for i in chapters["items"]] == [thrice_new, thrice_old, once]
    assert [i["occurrences"] for i in chapters["items"]] == [3, 3, 1]
    assert all(i["type"] == "chapter" for i in chapters["items"])

    materials = await _search(api, alice, "雨夜", type="materials")
    assert all(i["type"] == "material" for i in materials["items"])
    assert material in _ids(materials, "material")

    everything = await _search(api, alice, "雨夜", page_size=100)
    assert everything["total"] == chapters["total"] + materials["total"]
    page2 = await _search(api, alice, "雨夜", type="chapters", page=2, page_size=2)
    assert page2["total"] == 3 and [i["id"] for i in page2["items"]] == [once]


async def test_updates_and_deletes_reach_the_index(api: Api) -> None:
    alice = await api.sign_up()
    material = await _material(api, alice, "旧名", "紫鹃端来了药。")
    assert material in _ids(await _search(api, alice, "紫鹃"), "material")

    patched = await api.call(
        "PATCH", f"/api/v1/materials/{material}", alice, json={"content": "雪雁端来了药。"}
    )
    assert patched.status_code == 200, patched.text
    assert material not in _ids(await _search(api, alice, "紫鹃"), "material")
    assert material in _ids(await _search(api, alice, "雪雁"), "material")

    assert (await api.call("DELETE", f"/api/v1/materials/{material}", alice)).status_code == 200
    assert material not in _ids(await _search(api, alice, "雪雁"), "material")


async def test_snippet_is_escaped_and_query_validated(api: Api) -> None:
    alice = await api.sign_up()
    await _chapter(api, alice, "他写下<script>alert(1)</script>，然后说：黛玉 & 宝玉。")
    item = (await _search(api, alice, "黛玉", type="chapters"))["items"][0]
    assert "<script>" not in item["snippet"]
    assert "&lt;script&gt;" in item["snippet"]
    assert "&amp;" in item["snippet"]
    assert "<em>黛玉</em>" in item["snippet"]

    for q in ("", "   "):
        refused = await api.call("GET", "/api/v1/search", alice, params={"q": q})
        assert refused.status_code == 422, refused.text
        assert [f["field"] for f in refused.json()["fields"]] == ["q"]
    missing = await api.call("GET", "/api/v1/search", alice)
    assert missing.status_code == 422
    assert [f["field"] for f in missing.json()["fields"]] == ["q"]
    bad_type = await api.call("GET", "/api/v1/search", alice, params={"q": "黛玉", "type": "x"})
    assert bad_type.status_code == 422
    assert (await api.call("GET", "/api/v1/search", params={"q": "黛玉"})).status_code == 401


def test_snippet_window() -> None:
    text = "甲" * 100 + "黛玉" + "乙" * 100
    snippet = Matcher("黛玉").snippet(text)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<em>黛玉</em>" in snippet
    assert 38 <= len(snippet.replace("<em>", "").replace("</em>", "").strip("…")) <= 42
    assert Matcher("黛玉").snippet("黛玉") == "<em>黛玉</em>"
    assert Matcher("ABC").snippet("xx abc yy ABC") == "xx <em>abc</em> yy <em>ABC</em>"
    assert Matcher("雨夜 黛玉").occurrences("雨夜里的黛玉，雨夜") == 3
    assert Matcher("雨夜 黛玉").occurrences("雨夜里的宝玉") == 0


async def test_pages_say_whether_more_follow_and_the_count_is_capped(api: Api) -> None:
    alice = await api.sign_up()
    _, once = await _chapter(api, alice, "雨夜。", title="一次")
    _, twice = await _chapter(api, alice, "雨夜，又是雨夜。", title="两次")
    _, thrice = await _chapter(api, alice, "雨夜雨夜雨夜", title="三次")

    pages = [
        await _search(api, alice, "雨夜", type="chapters", page=page, page_size=1)
        for page in (1, 2, 3)
    ]
    assert [[i["id"] for i in p["items"]] for p in pages] == [[thrice], [twice], [once]]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert all(p["total"] == 3 and p["total_is_estimate"] is False for p in pages)

    async with api.app.adapters.database.session() as session:
        capped = await search(session, alice.id, "雨夜", "chapters", 0, 10, max_total=2)
    assert (capped.total, capped.total_is_estimate, capped.has_more) == (2, True, False)
    assert [hit.id for hit in capped.hits] == [thrice, twice]  # the best ranked are kept


async def test_unconfirmed_candidates_make_the_total_an_estimate(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await api.sign_up()
    _, one = await _chapter(api, alice, "林黛玉。")
    await _chapter(api, alice, "林黛，黛玉。")  # holds both bigrams of 林黛玉, not the word
    _, two = await _chapter(api, alice, "林黛玉，林黛玉。")
    _, three = await _chapter(api, alice, "林黛玉林黛玉林黛玉")

    whole = await _search(api, alice, "林黛玉", type="chapters", page_size=10)
    assert [i["id"] for i in whole["items"]] == [three, two, one]
    assert (whole["total"], whole["total_is_estimate"], whole["has_more"]) == (3, False, False)

    # Read one candidate at a time: the first page needs only the two best.
    monkeypatch.setattr(search_module, "_CONFIRM_BATCH", 1)
    first = await _search(api, alice, "林黛玉", type="chapters", page_size=1)
    assert [i["id"] for i in first["items"]] == [three] and first["has_more"] is True
    assert (first["total"], first["total_is_estimate"]) == (4, True)  # 2 found + 2 unread


async def test_reindexing_keeps_counts_and_drops_what_left(api: Api) -> None:
    text = "雨夜雨夜，Rain 落在 rain 上。"
    assert set(term_counts(text)) == terms(text)
    assert term_counts(text)["雨夜"] == 2 and term_counts(text)["rain"] == 2

    alice = await api.sign_up()
    _, chapter_id = await _chapter(api, alice, "雨夜雨夜")

    async def stored() -> dict[str, int]:
        async with api.app.adapters.database.session() as session:
            rows = await session.execute(
                select(SearchTerm.term, SearchTerm.hits).where(
                    SearchTerm.owner_type == "chapter", SearchTerm.owner_id == chapter_id
                )
            )
            return {term: hits for term, hits in rows}

    assert await stored() == {"雨夜": 2, "夜雨": 1}
    async with api.app.adapters.database.session() as session:
        await reindex(session, "chapter", chapter_id, "雨夜。rain rain")
    assert await stored() == {"雨夜": 1, "rain": 2}


async def _stored_terms(api: Api, chapter_id: int) -> dict[str, int]:
    async with api.app.adapters.database.session() as session:
        rows = await session.execute(
            select(SearchTerm.term, SearchTerm.hits).where(
                SearchTerm.owner_type == "chapter", SearchTerm.owner_id == chapter_id
            )
        )
        return {term: hits for term, hits in rows}


async def test_edits_reindexed_one_after_another_leave_the_terms_of_the_last_text(
    api: Api,
) -> None:
    # 豈 (U+8C48) and its compatibility form 豈 (U+F900), and characters beyond the BMP: a
    # folding collation finds some of them equal (utf8mb4_general_ci: every 𠀀 alike).
    alphabet = "雨夜林黛玉宝\u8c48\uf900𠀀𠀁𠀂，。 Rain rain 42"
    chooser = random.Random(20261207)
    alice = await api.sign_up()
    text = "雨夜\u8c48\uf900雨，rain"
    _, chapter_id = await _chapter(api, alice, text)
    for _ in range(40):
        start = chooser.randrange(len(text) + 1)
        end = min(len(text), start + chooser.randrange(4))
        typed = "".join(chooser.choice(alphabet) for _ in range(chooser.randrange(5)))
        before, text = text, text[:start] + typed + text[end:]
        async with api.app.adapters.database.session() as session:
            await reindex_edit(session, "chapter", chapter_id, before, text)
        assert await _stored_terms(api, chapter_id) == dict(term_counts(text)), text


async def test_an_edit_reads_and_writes_only_the_terms_whose_count_changed(api: Api) -> None:
    alice = await api.sign_up()
    _, chapter_id = await _chapter(api, alice, "雨夜雨夜")
    async with api.app.adapters.database.session() as session:  # a row no text holds
        session.add(SearchTerm(owner_type="chapter", owner_id=chapter_id, term="幽灵", hits=9))
    async with api.app.adapters.database.session() as session:
        await reindex_edit(session, "chapter", chapter_id, "雨夜雨夜", "雨夜雨夜，晴天")
    assert await _stored_terms(api, chapter_id) == {"雨夜": 2, "夜雨": 1, "晴天": 1, "幽灵": 9}
    async with api.app.adapters.database.session() as session:  # a full reindex clears it
        await reindex(session, "chapter", chapter_id, "雨夜雨夜，晴天")
    assert await _stored_terms(api, chapter_id) == {"雨夜": 2, "夜雨": 1, "晴天": 1}
