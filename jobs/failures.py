"""Which failures are worth another try (transient) and which are final (permanent).

A transient failure (a lost connection, a timeout, a locked SQLite file, an object store's 5xx)
puts the task back to `queued` and the broker retries it with backoff. Anything else is the
task's own problem (a bad file, a missing work): it fails at once, with the reason in its error.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
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
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") == "SlowDown"
    return False


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message[:MAX_ERROR_CHARS]
