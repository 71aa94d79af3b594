"""The committed editor (`api/webui/`) is exactly what `npm run build --prefix web` makes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
COMMITTED = ROOT / "api" / "webui"

pytestmark = pytest.mark.node


def files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def build(into: Path) -> dict[str, bytes]:
    if not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.fail("the web editor's npm packages are missing: npm ci --prefix web")
    subprocess.run(
        ["node", "build.mjs", "--outdir", str(into)],
        cwd=WEB,
        check=True,
        timeout=180,
        capture_output=True,
    )
    return files(into)


def test_committed_build_is_fresh(tmp_path: Path) -> None:
    fresh = build(tmp_path / "webui")
    committed = files(COMMITTED)
    stale = "api/webui is stale: run `npm ci --prefix web && npm run build --prefix web`"
    assert sorted(committed) == sorted(fresh), stale
    for name, content in fresh.items():
        assert committed[name] == content, f"{name} differs. {stale}"


def test_the_page_names_the_assets_that_exist() -> None:
    committed = files(COMMITTED)
    page = committed["index.html"].decode()
    referenced = re.findall(r'(?:src|href)="/(assets/[^"]+)"', page)
    assert len(referenced) == 2, page
    for asset in referenced:
        assert asset in committed, f"index.html names {asset}, which is not built"
