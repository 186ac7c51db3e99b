"""Local regions: one real pypiserver per region, the fake control plane, and moto for STS.

Each region requires its token for reads and uploads (user ``aws``), as CodeArtifact
does; the fake control plane hands that token out and names the region's server as its
repository endpoint, so the publisher's whole AWS path runs unmodified, with boto3
pointed here only by standard ``AWS_ENDPOINT_URL_*`` variables.

Everything binds to 127.0.0.1 with kernel-chosen ports and lives in a fresh temp dir,
so pytest-xdist workers (each with its own session) never collide.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

from .events import package_version_state_change
from .fake_codeartifact import DEFAULT_PAGE_SIZE, FakeCodeArtifact, RegionSpec
from .repository import PackageStore, Version

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
DOMAIN, OWNER, REPOSITORY = "acme", "111122223333", "python"
USER = "aws"
PROFILE = "publisher"
# The stand-ins' AWS credentials (environment, [default], [publisher]); the fake control plane
# checks the SigV4 signature of every request made with one of them.
ENV_KEY, DEFAULT_KEY, PROFILE_KEY = (
    "AKIALOCALTESTING0000",
    "AKIADEFAULTLOCAL000",
    "AKIAPUBLISHERLOCAL0",
)
SECRET_KEYS = {
    ENV_KEY: "local-testing-secret",
    DEFAULT_KEY: "local-default-secret",
    PROFILE_KEY: "local-publisher-secret",
}

# Variables that would steer boto3 away from the stand-ins (a profile, a real session,
# web identity, disabled endpoint overrides); scrubbed from every environment we hand out.
_SCRUB = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def free_port() -> int:
    """A port that was free a moment ago; ``LocalRegion.start`` retries if it is taken."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class LocalRegion:
    """A real pypiserver on 127.0.0.1 standing in for one region's repository.

    Storage is a plain directory (``packages``) read on every request, so ``files()`` and
    ``clear()`` act on exactly what the server serves. ``store`` is the same directory as
    CodeArtifact's API sees it (plus ``held``, where Archived versions' files wait);
    ``set_version`` marks a version's status and origin for the fake's List* answers.
    """

    def __init__(self, name: str, root: Path, token: str | None = None) -> None:
        self.name = name
        self.root = root
        self.packages = root / "packages"
        self.packages.mkdir(parents=True, exist_ok=True)
        self.held = root / "held"
        self.store = PackageStore(self.packages, self.held)
        self.htpasswd = root / "htpasswd"
        self.log = root / "server.log"
        self.port = free_port()
        self.token = ""
        self.set_token(token or secrets.token_urlsafe(48))
        self.process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalRegion({self.name!r}, port={self.port})"

    @property
    def url(self) -> str:
        """The repository endpoint, as GetRepositoryEndpoint returns it (trailing slash)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    @property
    def auth(self) -> tuple[str, str]:
        return (USER, self.token)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def set_token(self, token: str) -> None:
        """Make ``token`` the only accepted password, without a restart.

        pypiserver calls passlib's ``load_if_changed()`` on every authenticated request,
        which rereads the file when its mtime differs. apr1 (what ``htpasswd -m`` writes)
        checks in ~1 ms; passlib's default sha256_crypt costs ~0.7 s per request.
        """
        from passlib.apache import HtpasswdFile

        self.token = token
        htpasswd = HtpasswdFile(new=True, default_scheme="apr_md5_crypt")
        htpasswd.set_password(USER, token)
        tmp = self.htpasswd.with_suffix(".tmp")
        tmp.write_bytes(htpasswd.to_string())
        tmp.replace(self.htpasswd)  # atomic: a request never sees a half-written file
        # A distinct mtime even on file systems with coarse timestamps.
        stamp = time.time() + 2
        os.utime(self.htpasswd, (stamp, stamp))

    def start(self, wait: bool = True, timeout: float = 30.0) -> None:
        """Start the server (on the same port after ``stop``); by default wait until it answers."""
        if self.running:
            return
        self._spawn()
        if wait:
            self.wait_ready(timeout)

    def _spawn(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pypiserver",
                    "run",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-P",
                    str(self.htpasswd),
                    "-a",
                    "update,download,list",
                    # "auto" server: waitress (multi-threaded) when importable, as here.
                    "--disable-fallback",
                    "--backend",
                    "simple-dir",
                    "--hash-algo",
                    "sha256",
                    str(self.packages),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll until the server answers HTTP; a lost port race moves to a new port once."""
        deadline = time.monotonic() + timeout
        retried = False
        while time.monotonic() < deadline:
            if self.process is None:
                raise RuntimeError(f"{self.name}: not started")
            if self.process.poll() is not None:
                log = self.log.read_text(errors="replace")
                if "address already in use" in log.lower() and not retried:
                    retried = True
                    self.log.write_text("")
                    self.port = free_port()
                    self._spawn()
                    continue
                raise RuntimeError(f"pypiserver for {self.name} exited: {log[-2000:]}")
            try:
                # Only this region's token opens its index: a 401/403 is another process's
                # server on a port we lost the race for, and ours is about to exit.
                if requests.get(self.simple_url, auth=self.auth, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"pypiserver for {self.name} did not answer in {timeout}s")

    def stop(self) -> None:
        """Stop the server; files stay, and ``start()`` brings it back on the same port."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def files(self) -> dict[str, str]:
        """What the region holds, filename -> sha256, read from its storage, not its index."""
        return {p.name: _sha256(p) for p in sorted(self.packages.iterdir()) if p.is_file()}

    def has_package(self, name: str) -> bool:
        """Whether any file of project ``name`` is stored (PEP 503 comparison)."""
        wanted = _pep503(name)
        for path in self.packages.iterdir():
            stem = (
                path.name.split("-", 1)[0]
                if path.name.endswith(".whl")
                else path.name.rsplit("-", 1)[0]
            )
            if _pep503(stem) == wanted:
                return True
        return False

    def set_version(
        self, package: str, version: str, *, status: str | None = None, origin: str | None = None
    ) -> Version:
        """Mark a stored version's status (Published, Unlisted, Archived, Disposed, Deleted,
        Unfinished) and/or origin type (INTERNAL, EXTERNAL, UNKNOWN), as CodeArtifact would
        report them; files move as ``repository`` documents (Archived: out of the index).
        KeyError if no file of that version is stored."""
        return self.store.set_version(package, version, status=status, origin=origin)

    def clear(self) -> None:
        """Empty the repository and forget status/origin marks (between tests)."""
        self.store.clear()
        for path in self.packages.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as a TOML value")


class LocalAWS:
    """N local regions plus the control plane and STS; ``env()`` is what a process needs.

    ``with LocalAWS() as aws:`` starts everything (regions in parallel) and tears it all
    down, temp dir included, on exit.
    """

    def __init__(
        self,
        regions: Sequence[str] = DEFAULT_REGIONS,
        *,
        domain: str = DOMAIN,
        owner: str = OWNER,
        repository: str = REPOSITORY,
        page_size: int | None = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="localaws-"))
        self.domain, self.owner, self.repository = domain, owner, repository
        self.regions: dict[str, LocalRegion] = {
            name: LocalRegion(name, self.root / name) for name in regions
        }
        self.fake = FakeCodeArtifact(
            {
                name: RegionSpec(
                    domain,
                    owner,
                    {repository: region.url},
                    region.token,
                    on_token=region.set_token,
                    has_package=lambda _repo, pkg, r=region: r.has_package(pkg),
                    stores={repository: region.store},
                )
                for name, region in self.regions.items()
            },
            page_size=page_size,
            secret_keys=SECRET_KEYS,
        )
        self._sts: Any = None
        self.sts_url = ""
        self.startup_seconds = 0.0

    # lifecycle ---------------------------------------------------------------

    def __enter__(self) -> LocalAWS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalAWS:
        began = time.monotonic()
        # No orphaned pypiservers if the session ends without reaching __exit__.
        atexit.register(self.stop)
        try:
            for region in self.regions.values():
                region.start(wait=False)
            self.fake.start()
            self._start_sts()
            self._write_aws_files()
            with ThreadPoolExecutor(len(self.regions) or 1) as pool:
                list(pool.map(lambda r: r.wait_ready(), self.regions.values()))
            self._sync_routes()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop everything and delete the temp dir; safe to call twice."""
        atexit.unregister(self.stop)
        for region in self.regions.values():
            with suppress(Exception):
                region.stop()
        with suppress(Exception):
            self.fake.stop()
        if self._sts is not None:
            with suppress(Exception):
                self._sts.stop()
            self._sts = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _start_sts(self) -> None:
        from moto.server import ThreadedMotoServer

        account = self.owner

        class AccountMotoServer(ThreadedMotoServer):
            """moto on port 0, answering as ``owner``'s account.

            GetCallerIdentity must name the same account the regions' domain belongs to,
            or a config without domain-owner would resolve to moto's 123456789012. moto
            reads the ``x-moto-account-id`` header per request; setting MOTO_ACCOUNT_ID
            instead would leak into in-process moto mocks.
            """

            def _server_entry(self) -> None:
                from moto.moto_server.threaded_moto_server import MotoRequestHandler
                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    create_backend_app,
                )
                from werkzeug.serving import make_server

                app = DomainDispatcherApplication(create_backend_app)

                class QuietHandler(MotoRequestHandler):
                    def log_request(self, *args: Any, **kwargs: Any) -> None:
                        pass  # one stderr line per STS call is noise in test output

                def with_account(environ: dict[str, Any], start_response: Any) -> Any:
                    environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", account)
                    return app(environ, start_response)

                self._server = make_server(
                    self._ip_address, self._port, with_account, True, request_handler=QuietHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._sts = AccountMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._sts.start()
        host, port = self._sts.get_host_and_port()
        self.sts_url = f"http://{host}:{port}"

    def _write_aws_files(self) -> None:
        (self.root / "config").write_text(
            f"[default]\nregion = us-east-1\n\n[profile {PROFILE}]\nregion = us-east-1\n"
        )
        (self.root / "credentials").write_text(
            f"[default]\naws_access_key_id = {DEFAULT_KEY}\n"
            f"aws_secret_access_key = {SECRET_KEYS[DEFAULT_KEY]}\n\n"
            f"[{PROFILE}]\naws_access_key_id = {PROFILE_KEY}\n"
            f"aws_secret_access_key = {SECRET_KEYS[PROFILE_KEY]}\n"
        )

    def _sync_routes(self) -> None:
        for name, region in self.regions.items():
            self.fake.regions[name].repositories = {self.repository: region.url}

    # what tests use ----------------------------------------------------------

    def region(self, name: str) -> LocalRegion:
        return self.regions[name]

    def env(self) -> dict[str, str]:
        """The variables a process needs to reach these stand-ins (and nothing else)."""
        no_proxy = "127.0.0.1,localhost"
        return {
            "AWS_ENDPOINT_URL_CODEARTIFACT": self.fake.url,
            "AWS_ENDPOINT_URL_STS": self.sts_url,
            "AWS_ACCESS_KEY_ID": ENV_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEYS[ENV_KEY],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(self.root / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.root / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def subprocess_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default os.environ) plus ``env()``, minus anything that steers boto3 away."""
        merged = {
            k: v for k, v in (os.environ if base is None else base).items() if k not in _SCRUB
        }
        merged.update(self.env())
        return merged

    @contextmanager
    def environment(self) -> Iterator[None]:
        """Set ``env()`` in this process (for in-process runs) and restore it afterwards."""
        keys = [*self.env(), *_SCRUB]
        saved = {k: os.environ.get(k) for k in keys}
        for key in _SCRUB:
            os.environ.pop(key, None)
        os.environ.update(self.env())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def apply_env(self, monkeypatch: Any) -> None:
        """Like ``environment()``, through pytest's monkeypatch (undone after the test)."""
        for key in _SCRUB:
            monkeypatch.delenv(key, raising=False)
        for key, value in self.env().items():
            monkeypatch.setenv(key, value)

    def tokens(self) -> list[str]:
        """Every region's current token: tests assert none of them reaches any output."""
        return [region.token for region in self.regions.values()]

    def reset(self) -> None:
        """Empty every region, revive stopped ones, forget calls, faults and routes."""
        self.fake.reset()
        dead = [r for r in self.regions.values() if not r.running]
        for region in dead:
            region.stop()  # reap an exited process before starting again
            region.start(wait=False)
        for region in dead:
            region.wait_ready()
        for region in self.regions.values():
            region.clear()
        self._sync_routes()

    def route(self, region: str, url: str) -> None:
        """Make the control plane name ``url`` (a fault proxy, say) as the region's endpoint."""
        self.fake.regions[region].repositories[self.repository] = url

    def rotate_token(self, region: str) -> str:
        """A new token for ``region``: the fake issues it and the index accepts only it."""
        return self.fake.rotate_token(region)

    def version_event(
        self, region: str, package: str, version: str, **fields: Any
    ) -> dict[str, Any]:
        """The EventBridge event CodeArtifact would send for ``package`` ``version`` as it is
        now in ``region`` (state and revision from the store; a version with no files is
        sent as Disposed). ``fields`` go to ``events.package_version_state_change``
        (operation_type, assets_added, sequence_number, ...)."""
        found = self.regions[region].store.version(package, version)
        keys: dict[str, Any] = {
            "region": region,
            "domain": self.domain,
            "domain_owner": self.owner,
            "repository": self.repository,
            "package": found.package if found else package,
            "version": version,
            "state": found.status if found else "Disposed",
        }
        if found is not None:
            keys["revision"] = found.revision
        keys.update(fields)
        return package_version_state_change(**keys)

    def write_pyproject(
        self,
        project_dir: str | Path,
        regions: Sequence[str] | None = None,
        *,
        name: str = "hello-internal",
        version: str = "1.0.0",
        extra: str = "",
        **extra_keys: Any,
    ) -> Path:
        """A project whose ``[tool.codeartifact]`` points at these regions.

        ``extra_keys`` become keys of the table, ``_`` spelled ``-`` (``block_upstream=True``
        -> ``block-upstream = true``); a value of None drops a key (``domain_owner=None``
        makes the publisher ask STS); ``targets={"eu-west-1": {"repository": "x"}}`` writes
        per-region tables. ``extra`` is appended verbatim.
        """
        root = Path(project_dir)
        root.mkdir(parents=True, exist_ok=True)
        keys: dict[str, Any] = {
            "domain": self.domain,
            "repository": self.repository,
            "regions": list(regions if regions is not None else self.regions),
            "domain-owner": self.owner,
        }
        targets: dict[str, dict[str, Any]] | None = extra_keys.pop("targets", None)
        for key, value in extra_keys.items():
            keys[key.replace("_", "-")] = value
        lines = [f'[project]\nname = "{name}"\nversion = "{version}"\n', "[tool.codeartifact]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in keys.items() if v is not None]
        for region, table in (targets or {}).items():
            lines.append(f"\n[tool.codeartifact.targets.{region}]")
            lines += [f"{k.replace('_', '-')} = {_toml_value(v)}" for k, v in table.items()]
        path = root / "pyproject.toml"
        path.write_text("\n".join(lines) + "\n" + extra)
        return path
