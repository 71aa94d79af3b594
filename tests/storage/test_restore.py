from __future__ import annotations

import itertools
import random

import pytest
from pycrdt import Doc, Map, Text

from storage.docs import restore
from storage.docs.restore import apply_state, set_text
from storage.docs.schema import CONTENT, META


def text_doc(value: str) -> tuple[Doc, Text]:
    doc: Doc = Doc()
    text = doc.get(CONTENT, type=Text)
    text.insert(0, value)
    return doc, text


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("春眠不觉晓", "春眠不觉晓，处处闻啼鸟。"),
        ("😀林黛玉😀进贾府", "😀林妹妹😀到了贾府"),
        ("abc", ""),
        ("", "全新"),
        ("一二三四五", "一三五"),
    ],
)
def test_set_text_reaches_the_target_with_utf8_offsets(old: str, new: str) -> None:
    _, text = text_doc(old)
    set_text(text, new)
    assert str(text) == new


def test_unchanged_text_keeps_its_identity() -> None:
    """A collaborator's concurrent insert inside untouched text survives a save."""
    server, text = text_doc("第一段。第二段。第三段。")
    collaborator: Doc = Doc()
    collaborator.apply_update(server.get_update())
    collaborator.get(CONTENT, type=Text).insert(len("第一段。".encode()), "插入。")
    set_text(text, "第一段。第二段，改了。第三段。")
    server.apply_update(collaborator.get_update(server.get_state()))
    assert str(text) == "第一段。插入。第二段，改了。第三段。"


def test_a_huge_change_is_replaced_whole_instead_of_diffed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restore, "DIFF_BUDGET", 100)
    rng = random.Random(5)
    old = "".join(rng.choice("天地玄黄宇宙洪荒") for _ in range(300))
    new = "开头" + "".join(rng.choice("日月盈昃辰宿列张") for _ in range(300)) + old[-20:]
    _, text = text_doc(old)
    edits = restore.text_edits(old, new)
    assert len(edits) == 1
    set_text(text, new)
    assert str(text) == new


def test_apply_state_restores_text_and_meta_as_new_operations() -> None:
    version, _ = text_doc("旧版本")
    version.get(META, type=Map)["scene"] = "雨夜"
    live, ltext = text_doc("新版本，多了字")
    live.get(META, type=Map)["extra"] = 1
    before = live.get_state()
    apply_state(live, version.get_update())
    assert str(ltext) == "旧版本"
    assert live.get(META, type=Map).to_py() == {"scene": "雨夜"}
    assert live.get_update(before) != b"\x00\x00"


def test_a_rewritten_paragraph_keeps_no_shared_character_as_an_island() -> None:
    """Unrelated paragraphs share single characters by chance; kept, each would become a CRDT
    item of its own between deleted runs, and a document keeps every item for good."""
    rng = random.Random(3)
    common = "的一是了我不人在他有这个上们来到时大地为子中你说生"
    kept = "第一段不动。"
    old = kept + "".join(rng.choice(common) for _ in range(300)) + "。"
    new = kept + "".join(rng.choice(common) for _ in range(300)) + "。"
    edits = sorted(restore.text_edits(old, new))
    for (_, end, replaced), (start, next_end, next_new) in itertools.pairwise(edits):
        gap = start - end  # an unchanged run kept between two changes
        assert (
            gap >= restore.MIN_KEPT
            or min(max(end - _, len(replaced)), max(next_end - start, len(next_new)))
            < restore.MIN_REWRITE * gap
        ), (gap, edits)
    saved, text = text_doc(old)
    before = len(saved.get_update())
    set_text(text, new)
    assert str(text) == new
    assert len(saved.get_update()) - before < 800  # 982 bytes when every shared character stayed


def test_small_fixes_keep_the_text_between_them() -> None:
    """Text between nearby fixes keeps its identity (and who wrote it)."""
    old = "他推开门，看见院子里的雪已经积了半尺厚。"
    new = "他推开窗，看见院子里的雪已经积了一尺厚。"
    assert restore.text_edits(old, new) == [(16, 17, "一"), (3, 4, "窗")]
    assert len(restore.text_edits("a,b,c,d,e,f", "a;b;c;d;e;f")) == 5
    # A name kept while everything around it is rewritten stays itself: a comment on it holds.
    old, new = "甲乙丙丁戊己庚辛小雨壬癸子丑寅卯辰巳", "一二三四五六七八小雨九十百千万亿兆京"
    assert [replaced for _start, _end, replaced in restore.text_edits(old, new)] == [
        "九十百千万亿兆京",
        "一二三四五六七八",
    ]
