"""The registry of secrets and the one function that masks them.

Every string that leaves the core for a person or a file passes through ``redact``:
tokens are registered here the moment they are fetched, so no error path (an HTTP
body echoing a header, a URL with credentials) can leak one.
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_secrets: set[str] = set()
_lock = threading.Lock()
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+")


def register_secret(secret: str) -> None:
    """Remember a token so that ``redact`` masks it from now on."""
    if secret:
        with _lock:
            _secrets.add(secret)


def redact(text: object) -> str:
    """Mask every registered token, URL credentials and Authorization header values."""
    out = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        out = out.replace(secret, MASK)
    out = _URL_CREDENTIALS.sub(MASK + "@", out)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} {MASK}", out)
