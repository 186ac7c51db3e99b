"""Local regions: one real pypiserver per region, the fake control plane, and moto for STS.

Each region requires the token for reads and uploads (user ``aws``), as CodeArtifact
does; the fake control plane hands that token out and names the region's server as
its repository endpoint, so the publisher's whole AWS path runs unmodified.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

from .fake_codeartifact import FakeCodeArtifact, RegionSpec

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
# moto's default account, so a config without domain-owner resolves to the same owner.
DOMAIN, OWNER, REPOSITORY = "acme", "123456789012", "python"
USER = "aws"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRegion:
    """A real pypiserver on 127.0.0.1 standing in for one region's repository."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.packages = root / "packages"
        self.packages.mkdir(parents=True, exist_ok=True)
        self.htpasswd = root / "htpasswd"
        self.log = root / "server.log"
        self.port = free_port()
        self.token = ""
        self.set_token(secrets.token_urlsafe(48))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def set_token(self, token: str) -> None:
        """Make ``token`` the only accepted password; pypiserver rereads the file on change.

        apr_md5_crypt (htpasswd -m) costs 2 ms a check; sha256_crypt costs 0.8 s, on every
        request, and would make the stand-ins, not the publisher, the bottleneck.
        """
        from passlib.apache import HtpasswdFile

        self.token = token
        htpasswd = HtpasswdFile(str(self.htpasswd), new=True, default_scheme="apr_md5_crypt")
        htpasswd.set_password(USER, token)
        tmp = self.htpasswd.with_suffix(".tmp")
        tmp.write_text(htpasswd.to_string().decode())
        tmp.replace(self.htpasswd)
        # passlib compares mtimes at one-second resolution: make the change visible.
        stamp = time.time() + 2
        os.utime(self.htpasswd, (stamp, stamp))

    def start(self) -> None:
        """Start the server (on the same port after a ``stop``) without waiting for it."""
        if self.process is not None:
            return
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pypiserver", "run", "-p", str(self.port), "-i", "127.0.0.1",
             "-P", str(self.htpasswd), "-a", "update,download,list", "--disable-fallback",
             "--backend", "simple-dir", "--hash-algo", "sha256", str(self.packages)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"pypiserver for {self.name} exited: {self.log.read_text()}")
            try:
                requests.get(self.simple_url, auth=(USER, self.token), timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"pypiserver for {self.name} did not answer in {timeout}s")

    def stop(self) -> None:
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
        self.start()
        self.wait_ready()

    def files(self) -> dict[str, str]:
        """What the region holds: filename -> sha256, read from its storage."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(self.packages.iterdir()) if p.is_file()}

    def clear(self) -> None:
        for path in self.packages.iterdir():
            if path.is_file():
                path.unlink()


class LocalAWS:
    """N local regions plus the control plane and STS; ``env()`` is what a process needs."""

    def __init__(self, regions: Sequence[str] = DEFAULT_REGIONS, *, domain: str = DOMAIN,
                 owner: str = OWNER, repository: str = REPOSITORY) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="localaws-"))
        self.domain, self.owner, self.repository = domain, owner, repository
        self.regions = {name: LocalRegion(name, self.root / name) for name in regions}
        self.fake = FakeCodeArtifact({
            name: RegionSpec(domain, owner, {repository: region.url}, region.token,
                             on_token=region.set_token)
            for name, region in self.regions.items()
        })
        self._sts: Any = None
        self.sts_url = ""

    def __enter__(self) -> LocalAWS:
        try:
            for region in self.regions.values():
                region.start()
            self.fake.__enter__()
            self._start_sts()
            self._write_aws_files()
            for region in self.regions.values():
                region.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for region in self.regions.values():
            region.stop()
        with suppress(Exception):
            self.fake.__exit__()
        if self._sts is not None:
            self._sts.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _start_sts(self) -> None:
        from moto.server import ThreadedMotoServer

        port = free_port()
        self._sts = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._sts.start()
        self.sts_url = f"http://127.0.0.1:{port}"

    def _write_aws_files(self) -> None:
        (self.root / "config").write_text(
            "[default]\nregion = us-east-1\n\n[profile publisher]\nregion = us-east-1\n")
        (self.root / "credentials").write_text(
            "[default]\naws_access_key_id = AKIADEFAULTLOCAL\naws_secret_access_key = local\n\n"
            "[publisher]\naws_access_key_id = AKIAPUBLISHERLOCAL\naws_secret_access_key = local\n")

    # what tests use ----------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_CODEARTIFACT": self.fake.url,
            "AWS_ENDPOINT_URL_STS": self.sts_url,
            "AWS_ACCESS_KEY_ID": "AKIALOCALTESTING",
            "AWS_SECRET_ACCESS_KEY": "local-testing-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(self.root / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.root / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    @contextmanager
    def environment(self) -> Iterator[None]:
        """Set ``env()`` in this process (for in-process runs) and restore it afterwards."""
        saved = {k: os.environ.get(k) for k in [*self.env(), "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
        os.environ.update(self.env())
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def tokens(self) -> list[str]:
        return [region.token for region in self.regions.values()]

    def reset(self) -> None:
        """Empty every region and forget recorded calls, faults and endpoint overrides."""
        self.fake.reset()
        for name, region in self.regions.items():
            region.clear()
            if region.process is None:
                region.restart()
            self.fake.regions[name].repositories = {self.repository: region.url}

    def route(self, region: str, url: str) -> None:
        """Make the control plane name ``url`` (a fault proxy, say) as the region's endpoint."""
        self.fake.regions[region].repositories[self.repository] = url

    def write_pyproject(self, project_dir: Path, regions: Sequence[str] | None = None, *,
                        name: str = "hello-internal", version: str = "1.0.0",
                        extra: str = "") -> Path:
        """A project whose ``[tool.codeartifact]`` points at these regions."""
        project_dir.mkdir(parents=True, exist_ok=True)
        listed = ", ".join(f'"{r}"' for r in (regions or list(self.regions)))
        path = project_dir / "pyproject.toml"
        path.write_text(
            f'[project]\nname = "{name}"\nversion = "{version}"\n\n'
            f'[tool.codeartifact]\ndomain = "{self.domain}"\nrepository = "{self.repository}"\n'
            f'regions = [{listed}]\ndomain-owner = "{self.owner}"\n{extra}'
        )
        return path
