"""A request model whose pattern holds `\\w` checks it with Python's `re`: pydantic's default
engine (Rust's `regex`) builds the Unicode class `\\w` into ~5 MiB that every serving process
would hold from its start (bench/README.md, "Start-up cost")."""

from __future__ import annotations

from pydantic import BaseModel

import api.app  # noqa: F401  (every router's models defined)


def _subclasses(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = []
    for sub in model.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _patterns(model: type[BaseModel]) -> list[str]:
    return [
        meta.pattern
        for field in model.model_fields.values()
        for meta in field.metadata
        if isinstance(getattr(meta, "pattern", None), str)
    ]


def test_no_word_class_is_left_to_the_default_engine() -> None:
    ours = [m for m in _subclasses(BaseModel) if m.__module__.startswith("api.")]
    with_word_class = [m for m in ours if any(r"\w" in p for p in _patterns(m))]
    assert {m.__name__ for m in with_word_class} >= {"RegisterIn", "UserPatch"}
    on_default = [
        m.__name__
        for m in with_word_class
        if m.model_config.get("regex_engine", "rust-regex") != "python-re"
    ]
    assert on_default == []
