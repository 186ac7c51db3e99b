"""Fixtures: local regions started once per worker, emptied before each test that uses them.

With pytest-xdist every worker is its own session, so each gets its own LocalAWS: its
own temp dir and kernel-chosen loopback ports, nothing shared between workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.regions import LocalAWS


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAWS]:
    """Three regions, the control plane and STS, for the whole worker session."""
    with LocalAWS() as aws:
        yield aws


@pytest.fixture
def regions(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAWS]:
    """Empty regions (stopped ones revived, faults and calls forgotten), env applied."""
    local_aws.reset()
    local_aws.apply_env(monkeypatch)
    yield local_aws


@pytest.fixture
def project(tmp_path: Path, local_aws: LocalAWS) -> Path:
    """A project directory (``tmp_path``) whose pyproject.toml targets every local region."""
    local_aws.write_pyproject(tmp_path)
    return tmp_path


@pytest.fixture
def sample_dists(tmp_path: Path) -> Path:
    """hello-internal 1.0.0 as a wheel and an sdist in ``tmp_path/dist`` (the default dist-dir)."""
    dist = tmp_path / "dist"
    make_wheel(dist, "hello-internal", "1.0.0")
    make_sdist(dist, "hello-internal", "1.0.0")
    return dist


@pytest.fixture
def two_releases_in_primary(regions: LocalAWS, project: Path) -> dict[str, str]:
    """1.0.0 and 1.1.0 (wheel + sdist each) published to the primary region only."""
    from tests.replication import publish, release

    primary = next(iter(regions.regions))
    for version in ("1.0.0", "1.1.0"):
        publish(project, release(project, version), [primary])
    held = regions.regions[primary].files()
    assert len(held) == 4
    return held


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key): TLS servers in the tests."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
