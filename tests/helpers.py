"""What every test that runs a real command shares: its streams are checked for secrets.

A token or a traceback in any output of any run is a failure, whichever host ran it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Faults are the fault suite's business: elsewhere a failing region should fail fast.
FAST_RETRIES = {"CODEARTIFACT_MULTIREGION_ATTEMPTS": "2",
                "CODEARTIFACT_MULTIREGION_BACKOFF": "0.05"}


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_checked(cmd: Sequence[str | Path], aws: Any, *, cwd: Path | None = None,
                env: Mapping[str, str] | None = None, timeout: float = 120) -> Result:
    """Run ``cmd`` against the local regions, non-interactively; no token, no traceback."""
    full = {**os.environ, **aws.env(), **FAST_RETRIES, **(env or {})}
    full.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([str(c) for c in cmd], env=full, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    for token in aws.tokens():
        assert token not in proc.stdout and token not in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def sha256s(paths: Path | Iterable[Path]) -> dict[str, str]:
    """filename -> sha256 of a directory's files (or of the given files)."""
    files = (sorted(p for p in paths.iterdir() if p.is_file()) if isinstance(paths, Path)
             else list(paths))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def all_empty(aws: Any) -> bool:
    return all(region.files() == {} for region in aws.regions.values())
