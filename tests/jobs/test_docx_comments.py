"""Word exports carry comments as Word's own comments, anchored to their text."""

from __future__ import annotations

import io

import httpx
from docx import Document
from docx.oxml.ns import qn

from api.settings import Settings
from jobs.exports.docx_comments import paragraph_origins
from jobs.exports.model import paragraphs
from tests.api.test_works import make_chapter, make_work, ok, save
from tests.jobs.conftest import SQLITE_ONLY
from tests.jobs.test_export_api import export, finished_export
from tests.support.api import running_api

TEXT = "　　林小雨推开门，夜色很深。\r\n\r\n雨还在下😀，风很冷。\n她笑了。"


def _anchored_texts(document: Document) -> dict[str, str]:
    """Per comment id, the body text between its commentRangeStart and commentRangeEnd."""
    body = document.element.body
    open_ids: set[str] = set()
    found: dict[str, str] = {}
    for element in body.iter(qn("w:commentRangeStart"), qn("w:commentRangeEnd"), qn("w:t")):
        if element.tag == qn("w:commentRangeStart"):
            open_ids.add(element.get(qn("w:id")))
            found[element.get(qn("w:id"))] = ""
        elif element.tag == qn("w:commentRangeEnd"):
            open_ids.discard(element.get(qn("w:id")))
        else:
            for comment_id in open_ids:
                found[comment_id] += element.text or ""
    return found


@SQLITE_ONLY
async def test_word_exports_anchor_comments_and_list_the_orphans(settings: Settings) -> None:
    async with running_api(settings) as api:
        owner = await api.sign_up()
        work_id = (await make_work(api, owner, title="长夜将尽"))["work_id"]
        chapter = await make_chapter(api, owner, work_id, "第一章 风起")
        ok(await save(api, owner, work_id, chapter["id"], TEXT + "删掉的句子。"))
        path = f"/api/v1/chapters/{chapter['id']}/comments"

        async def comment(body: str, quoted: str) -> dict[str, object]:
            start = (TEXT + "删掉的句子。").index(quoted)
            span = {"body": body, "from": start, "to": start + len(quoted)}
            return ok(await api.call("POST", path, owner, json=span), 201)

        door = await comment("太短", "推开门")
        across = await comment("这两段合并？", "夜色很深。\r\n\r\n雨还在下😀")
        gone = await comment("这句不要", "删掉的句子")
        reply = {"body": "同意"}
        ok(await api.call("POST", f"{path}/{door['id']}/replies", owner, json=reply), 201)
        assert across and gone
        ok(await save(api, owner, work_id, chapter["id"], TEXT))  # the third's text is gone

        options = {"include_comments": True}
        view = await finished_export(
            api, owner, await export(api, owner, work_id, "word", options=options)
        )
        async with httpx.AsyncClient() as http:
            data = (await http.get(str(view["download_url"]))).content

    document = Document(io.BytesIO(data))
    comments = {str(c.comment_id): c for c in document.comments}
    anchored = _anchored_texts(document)
    by_body = {c.paragraphs[0].text: cid for cid, c in comments.items()}
    assert set(by_body) == {"太短", "这两段合并？"}
    door_note = comments[by_body["太短"]]
    assert door_note.author == owner.username and door_note.initials == owner.username[:1]
    assert [p.text for p in door_note.paragraphs] == ["太短", f"{owner.username}：同意"]
    assert anchored[by_body["太短"]] == "推开门"
    # Across two paragraphs; the blank line between them is not in the file.
    assert anchored[by_body["这两段合并？"]] == "夜色很深。雨还在下😀"

    texts = [p.text for p in document.paragraphs]
    assert "林小雨推开门，夜色很深。" in texts and "雨还在下😀，风很冷。" in texts
    appendix = texts[texts.index("批注") :]
    assert appendix == ["批注", "【第一章 风起】", "「删掉的句子」", f"{owner.username}：这句不要"]


def test_paragraph_origins_keep_the_paragraphs_of_the_export() -> None:
    text = " \u3000开头\x07一段\r\n\r\n第二段\u2028第三段😀  \n\n"
    found = paragraph_origins(text)
    assert [para for para, _origins in found] == paragraphs(text)
    for para, origins in found:
        assert "".join(text[i] for i in origins) == para
