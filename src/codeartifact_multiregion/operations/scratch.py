"""The private temporary directory a run downloads into: gone on every exit.

``sync`` streams each copied file to disk before uploading it. Those files live in one
directory per run, ``codeartifact-sync-<pid>-<random>`` under the system temp dir, made
by ``mkdtemp`` (mode 0700) and removed when the run ends, also on SIGINT/SIGTERM. A
SIGKILL leaves no chance to clean up, so each run first removes the directories of runs
that are gone: a run holds an exclusive ``flock`` on its ``.lock`` file for its whole
life, so a lock that can be taken marks a dead run, whatever PID namespace it ran in.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "codeartifact-sync-"
LOCK = ".lock"
_NAME = re.compile(re.escape(PREFIX) + r"([0-9]+)-[A-Za-z0-9_]+")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no stale sweep
    fcntl = None  # type: ignore[assignment]


@contextmanager
def private_dir(root: str | Path | None = None) -> Iterator[Path]:
    """A fresh 0700 directory for this run's downloads, removed however the block ends."""
    remove_stale(root)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    lock = _hold(path / LOCK)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def remove_stale(root: str | Path | None = None) -> list[Path]:
    """Remove the private directories of runs that are no longer alive; returns them.

    Only this user's directories with our exact name pattern are considered, never
    followed through a symbolic link, and only when their run's lock is free.
    """
    if fcntl is None:  # pragma: no cover
        return []
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = os.lstat(entry.path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if _alive(Path(entry.path), int(match.group(1))):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _hold(path: Path) -> int | None:
    """Open ``path`` and hold an exclusive lock on it for as long as the fd stays open."""
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without flock: no lock, and ``_alive`` says "alive"
        os.close(fd)
        return None
    return fd


def _alive(directory: Path, pid: int) -> bool:
    """Whether the run that made ``directory`` still holds its lock (or, lockless, lives)."""
    try:
        fd = os.open(directory / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:  # killed between mkdtemp and the lock: ask about the PID
        return _pid_alive(pid)
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


__all__ = ["PREFIX", "private_dir", "remove_stale"]
