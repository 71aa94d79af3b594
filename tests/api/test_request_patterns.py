"""No request model of the API leaves a pattern with the Unicode class `\\w` to pydantic's
default engine (Rust's `regex`), which builds it into ~5 MiB that every serving process would
hold from its start (bench/README.md, "Start-up cost"); usernames are checked in Python
(`api/services/usernames.py`)."""

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
    patterns = {(m.__name__, p) for m in ours for p in _patterns(m)}
    assert ("RegisterIn", r"^\d{6}$") in patterns  # the scan reads the models' patterns
    on_default = [
        (m.__name__, p)
        for m in ours
        for p in _patterns(m)
        if r"\w" in p and m.model_config.get("regex_engine", "rust-regex") != "python-re"
    ]
    assert on_default == []
