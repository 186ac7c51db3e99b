"""sigv4: the token and endpoint calls signed without botocore, only where botocore would
make them the same way, and botocore's whenever anything is off."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from codeartifact_multiregion import sigv4
from codeartifact_multiregion.aws import Resolver
from codeartifact_multiregion.config import Target
from codeartifact_multiregion.sigv4 import Credentials, Direct, direct_client, signed_headers
from tests.helpers import LoopbackServer, QuietHandler, run_checked, sha256s
from tests.localaws.regions import DOMAIN, ENV_KEY, OWNER, REPOSITORY, SECRET_KEYS

PLAIN = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_CONFIG_FILE": "/nonexistent/config",
}


def _direct(
    environ: dict[str, str], region: str = "eu-west-1", **target: str | None
) -> Direct | None:
    fields = {"profile": None, "role_arn": None, "domain_owner": OWNER, **target}
    return direct_client(
        region,
        fields["profile"],
        fields["role_arn"],
        fields["domain_owner"],
        connect_timeout=5,
        read_timeout=60,
        deadline=900,
        environ=environ,
    )


# --- the signature is botocore's ------------------------------------------------------


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjE//session+token="])
@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        (
            "POST",
            "https://codeartifact.eu-west-1.amazonaws.com/v1/authorization-token",
            {"domain": "acme", "domain-owner": OWNER, "duration": "900"},
        ),
        (
            "GET",
            "http://127.0.0.1:8123/v1/repository/endpoint",
            {
                "domain": "acme",
                "domain-owner": OWNER,
                "repository": "py thon/é~*",
                "format": "pypi",
            },
        ),
    ],
)
def test_signature_is_the_one_botocore_computes(
    method: str, url: str, params: dict[str, str], token: str | None
) -> None:
    """botocore signs the same request at "now"; signed at its instant, ours is identical."""
    query = sigv4.canonical_query(params)
    request = AWSRequest(method=method, url=f"{url}?{query}", data=b"")
    SigV4Auth(
        BotoCredentials("AKIAEXAMPLE", "wJalr/K7MDENG+bPxRfiCY", token), "codeartifact", "eu-west-1"
    ).add_auth(request)
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc
    )
    host = url.split("/")[2]
    ours = signed_headers(
        method,
        host,
        "/" + url.split("/", 3)[3],
        params,
        b"",
        Credentials("AKIAEXAMPLE", "wJalr/K7MDENG+bPxRfiCY", token),
        "eu-west-1",
        when,
    )
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")


# --- who signs: here only where botocore would do the same ----------------------------


def test_plain_environment_signs_here_for_the_regional_endpoint() -> None:
    direct = _direct(PLAIN)
    assert direct is not None
    assert direct.endpoint == "https://codeartifact.eu-west-1.amazonaws.com"
    assert direct.read_timeout == 30.0 and direct.deadline == 30.0


def test_aws_ca_bundle_is_trusted_as_botocore_trusts_it() -> None:
    direct = _direct({**PLAIN, "AWS_CA_BUNDLE": "/etc/corp-ca.pem"})
    assert direct is not None and direct.cafile == "/etc/corp-ca.pem"
    plain = _direct(PLAIN)
    assert plain is not None and plain.cafile and plain.cafile.endswith(".pem")  # certifi's


@pytest.mark.parametrize(
    ("variable", "value", "endpoint"),
    [
        (
            "AWS_ENDPOINT_URL_CODEARTIFACT",
            "https://vpce-1.codeartifact.example:8443/",
            "https://vpce-1.codeartifact.example:8443",
        ),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ],
)
def test_endpoint_overrides_are_followed(variable: str, value: str, endpoint: str) -> None:
    direct = _direct({**PLAIN, variable: value})
    assert direct is not None and direct.endpoint == endpoint


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_ACCESS_KEY_ID": ""},
        {"AWS_SECRET_ACCESS_KEY": ""},
        {"AWS_PROFILE": "dev"},
        {"AWS_USE_FIPS_ENDPOINT": "true"},
        {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
        {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
        {"AWS_DATA_PATH": "/opt/models"},
        {"HTTPS_PROXY": "http://proxy:3128"},
        {"AWS_ENDPOINT_URL_CODEARTIFACT": "http://codeartifact.example"},  # token over plain http
        {"AWS_ENDPOINT_URL_CODEARTIFACT": "https://gw.example/codeartifact"},  # a path prefix
        {"AWS_ENDPOINT_URL_CODEARTIFACT": "https://user:pw@gw.example"},
        {"AWS_ENDPOINT_URL_CODEARTIFACT": "https://[::1"},
    ],
    ids=lambda change: ",".join(f"{k}={v}" for k, v in change.items()),
)
def test_any_setting_it_does_not_model_leaves_the_call_to_botocore(change: dict[str, str]) -> None:
    assert _direct({**PLAIN, **change}) is None


@pytest.mark.parametrize(
    "target", [{"profile": "dev"}, {"role_arn": "arn:aws:iam::1:role/r"}, {"domain_owner": None}]
)
def test_a_profile_role_or_missing_owner_is_botocore_s(target: dict[str, str | None]) -> None:
    assert _direct(PLAIN, **target) is None


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1", "us-iso-east-1"])
def test_regions_outside_the_aws_partition_are_botocore_s(region: str) -> None:
    assert _direct(PLAIN, region=region) is None
    assert _direct({**PLAIN, "AWS_ENDPOINT_URL": "https://ca.example"}, region=region)


@pytest.mark.parametrize(
    ("text", "signs_here"),
    [
        ("[default]\nregion = eu-west-1\noutput = json\n[profile other]\nendpoint_url = x\n", True),
        ("[default]\nregion = eu-west-1\nendpoint_url = https://gw.example\n", False),
        ("[default]\nca_bundle = /etc/ca.pem\n", False),
        (
            "[default]\nservices = mine\n[services mine]\ncodeartifact =\n  endpoint_url = x\n",
            False,
        ),
        ("region = eu-west-1\n[default\n", False),  # malformed: botocore reports it
    ],
)
def test_the_config_file_s_default_profile_is_read(
    tmp_path: Path, text: str, signs_here: bool
) -> None:
    config = tmp_path / "config"
    config.write_text(text)
    assert (_direct({**PLAIN, "AWS_CONFIG_FILE": str(config)}) is not None) is signs_here


def test_expiration_is_read_as_epoch_seconds() -> None:
    assert sigv4.parse_expiration(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert sigv4.parse_expiration("soon") is None
    assert sigv4.parse_expiration(True) is None
    assert sigv4.parse_expiration(1e300) is None


# --- against the stand-ins: the fake checks every signature ---------------------------


def _target(name: str) -> Target:
    return Target(region=name, domain=DOMAIN, repository=REPOSITORY, domain_owner=OWNER)


def test_a_plain_run_resolves_without_botocore(regions) -> None:
    """Token and endpoint come from the signed-here calls, which the fake verified."""
    endpoints = Resolver().resolve_all([_target(n) for n in regions.regions])
    assert [e.token for e in endpoints] == [regions.regions[n].token for n in regions.regions]
    assert [e.url for e in endpoints] == [regions.regions[n].url for n in regions.regions]
    calls = [
        c
        for c in regions.fake.calls
        if c.operation in ("GetAuthorizationToken", "GetRepositoryEndpoint")
    ]
    assert len(calls) == 2 * len(regions.regions)
    assert {(c.signer, c.status, c.access_key) for c in calls} == {("direct", 200, ENV_KEY)}
    assert all(e.expiration is not None and e.expiration.tzinfo for e in endpoints)


def test_a_refused_signed_call_is_made_again_by_botocore(regions) -> None:
    """AccessDenied once: botocore asks again and gets the token; the error text and retry
    rules stay botocore's."""
    name = next(iter(regions.regions))
    regions.fake.fail(name, "GetAuthorizationToken", "AccessDeniedException", 403)
    (endpoint,) = Resolver().resolve_all([_target(name)])
    assert endpoint.token == regions.regions[name].token
    calls = regions.fake.recorded("GetAuthorizationToken", name)
    assert [(c.signer, c.status) for c in calls] == [("direct", 403), ("botocore", 200)]


def test_a_bad_signature_is_refused_by_the_fake(regions) -> None:
    """The check the two tests above rely on: a wrong secret does not get a token."""
    name = next(iter(regions.regions))
    wrong = Direct(regions.fake.url, name, Credentials(ENV_KEY, "not-" + SECRET_KEYS[ENV_KEY]))
    right = Direct(regions.fake.url, name, Credentials(ENV_KEY, SECRET_KEYS[ENV_KEY]))
    params = {"domain": DOMAIN, "domain-owner": OWNER, "duration": "900"}
    assert wrong.call("POST", "/v1/authorization-token", params) is None
    answer = right.call("POST", "/v1/authorization-token", params)
    assert answer is not None and answer["authorizationToken"] == regions.regions[name].token
    statuses = [c.status for c in regions.fake.recorded("GetAuthorizationToken", name)]
    assert statuses == [403, 200]


def test_the_cli_publishes_without_importing_botocore(
    regions, project: Path, sample_dists: Path
) -> None:
    """The whole point: a plain publish never loads botocore (about 140 ms of CPU)."""
    dist = sorted(sample_dists.iterdir())
    code = (
        "import json, sys\n"
        "from codeartifact_multiregion.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'botocore')),"
        " file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = run_checked(
        [
            sys.executable,
            "-c",
            code,
            "publish",
            *map(str, dist),
            "--project",
            str(project),
            "--json",
        ],
        regions,
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["ok"] is True
    assert json.loads(result.err.strip().splitlines()[-1]) == []
    for region in regions.regions.values():
        assert region.files() == sha256s(dist)


# --- a hostile control plane: every odd answer steps aside, within the deadline --------


class ControlPlane:
    """A loopback server answering GetAuthorizationToken with what ``mode`` says."""

    def __init__(self, mode: str, context: ssl.SSLContext | None = None) -> None:
        # Whether the client hung up on a trickle before it ended, once ``trickled`` is set.
        self.cut, self.trickled = False, threading.Event()
        plane = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                if mode == "trickle":  # a header every 0.2 s for 12 s: never a read timeout
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    try:
                        for _ in range(60):
                            self.wfile.write(b"X-Slow: 1\r\n")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        plane.cut = True
                    finally:
                        plane.trickled.set()
                    return
                body = {
                    "huge": b"[" + b"1," * sigv4.MAX_BODY + b"1]",
                    "list": b"[1, 2]",
                    "html": b"<html>hi</html>",
                    "ok": b'{"authorizationToken": "t", "expiration": 1}',
                }.get(mode, b'{"message": "no"}')
                self.reply(403 if mode == "denied" else 200, body)

        self.server = LoopbackServer(Handler, context)
        self.url = self.server.url.rstrip("/")

    def call(self, cafile: str | None = None, deadline: float = 30.0) -> dict[str, Any] | None:
        direct = Direct(
            self.url,
            "eu-west-1",
            Credentials("AKIAEXAMPLE", "secret"),
            connect_timeout=10.0,
            read_timeout=10.0,
            deadline=deadline,
            cafile=cafile,
        )
        try:
            return direct.call("POST", "/v1/authorization-token", {"domain": "acme"})
        finally:
            self.server.close()


@pytest.mark.parametrize("mode", ["huge", "list", "html", "denied", "ok"])
def test_any_odd_answer_steps_aside(mode: str) -> None:
    """botocore then asks again, and says what went wrong; a good answer is taken as is."""
    answer = ControlPlane(mode).call()
    assert answer == ({"authorizationToken": "t", "expiration": 1} if mode == "ok" else None)


def test_a_trickling_answer_is_cut_off_at_the_deadline() -> None:
    """Headers a byte now and then never trip the read timeout; the watchdog ends it."""
    plane = ControlPlane("trickle")
    assert plane.call(deadline=1.0) is None
    assert plane.trickled.wait(30)
    assert plane.cut, "the client hung up before the 12 s trickle ended (deadline 1 s)"


def test_tls_is_verified_against_aws_ca_bundle(certificate: tuple[Path, Path]) -> None:
    """An endpoint whose certificate the bundle does not vouch for gets no request."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    assert ControlPlane("ok", context).call() is None  # certifi's roots: refused
    trusted = ControlPlane("ok", context).call(cafile=str(certificate[0]))
    assert trusted == {"authorizationToken": "t", "expiration": 1}
