from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.text.terms import MAX_TERM_LENGTH, term_counts, terms
from storage.text.wordcount import _CJK, TOKEN, count_words


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


@given(st.text(alphabet="春眠，。“”…—·々　 \n𠮷aZé0９ｆ-😀", max_size=40) | st.text(max_size=40))
def test_word_count_counts_each_token(text: str) -> None:
    assert count_words(text) == len(TOKEN.findall(text))


def test_terms_are_cjk_bigrams_and_latin_words() -> None:
    assert terms("林黛玉进贾府") == {"林黛", "黛玉", "玉进", "进贾", "贾府"}
    assert terms("宝玉 Jade Box") == {"宝玉", "jade", "box"}
    assert terms("爱") == {"爱"}
    assert terms("，。") == set()


def _counts_by_runs(text: str) -> Counter[str]:
    """The definition `term_counts` implements: runs of CJK characters or of ASCII letters and
    digits; a run of two or more CJK characters is its bigrams."""
    found: Counter[str] = Counter()
    for run in re.findall(f"[{_CJK}]+|[A-Za-z0-9]+", text):
        if run[0].isascii():
            found[run.lower()[:MAX_TERM_LENGTH]] += 1
        elif len(run) == 1:
            found[run] += 1
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.text(alphabet="雨夜长安𠀀𠀁\uf900，。 《》aZé9１\n", max_size=60))
def test_term_counts_are_the_bigrams_of_cjk_runs_and_the_latin_words(text: str) -> None:
    assert term_counts(text) == _counts_by_runs(text)
    assert terms(text) == set(_counts_by_runs(text))


def test_a_latin_word_is_cut_at_the_longest_term() -> None:
    word = "A" * (MAX_TERM_LENGTH + 5)
    assert term_counts(f"{word} 雨 {word.lower()}") == {"a" * MAX_TERM_LENGTH: 2, "雨": 1}
