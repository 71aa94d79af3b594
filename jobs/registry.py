"""Which handler runs which kind of task: `kind -> async def handler(parts, task_id)`.

Handlers are named by import path and imported on first use, so a worker pays only for the
kinds it runs and an import error shows up as that task's failure, not as a dead worker.
`register_handler` adds or replaces one (tests, plug-ins); call it before the worker starts.
"""

from __future__ import annotations

import importlib
from typing import Any

from .host import TaskHandler

DEFAULT_HANDLERS: dict[str, str] = {
    "ai": "api.services.ai_tasks:run",
    "export": "jobs.export_task:run",
    "import": "jobs.import_task:run",
}
_registered: dict[str, TaskHandler] = {}


def register_handler(kind: str, handler: TaskHandler) -> None:
    _registered[kind] = handler


def _lazy(path: str) -> TaskHandler:
    module_name, _, attribute = path.partition(":")

    async def handler(parts: Any, task_id: str) -> None:
        function = getattr(importlib.import_module(module_name), attribute)
        await function(parts, task_id)

    handler.__qualname__ = path
    return handler


def task_handlers() -> dict[str, TaskHandler]:
    handlers = {kind: _lazy(path) for kind, path in DEFAULT_HANDLERS.items()}
    handlers.update(_registered)
    return handlers
