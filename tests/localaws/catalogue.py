"""What a directory of distribution files holds, kept in memory and checked with one stat.

Both stand-ins read a region's storage directory on every request: the fake control plane
through ``repository.PackageStore``, the index (pypiserver) through ``index_server``'s
backend. Listing the whole directory each time made their cost per request grow with the
repository, so a benchmark of 10,000 files mostly measured the stand-ins (issue 23). A
``Catalogue`` lists the directory once, answers from memory grouped by package and version,
and lists it again only when the directory's stamp (inode, mtime, ctime) has changed.
Writers tell it nothing: tests put files straight into the directory, and pypiserver (another
process) uploads into it, so the stamp is the one signal every writer gives.

Why one stat is enough, and when it is not: adding, removing or renaming an entry changes the
directory's mtime and ctime, but file systems take those from a coarse clock (a kernel tick),
so a change within the same tick as a listing could leave the stamp as it was. A listing is
therefore trusted only once its stamp is ``SETTLE_NS`` older than the moment the listing
began (git's rule for "racy" index entries); until then every request lists again, which
costs what listing always cost. ``FileHashes`` applies the same rule to each file's bytes,
which the directory's stamp does not cover (a file rewritten in place).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Older than this, a stamp cannot be repeated by a later change: far above any file
# system's timestamp granularity on the machines the suite runs on (ext4, tmpfs, APFS).
SETTLE_NS = 1_000_000_000

# A file name -> (package, version) of the distribution it is, or None for anything else.
Parse = Callable[[str], "tuple[str, str] | None"]
Clock = Callable[[], int]


@dataclass(frozen=True)
class Stamp:
    """What changes whenever a directory's entries or a file's bytes change."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Stamp:
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    def settled(self, now_ns: int) -> bool:
        """Whether any later change must give another stamp (see the module docstring)."""
        return max(self.mtime_ns, self.ctime_ns) <= now_ns - SETTLE_NS


class Catalogue:
    """The distribution files directly in ``root`` (not in subdirectories), by package.

    ``parse`` names each file's (package, version); files it returns None for are ignored.
    ``listings`` counts how often the directory was read, for tests and benchmarks.
    """

    def __init__(self, root: Path, parse: Parse, clock: Clock = time.time_ns) -> None:
        self.root = root
        self._parse = parse
        self._clock = clock
        self._lock = threading.RLock()
        self._stamp: Stamp | None = None
        self._settled = False
        self._names: set[str] = set()  # every file name seen, distribution or not
        self._dists: dict[str, tuple[str, str]] = {}
        self._tree: dict[str, dict[str, set[str]]] = {}  # package -> version -> names
        self._sorted: list[str] | None = None
        self.listings = 0

    def files(
        self, package: str | None = None, version: str | None = None
    ) -> list[tuple[str, str, str]]:
        """(package, version, file name) of every file, or of one package (and version)."""
        with self._lock:
            self._refresh()
            if package is None:
                return [(p, v, n) for n, (p, v) in self._dists.items() if version in (None, v)]
            versions = self._tree.get(package, {})
            wanted = versions if version is None else {version: versions.get(version, set())}
            return [(package, v, n) for v, names in wanted.items() for n in names]

    def packages(self) -> list[str]:
        """Every package with at least one file, sorted."""
        with self._lock:
            self._refresh()
            if self._sorted is None:
                self._sorted = sorted(self._tree)
            return list(self._sorted)

    def holds(self, name: str) -> bool:
        """Whether ``name`` is one of the distribution files listed."""
        with self._lock:
            self._refresh()
            return name in self._dists

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._dists)

    def _refresh(self) -> None:
        began = self._clock()
        try:
            stamp: Stamp | None = Stamp.of(os.stat(self.root))
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp and self._settled and self.listings:
            return
        names = self._scan() if stamp is not None else set()
        for name in self._names - names:
            self._forget(name)
        for name in names - self._names:
            self._add(name)
        self._names = names
        self._stamp = stamp
        self._settled = stamp is None or stamp.settled(began)
        self.listings += 1

    def _scan(self) -> set[str]:
        try:
            with os.scandir(self.root) as entries:
                return {entry.name for entry in entries if _is_file(entry)}
        except FileNotFoundError:  # removed between the stat and the listing
            return set()

    def _add(self, name: str) -> None:
        parsed = self._parse(name)
        if parsed is None:
            return
        self._dists[name] = parsed
        package, version = parsed
        if package not in self._tree:
            self._sorted = None
        self._tree.setdefault(package, {}).setdefault(version, set()).add(name)

    def _forget(self, name: str) -> None:
        parsed = self._dists.pop(name, None)
        if parsed is None:
            return
        package, version = parsed
        versions = self._tree[package]
        versions[version].discard(name)
        if not versions[version]:
            del versions[version]
        if not versions:
            del self._tree[package]
            self._sorted = None


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # removed while we looked
        return False


class FileHashes:
    """Digests of files, computed once per version of each file's bytes.

    A digest is kept under the file's stamp only when that stamp has settled, so bytes
    rewritten in place (same name, same directory stamp) are hashed again. ``computed``
    counts the files actually read.
    """

    def __init__(self, algorithm: str = "sha256", clock: Clock = time.time_ns) -> None:
        self.algorithm = algorithm
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Stamp, str]] = {}
        self.computed = 0

    def digest(self, path: Path) -> tuple[str, os.stat_result]:
        """(hex digest, stat) of ``path``; FileNotFoundError if it is gone."""
        began = self._clock()
        stat = os.stat(path)
        stamp = Stamp.of(stat)
        with self._lock:
            known = self._known.get(str(path))
        if known is not None and known[0] == stamp:
            return known[1], stat
        digest = hashlib.new(self.algorithm)
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        hexdigest = digest.hexdigest()
        with self._lock:
            self.computed += 1
            if stamp.settled(began):
                self._known[str(path)] = (stamp, hexdigest)
            else:
                self._known.pop(str(path), None)
        return hexdigest, stat

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
