"""Build the package's own sdist and wheel as a release builds them.

A release runs `python -m build` on the tagged commit with SOURCE_DATE_EPOCH set to the commit's
time (.github/workflows/release.yml); so do these fixtures.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def git(*args: str) -> str:
    """Output of a git command in the checkout (the release tests need a git checkout)."""
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    assert result.returncode == 0, f"git {' '.join(args)} failed (a git checkout is needed): " + (
        result.stderr
    )
    return result.stdout


def commit_epoch() -> str:
    """SOURCE_DATE_EPOCH as a release sets it: the commit time of HEAD."""
    return git("log", "-1", "--format=%ct").strip()


def build(source: Path, out: Path) -> dict[str, str]:
    """Build the sdist and the wheel of ``source`` into ``out``; file name -> sha256."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": commit_epoch()}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def copy_of_checkout(dest: Path) -> Path:
    """The files a build of the checkout sees (tracked and untracked, not ignored), copied anew.

    Copied with their modes (git keeps those) but not their times, and under another path, so
    a build that leaked a time or a path into the files would differ from the checkout's.
    """
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)  # the bytes and the mode (git keeps both), not the times
    return dest
