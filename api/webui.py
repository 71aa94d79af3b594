"""The web editor: the built files in `api/webui/`, served at `/`.

Assets under `/assets/` have content-hashed names and are cached for good; any other path that
is not a file gets `index.html`, so the editor's own routes (`/works/3/chapters/7`) survive a
reload. The route matches only GET and HEAD outside the server's own paths (`/api`, `/sync`,
`/healthz`, ...): there, routing is exactly what it would be without the editor (404, 405).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from .errors import AppError, Err

WEBUI_DIR = Path(__file__).with_name("webui")
RESERVED = ("api", "sync", "healthz", "readyz", "metrics", "docs", "redoc", "openapi.json")
IMMUTABLE = "public, max-age=31536000, immutable"


def is_reserved(path: str) -> bool:
    """Whether `path` (without its leading slash) belongs to the server rather than the editor."""
    return path.split("/", 1)[0] in RESERVED


def _file(root: Path, path: str) -> Path | None:
    """The file `path` names inside `root`, never outside it."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


class _WebUiRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is Match.NONE or is_reserved(child["path_params"]["path"]):
            return Match.NONE, {}
        return match, child


def mount_web_ui(app: FastAPI, root: Path = WEBUI_DIR) -> None:
    """Serve the editor from `root`; call after every other route so they all match first."""
    resolved = root.resolve()

    async def web_ui(request: Request) -> Response:
        path = request.path_params["path"]
        found = _file(resolved, path)
        if found is not None:
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            raise AppError(Err.NOT_FOUND, f"no such asset: /{path}")
        index = resolved / "index.html"
        if not index.is_file():
            raise AppError(Err.NOT_FOUND, "the web editor is not built: npm run build --prefix web")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(
        _WebUiRoute("/{path:path}", web_ui, methods=["GET", "HEAD"], include_in_schema=False)
    )
