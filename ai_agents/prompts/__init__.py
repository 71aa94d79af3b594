"""Versioned prompt templates, written for Chinese fiction, with few-shot examples.

A template file is a sequence of sections `---system---`, `---user---`, `---assistant---`; each
becomes one message, so few-shot examples are user/assistant pairs before the real request.
Placeholders are `$name` (`string.Template`), so the braces of JSON examples need no escaping.
Changing a prompt means a new version folder, so recorded calls stay explainable.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from string import Template

from ai_agents.providers.base import Message

VERSION = "v1"
_SECTION = re.compile(r"^---(system|user|assistant)---\s*$", re.MULTILINE)


@cache
def _sections(version: str, name: str) -> tuple[tuple[str, str], ...]:
    source = resources.files(__package__).joinpath(version, f"{name}.md").read_text("utf-8")
    parts = _SECTION.split(source)
    if parts[0].strip():
        raise ValueError(f"prompt {version}/{name}: text before the first section marker")
    return tuple((role, body.strip()) for role, body in zip(parts[1::2], parts[2::2], strict=True))


def render(name: str, version: str = VERSION, **values: object) -> list[Message]:
    """The messages of template `name`, placeholders filled; a missing value is an error."""
    return [
        Message(role, Template(body).substitute({k: str(v) for k, v in values.items()}))  # type: ignore[arg-type]
        for role, body in _sections(version, name)
    ]
