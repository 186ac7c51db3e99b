"""The Lambda replicator's code: the publisher wheel plus its locked dependencies, built at synth.

Nothing is installed when the function runs and nothing is downloaded at a cold start: the
asset is a folder Lambda unpacks as it is. It is built reproducibly from two inputs only, the
hash-checked publisher wheel (``-c publisher-wheel``, or the checkout's own) and
``infra_cdk/lambda/requirements.txt`` (every dependency pinned with its sha256, for the
function's runtime and architecture), by pip with ``--require-hashes --only-binary=:all:
--platform ... --python-version ...``: a file whose hash is not in the lock is refused, so the
same inputs give the same bytes on any machine. ``--no-deps`` because the lock is complete:
pip evaluates dependency markers with the Python that runs it, not the target's.

A bundle is cached by the hash of its inputs (the wheel's sha256, the lock's bytes, the
platform, the Python version and this builder's version), so a second synth, or another test
worker, reuses it; a file lock keeps two builders of one key from racing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock
from packaging.utils import parse_wheel_filename

from codeartifact_multiregion.aws.resolver import SERVICES

from .settings import SettingsError

LOCK = Path(__file__).resolve().parents[1] / "lambda" / "requirements.txt"
PYTHON_VERSION = "3.12"  # the function's runtime (Runtime.PYTHON_3_12)
ARM64 = "manylinux2014_aarch64"  # the function's architecture (arm64, Amazon Linux 2023)
X86_64 = "manylinux2014_x86_64"  # only to import-check a bundle on an x86_64 machine
# Bump when the way a bundle is made changes, so bundles made the old way are not reused.
BUILDER_VERSION = "1"
DONE = ".bundle-complete"
CACHE_VARIABLE = "CODEARTIFACT_LAMBDA_BUNDLE_CACHE"
PIP_SECONDS = 600


def cache_root() -> Path:
    """``$CODEARTIFACT_LAMBDA_BUNDLE_CACHE``, else the user's cache directory."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codeartifact-multiregion" / "lambda-bundles"


def bundle_key(wheel_sha256: str, lock: bytes, platform: str, python_version: str) -> str:
    digest = hashlib.sha256()
    for part in (BUILDER_VERSION, wheel_sha256, platform, python_version):
        digest.update(part.encode() + b"\0")
    digest.update(lock)
    return digest.hexdigest()[:32]


def lambda_bundle(
    wheel: Path,
    wheel_sha256: str,
    *,
    platform: str = ARM64,
    python_version: str = PYTHON_VERSION,
    lock: Path = LOCK,
    cache: Path | None = None,
) -> Path:
    """The folder of the function's code for these inputs: built once, then reused."""
    root = cache or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / bundle_key(wheel_sha256, lock.read_bytes(), platform, python_version)
    with FileLock(str(final) + ".lock"):
        if (final / DONE).is_file():
            return final
        shutil.rmtree(final, ignore_errors=True)  # a build that was cut off
        staging = Path(tempfile.mkdtemp(dir=root, prefix=final.name + ".tmp-"))
        try:
            _install(staging, wheel, wheel_sha256, platform, python_version, lock)
            _prune(staging)
            (staging / DONE).write_text("")
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


def _install(
    target: Path, wheel: Path, wheel_sha256: str, platform: str, python_version: str, lock: Path
) -> None:
    name = parse_wheel_filename(wheel.name)[0]
    pinned = target.parent / f"{target.name}.publisher.txt"
    pinned.write_text(f"{name} @ {wheel.resolve().as_uri()} --hash=sha256:{wheel_sha256}\n")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--no-compile",
        "--platform",
        platform,
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "-r",
        str(lock),
        "-r",
        str(pinned),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_SECONDS, check=False
        )
    finally:
        pinned.unlink(missing_ok=True)
    if done.returncode != 0:
        problem = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SettingsError(
            f"{lock}: pip could not build the Lambda replicator's bundle ({problem[:300]}). "
            "Check the lock file's hashes (regenerate it as lambda/requirements.in says) and "
            "that PyPI is reachable for the first synth."
        )


def _prune(target: Path) -> None:
    """Drop what the function never reads and what would differ between machines.

    Console scripts (their shebang names the building Python), ``direct_url.json`` (the
    wheel's local path), byte code, and botocore's models of services the publisher does not
    call (it loads only ``SERVICES``, see ``aws.py``; 28 MB of the 30).
    """
    shutil.rmtree(target / "bin", ignore_errors=True)
    for path in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(path, ignore_errors=True)
    for path in target.glob("*.dist-info/direct_url.json"):
        path.unlink()
    data = target / "botocore" / "data"
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in SERVICES:
            shutil.rmtree(entry)


def tree_digest(folder: Path) -> str:
    """One sha256 over every file's relative path and bytes: equal trees, equal digests."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
