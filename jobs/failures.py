"""Which failures are worth another try (transient) and which are final (permanent).

A transient failure (a lost connection, a timeout, a locked SQLite file, an object store's 5xx)
puts the task back to `queued` and the broker retries it with backoff. Anything else is the
task's own problem (a bad file, a missing work): it fails at once, with the reason in its error.
"""

from __future__ import annotations

import sys

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

MAX_ERROR_CHARS = 2000


class TransientError(Exception):
    """Raise from a handler to ask for a retry later."""


class TaskBusy(Exception):
    """Another live worker is running this task now; look again later."""


_TRANSIENT = (
    TransientError,
    ConnectionError,
    TimeoutError,
    OperationalError,
    InterfaceError,
)
# The transient errors of the optional clients (Redis, the S3 object store), by module.
_CLIENT_TRANSIENT = {
    "redis.exceptions": ("ConnectionError", "TimeoutError"),
    "botocore.exceptions": (
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
    ),
}


def _loaded(module: str, names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    """Classes of `module` if some code imported it. A client library that nothing imported
    raised nothing, so a server without Redis or S3 never loads one to classify an error."""
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names) if loaded is not None else ()


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    for module, names in _CLIENT_TRANSIENT.items():
        if isinstance(exc, _loaded(module, names)):
            return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, _loaded("botocore.exceptions", ("ClientError",))):
        response = getattr(exc, "response", {})  # the object store's answer, parsed
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or response.get("Error", {}).get("Code") == "SlowDown"
    return False


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message[:MAX_ERROR_CHARS]
