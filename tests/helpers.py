"""What every test that runs a real command shares: one runner, one fast retry policy.

A token or a traceback in any output of any run is a failure, whichever host ran it, so
every real process goes through ``run_checked`` (``run_cli`` for the standalone CLI).
"""

from __future__ import annotations

import hashlib
import os
import pty
import select
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from codeartifact_multiregion.retry import ENV_SETTINGS, RetryPolicy

# The one fast policy: three tries (a fault test injects two failures and expects the third
# to pass), 10 ms first backoff, and timeouts generous enough that a loaded machine is not
# mistaken for a stalled region. Tests that want a stall to time out say so with their own.
FAST = RetryPolicy(
    attempts=3, backoff=0.01, backoff_max=0.1, connect_timeout=2.0, read_timeout=10.0
)
# The same bounds for a subprocess, derived from FAST so the two cannot drift apart.
FAST_RETRIES = {var: str(getattr(FAST, name)) for var, (name, _, _) in ENV_SETTINGS.items()}


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_checked(
    cmd: Sequence[str | Path],
    aws: Any,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``cmd`` against the local regions, non-interactively; no token, no traceback.

    Every token any region has issued is looked for on both streams, and a traceback on
    either is a failure: whichever host ran, a crash or a leak fails the test that saw it.
    """
    full = {**os.environ, **aws.env(), **FAST_RETRIES, **(env or {})}
    full.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [str(c) for c in cmd],
        env=full,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for token in aws.tokens():
        assert token not in proc.stdout and token not in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_cli(
    aws: Any,
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """``python -m codeartifact_multiregion ARGS`` through ``run_checked``."""
    return run_checked(
        [sys.executable, "-m", "codeartifact_multiregion", *args],
        aws,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def most_in_a_window(stamps: Iterable[float], window: float = 1.0) -> int:
    """The most stamps within any half-open ``window`` seconds (a rate limit's definition)."""
    ordered = sorted(stamps)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run_on_pty(
    args: Sequence[str | Path], env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal, as a person at a shell would.

    What a program prints only to a terminal (rich's live table, masked tokens) shows here.
    ``timeout`` is a hang guard only.
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(a) for a in args],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = bytearray()
    guard = time.monotonic() + timeout
    while time.monotonic() < guard:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(30), bytes(out)


def sha256_of(path: Path) -> str:
    """The file's sha256, what a region must list for it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sha256s(paths: Path | Iterable[Path]) -> dict[str, str]:
    """filename -> sha256 of a directory's files (or of the given files)."""
    files = (
        sorted(p for p in paths.iterdir() if p.is_file())
        if isinstance(paths, Path)
        else list(paths)
    )
    return {p.name: sha256_of(p) for p in files}


def all_empty(aws: Any) -> bool:
    return all(region.files() == {} for region in aws.regions.values())


def twine_upload(region: Any, files: Iterable[Path]) -> None:
    """Publish with the twine CLI into a local region, as a user would; not through this project.

    The token goes through the environment: one that starts with "-" would read as an option.
    """
    env = {
        **os.environ,
        "TWINE_USERNAME": "aws",
        "TWINE_PASSWORD": region.token,
        "TWINE_NON_INTERACTIVE": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "upload",
            "--repository-url",
            region.url,
            "--disable-progress-bar",
            *map(str, files),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive request handler that logs nothing (pytest would show it as noise)."""

    protocol_version = "HTTP/1.1"

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer:
    """A test's request handler served on 127.0.0.1 (TLS with ``context``); ``url`` ends in /.

    ``server_class`` lets a test count what arrives (connections, say). Closed with ``close``.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext | None = None,
        server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
    ) -> None:
        self.httpd = server_class(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
