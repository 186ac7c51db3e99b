"""``python -m tests.localaws.index_server [--upload-log FILE] run PYPISERVER-ARGS``.

Each region's index is a real pypiserver: its routes, authentication, upload checks and
pages are pypiserver's own. One part is swapped: the storage backend. pypiserver's
``simple-dir`` backend walks, stats and parses the whole directory on every request (a
simple page, a download, an upload's existence check), so the index's cost per request grew
with the repository. ``CatalogueBackend`` answers from a ``catalogue.Catalogue`` of the same
directory instead (listed again only when it changed) and keeps each file's digest until
its bytes change; pypiserver's own ``cached-dir`` backend would need watchdog and learns of
outside writes (tests write straight into the directory) only asynchronously.

Downloads: pypiserver's ``/packages/<file>`` route searches every listed file for the one
asked for; it is replaced by the same route, behind the same ``download`` authentication,
that looks the name up in the catalogue. Logins: ``RememberedLogins`` keeps pypiserver's
htpasswd check from costing an apr1 hash on every request.

Every upload attempt is appended to ``--upload-log`` as one JSON line, ``{"file": name,
"outcome": "stored"|"refused", "at": unix time}`` (refused: the name already existed), so a
benchmark can tell which files a run sent more than once, and how many arrived per second.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import mimetypes
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from pypiserver.backend import SimpleFileBackend
from pypiserver.core import PkgFile
from pypiserver.pkg_helpers import guess_pkgname_and_version, normalize_pkgname

from .catalogue import Catalogue, FileHashes, Stamp


@functools.lru_cache(maxsize=65536)
def parse(filename: str) -> tuple[str, str] | None:
    """(normalized project, version) as pypiserver reads a name; hidden files are not listed."""
    if filename.startswith("."):
        return None
    found = guess_pkgname_and_version(filename)
    return None if found is None else (normalize_pkgname(found[0]), found[1])


class UploadLog:
    """One JSON line per upload attempt, appended (the file may be truncated between tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, filename: str, outcome: str) -> None:
        if self.path is None:
            return
        line = json.dumps({"file": filename, "outcome": outcome, "at": time.time()}) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)


class RememberedLogins:
    """pypiserver checks the htpasswd entry on every request (apr1: about 2 ms of CPU, most
    of an upload's cost here). A region's token changes only when its htpasswd file does
    (``LocalRegion.set_token`` replaces it), so a login that passed is remembered for as
    long as the file's stamp is the one it passed under and that stamp has settled."""

    def __init__(
        self, check: Callable[[str, str], bool], path: Path, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self._check = check
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._passed: set[tuple[str, bytes]] = set()

    def __call__(self, user: str, password: str) -> bool:
        began = self._clock()
        stamp = Stamp.of(os.stat(self._path))
        key = (user, hashlib.sha256(password.encode()).digest())
        with self._lock:
            if stamp == self._stamp and key in self._passed:
                return True
        if not self._check(user, password):
            return False
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._passed = stamp, set()
            if stamp.settled(began):
                self._passed.add(key)
        return True


class CatalogueBackend(SimpleFileBackend):
    """pypiserver's file backend, reading each root through a catalogue (top level only)."""

    def __init__(self, config: Any, uploads: UploadLog | None = None) -> None:
        super().__init__(config)
        self.catalogues = [Catalogue(root, parse) for root in self.roots]
        self.uploads = uploads or UploadLog(None)
        self._hashes = FileHashes(self.hash_algo or "sha256")

    def _files(self, project: str | None = None, version: str | None = None) -> Iterator[PkgFile]:
        for root, catalogue in zip(self.roots, self.catalogues):
            for _, _, name in catalogue.files(project, version):
                found = guess_pkgname_and_version(name)
                if found is None:  # parse() said otherwise a moment ago: nothing to list
                    continue
                yield PkgFile(
                    pkgname=found[0],
                    version=found[1],
                    fn=str(root / name),
                    root=str(root),
                    relfn=name,
                )

    def get_all_packages(self) -> Iterator[PkgFile]:
        return self._files()

    def find_project_packages(self, project: str) -> Iterator[PkgFile]:
        return self._files(normalize_pkgname(project))

    def find_version(self, name: str, version: str) -> Iterator[PkgFile]:
        return (pkg for pkg in self._files(normalize_pkgname(name), version) if pkg.pkgname == name)

    def get_projects(self) -> set[str]:
        return {p for catalogue in self.catalogues for p in catalogue.packages()}

    def package_count(self) -> int:
        return sum(len(catalogue) for catalogue in self.catalogues)

    def locate(self, filename: str) -> Path | None:
        """The root holding distribution file ``filename`` (a plain name), if any."""
        if "/" in filename or "\\" in filename:
            return None
        return next(
            (
                root
                for root, catalogue in zip(self.roots, self.catalogues)
                if catalogue.holds(filename)
            ),
            None,
        )

    def exists(self, filename: str) -> bool:
        # pypiserver asks this once per upload, before storing: the upload log's hook.
        # The disk, not the catalogue: an upload a moment ago must count.
        found = any((root / filename).is_file() for root in self.roots)
        if found:
            self.uploads.record(filename, "refused")
        return found

    def add_package(self, filename: str, stream: BinaryIO) -> None:
        super().add_package(filename, stream)
        self.uploads.record(filename, "stored")

    def digest(self, pkg: PkgFile) -> str | None:
        if self.hash_algo is None or pkg.fn is None:
            return None
        return f"{self.hash_algo}={self._hashes.digest(Path(pkg.fn))[0]}"


def serve(argv: Sequence[str]) -> None:
    """pypiserver's ``run`` with CatalogueBackend (what pypiserver's own main does, minus
    the update command and the server choices the stand-ins never use)."""
    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument("--upload-log", type=Path)
    known, rest = ours.parse_known_args(argv)

    import pypiserver
    from pypiserver import _app
    from pypiserver.__main__ import init_logging
    from pypiserver.backend import BackendProxy
    from pypiserver.bottle_wrapper import HTTPError, run, static_file
    from pypiserver.config import Config

    config = Config.from_args(rest)
    backend = CatalogueBackend(config, UploadLog(known.upload_log))
    config.backend = BackendProxy(backend)
    if config.password_file:
        config.auther = RememberedLogins(config.auther, Path(config.password_file))
    init_logging(
        level=config.log_level,
        filename=config.log_file,
        frmt=config.log_frmt,
        stream=config.log_stream,
    )
    app = pypiserver.setup_routes_from_config(pypiserver.app_from_config(config), config)
    if app is not _app.app:
        raise RuntimeError("pypiserver's app module moved: index_server needs updating")

    def download(filename: str) -> Any:
        root = backend.locate(filename)
        if root is None:
            return HTTPError(404, f"Not Found ({filename} does not exist)\n\n")
        response = static_file(filename, root=str(root), mimetype=mimetypes.guess_type(filename)[0])
        if config.cache_control:
            response.set_header("Cache-Control", f"public, max-age={config.cache_control}")
        return response

    app.route("/packages/:filename#.*#", "GET", _app.auth("download")(download))
    run(app=app, host=config.host, port=config.port, server=config.server_method)


if __name__ == "__main__":
    serve(sys.argv[1:])
