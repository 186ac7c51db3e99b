"""The user's AWS configuration is botocore's to read: each setting does what botocore does.

The publisher resolves no credentials, endpoints or signatures itself, so every setting a
user may have (a FIPS endpoint, a VPC endpoint URL in the config or credentials file or a
``services`` section, a CA bundle, both session-token variables, a proxy in any case, an
expired credential) must reach the control plane exactly as botocore sends it. Each test
checks where the request went (the local control plane, or the host a refusing proxy was
asked to CONNECT to: nothing leaves the machine) or the error it met.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeartifact_multiregion.aws.resolver import Resolver
from codeartifact_multiregion.base.config import load_config
from codeartifact_multiregion.base.errors import ResolveError
from tests.forward_proxy import ForwardProxy
from tests.helpers import FAST
from tests.localaws.fake_codeartifact import FakeCodeArtifact
from tests.localaws.regions import LocalAWS

REGION = "us-east-1"
PROXIES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


def resolve(project: Path) -> None:
    Resolver(policy=FAST).resolve_all(load_config(project, [REGION]).targets)


@pytest.fixture
def aws_files(
    regions: LocalAWS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """An empty config and credentials file of the test's own (the session's stay as they are)."""
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\n")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return config, credentials


@pytest.fixture
def refusing_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """The only way out: a proxy that records each CONNECT and refuses it, and no endpoint
    override, so botocore picks the AWS host itself."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_CODEARTIFACT", raising=False)
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        yield proxy


def connected(proxy: ForwardProxy) -> set[str]:
    return {line.removeprefix("CONNECT ") for line in proxy.requests()}


# -- endpoint_url, wherever botocore reads it ----------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        "[profile default]",
        "a services section",
        "the credentials file",
        "a config file named with $VAR",
    ],
)
def test_an_endpoint_url_in_the_aws_files_is_where_the_calls_go(
    where: str,
    regions: LocalAWS,
    project: Path,
    aws_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, credentials = aws_files
    monkeypatch.delenv("AWS_ENDPOINT_URL_CODEARTIFACT")
    url = regions.fake.url
    if where == "[profile default]":
        config.write_text(f"[default]\nregion = us-east-1\nendpoint_url = {url}\n")
    elif where == "a services section":
        config.write_text(
            "[default]\nregion = us-east-1\nservices = local\n\n"
            f"[services local]\ncodeartifact =\n  endpoint_url = {url}\n"
        )
    elif where == "the credentials file":
        credentials.write_text(f"[default]\nendpoint_url = {url}\n")
    else:
        config.write_text(f"[default]\nendpoint_url = {url}\n")
        monkeypatch.setenv("I20_AWS_HOME", str(config.parent))
        monkeypatch.setenv("AWS_CONFIG_FILE", "$I20_AWS_HOME/" + config.name)
    resolve(project)
    calls = regions.fake.recorded(region=REGION)
    assert {c.operation for c in calls} == {"GetAuthorizationToken", "GetRepositoryEndpoint"}


# -- FIPS: botocore's FIPS host, seen at the proxy -----------------------------------------


@pytest.mark.parametrize("where", ["config", "credentials"])
def test_use_fips_endpoint_sends_the_calls_to_the_fips_host(
    where: str,
    regions: LocalAWS,
    project: Path,
    aws_files: tuple[Path, Path],
    refusing_proxy: ForwardProxy,
) -> None:
    config, credentials = aws_files
    if where == "config":
        config.write_text("[default]\nregion = us-east-1\nuse_fips_endpoint = true\n")
    else:
        credentials.write_text("[default]\nuse_fips_endpoint = true\n")
    with pytest.raises(ResolveError):  # the proxy refuses: nothing reaches AWS
        resolve(project)
    assert connected(refusing_proxy) == {"codeartifact-fips.us-east-1.amazonaws.com:443"}
    assert regions.fake.recorded() == []


def test_a_proxy_variable_in_mixed_case_is_used(
    regions: LocalAWS,
    project: Path,
    aws_files: tuple[Path, Path],
    refusing_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("Https_Proxy", refusing_proxy.url)
    with pytest.raises(ResolveError, match="GetAuthorizationToken"):
        resolve(project)
    assert connected(refusing_proxy) == {"codeartifact.us-east-1.amazonaws.com:443"}


# -- ca_bundle: the TLS control plane is trusted through the config file only ------------


@pytest.mark.parametrize("bundle", [True, False])
def test_ca_bundle_in_the_config_decides_whom_tls_trusts(
    bundle: bool,
    regions: LocalAWS,
    project: Path,
    aws_files: tuple[Path, Path],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, _ = aws_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    if bundle:
        config.write_text(f"[default]\nregion = us-east-1\nca_bundle = {certificate[0]}\n")
    with FakeCodeArtifact(
        regions.fake.regions, secret_keys=regions.fake.secret_keys, context=context
    ) as tls:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEARTIFACT", tls.url)
        if bundle:
            resolve(project)
            assert {c.operation for c in tls.recorded()} == {
                "GetAuthorizationToken",
                "GetRepositoryEndpoint",
            }
        else:
            with pytest.raises(ResolveError, match=r"SSL validation failed.*VERIFY_FAILED"):
                resolve(project)
            assert tls.recorded() == [], "no request was sent over an untrusted connection"


# -- credentials from the environment --------------------------------------------------------


def test_with_both_session_token_variables_the_call_carries_botocores_choice(
    regions: LocalAWS, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.session import Session

    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-AAAA")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "security-token-BBBB")
    chosen = Session().get_credentials().token
    resolve(project)
    calls = regions.fake.recorded(region=REGION)
    assert calls and {c.session_token for c in calls} == {chosen}
    assert {c.status for c in calls} == {200}, "signed with it, and the signature checks out"


def test_expired_credentials_are_refused_before_any_call(
    regions: LocalAWS, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z")
    with pytest.raises(ResolveError, match=f"{REGION}: GetAuthorizationToken failed: .*expired"):
        resolve(project)
    assert regions.fake.recorded() == []
