from __future__ import annotations

import pytest

from storage.text.terms import terms
from storage.text.wordcount import count_words


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("春眠不觉晓", 5),
        ("春眠不觉晓，处处闻啼鸟。", 12),
        ("“你好！”他说……", 9),  # “ 你 好 ！ ” 他 说 … …
        ("Hello world", 2),
        ("我用Python写了3000行代码", 9),  # 我 用 Python 写 了 3000 行 代 码
        ("  \n\t ", 0),
        ("《红楼梦》第1回", 8),
        ("𠮷野家", 3),
        ("ｆｕｌｌ　width", 2),
    ],
)
def test_word_count_follows_chinese_writing_tools(text: str, count: int) -> None:
    assert count_words(text) == count


def test_terms_are_cjk_bigrams_and_latin_words() -> None:
    assert terms("林黛玉进贾府") == {"林黛", "黛玉", "玉进", "进贾", "贾府"}
    assert terms("宝玉 Jade Box") == {"宝玉", "jade", "box"}
    assert terms("爱") == {"爱"}
    assert terms("，。") == set()
