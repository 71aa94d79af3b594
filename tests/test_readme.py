"""The README's tables stay true to the code."""

from __future__ import annotations

from pathlib import Path

from api.envelope import error_table_markdown
from api.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_error_table_is_the_one_in_the_code() -> None:
    assert error_table_markdown() in README


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        variable = f"INKWEAVE_{name.upper()}"
        short = "_" + name.upper().split("OIDC_")[-1] if name.startswith("oidc_") else None
        assert variable in README or (short and short in README), f"{variable} is not in README"
