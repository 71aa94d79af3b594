"""Secrets out of every line that is logged or stored as an error: one function, `redact`.

A token travels in URLs (`/sync/doc?token=…`, the notification socket, OIDC's `?code=…`, S3's
presigned `X-Amz-Signature=…`), in `Authorization` headers and in exception messages that quote
them. Whatever text is about to be written to a log or to an error column goes through `redact`
first: the log handlers' filter (`api.logs`), task errors (`jobs.tasks`) and AI call records
(`ai_agents.providers.router`). It lives at the bottom of the import graph so that each of them may
use it.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# A parameter is secret when its name is one of these words or ends in one of the long ones
# (`access_token`, `client_secret`, `X-Amz-Signature`, `X-Amz-Security-Token`, `api_key`).
# (B105 waived on both: the names of secret parameters, not secrets.)
_SECRET_SUFFIXES = r"token|secret|password|passwd|signature|credential|api[_-]?key|apikey"  # nosec B105
_SECRET_NAMES = r"code|sig|pwd|ticket"  # nosec B105
_NAME = rf"(?:[\w.\-]*(?:{_SECRET_SUFFIXES})|{_SECRET_NAMES})"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `?token=…`, `&code=…`, `password=…` in a URL, a form body or free text.
    (re.compile(rf"(?i)(?<![\w.\-])({_NAME}=)[^&\s\"'#<>,;)\]}}]+"), rf"\1{REDACTED}"),
    # The sandbox pay page's `?t=` (api/payments/sandbox.py): too short a name to match in prose.
    (re.compile(r"([?&]t=)[^&\s\"'#<>,;)\]}]+"), rf"\1{REDACTED}"),
    # `"password": "…"` or `'token': '…'` in JSON or a Python repr.
    (re.compile(rf"(?i)([\"']{_NAME}[\"']\s*:\s*)([\"'])(?:(?!\2).)*\2"), rf"\1\2{REDACTED}\2"),
    # `Authorization: Bearer …` or `Basic …` (long enough not to be a word of prose).
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{16,}"), rf"\1\2{REDACTED}"),
    # A JWT anywhere, whatever carries it (a bare token in an exception message).
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    # The password in a URL's user info: `smtp://user:pw@host`, `redis://:pw@host`.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # A signed download link is a capability in the path (api/services/download_links.py).
    (re.compile(r"(/export/download/)[^/?#\s\"']+"), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    """`text` with every secret it quotes replaced by `[redacted]`; the rest is left as it was."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
