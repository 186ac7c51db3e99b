"""Resolver: credentials, tokens and endpoints, against the local control plane and a Stubber.

The local fake answers as CodeArtifact does (checked against botocore's model); Stubber
gives the exact error shapes (AccessDenied, ResourceNotFound) for a call at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from codeartifact_multiregion.aws import (
    Endpoint,
    Resolver,
    _endpoint_url,
    describe_origin,
)
from codeartifact_multiregion.config import Target, load_config
from codeartifact_multiregion.errors import ResolveError
from codeartifact_multiregion.retry import RetryPolicy
from codeartifact_multiregion.secrets import MASK, redact
from tests.helpers import FAST

TARGET = Target(region="eu-west-1", domain="acme", repository="python", domain_owner="111122223333")
WHERE = {"domain": "acme", "domainOwner": "111122223333"}


@pytest.fixture
def offline_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Static credentials and no config files: botocore signs, Stubber answers."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CODEARTIFACT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


@pytest.fixture
def stubbed(offline_credentials: None) -> Iterator[tuple[Resolver, Stubber]]:
    resolver = Resolver(policy=FAST, sign_here=False)  # botocore's errors, as Stubber gives them
    with Stubber(resolver.client(TARGET)) as stubber:
        yield resolver, stubber
        stubber.assert_no_pending_responses()


# -- the endpoint URL: the token goes to this origin, so it must be a real repository URL ---


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/python",
            "https://acme-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/python/",
        ),
        ("https://acme.example/pypi/python/", "https://acme.example/pypi/python/"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("http://localhost:9/x", "http://localhost:9/x/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
    ],
)
def test_endpoint_url_accepts_https_and_loopback_http(url: str, expected: str) -> None:
    assert _endpoint_url(TARGET, url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.example/pypi/python/",  # plain http off the machine
        "http://127.0.0.1.evil.example/",  # looks loopback, is not
        "https://aws:secret@acme.example/pypi/",  # userinfo
        "https://acme.example/pypi/?token=x",  # query
        "https://acme.example/pypi/#frag",  # fragment
        "ftp://acme.example/pypi/",
        "file:///etc/passwd",
        "https:///no-host",
        "",
        None,
        42,
        "http://[::1",
        "https://acme.example:99999/pypi/",  # no host or port to trust
    ],
)
def test_endpoint_url_refuses_anything_else_and_names_the_fix(url: object) -> None:
    with pytest.raises(ResolveError) as caught:
        _endpoint_url(TARGET, url)
    message = str(caught.value)
    assert message.startswith("eu-west-1: GetRepositoryEndpoint for acme/python returned")
    assert "AWS_ENDPOINT_URL_CODEARTIFACT" in message
    assert "secret" not in message


def test_a_control_plane_naming_a_bad_endpoint_fails_preflight(regions, project) -> None:
    name = next(iter(regions.regions))
    regions.route(name, "http://repository.example/pypi/python/")
    with pytest.raises(ResolveError) as caught:
        Resolver(policy=FAST).resolve_all(load_config(project).targets)
    message = str(caught.value)
    assert f"{name}: GetRepositoryEndpoint" in message and "nothing was uploaded" in message


# -- against the local control plane ---------------------------------------------------------


def test_resolve_all_gives_each_region_its_endpoint_and_a_registered_token(
    regions, project
) -> None:
    endpoints = Resolver(policy=FAST).resolve_all(load_config(project).targets)
    assert [e.region for e in endpoints] == list(regions.regions)
    for endpoint in endpoints:
        region = regions.regions[endpoint.region]
        assert isinstance(endpoint, Endpoint)
        assert endpoint.url == region.url and endpoint.token == region.token
        assert endpoint.domain_owner == regions.owner
        assert redact(f"x {endpoint.token} y") == f"x {MASK} y", "registered as a secret"
        assert endpoint.token not in repr(endpoint)
    assert len(regions.fake.recorded("GetAuthorizationToken")) == len(regions.regions)


def test_refresh_token_fetches_a_new_one(regions, project) -> None:
    name = next(iter(regions.regions))
    endpoint = Resolver(policy=FAST).resolve_all(load_config(project, [name]).targets)[0]
    new = regions.fake.rotate_token(name, endpoint.token + "-rotated")
    assert endpoint.refresh_token() == new == endpoint.token
    assert len(regions.fake.recorded("GetAuthorizationToken", name)) == 2


# -- the control plane's bounds follow the retry policy --------------------------------------


def test_control_plane_timeouts_and_attempts_follow_the_policy(offline_credentials) -> None:
    config = (
        Resolver(policy=RetryPolicy(attempts=4, connect_timeout=3.0, read_timeout=7.0))
        .client(TARGET)
        .meta.config
    )
    assert (config.connect_timeout, config.read_timeout) == (3.0, 7.0)
    assert config.retries["total_max_attempts"] == 4, "attempts, not retries: 4 in all"
    long = Resolver(policy=RetryPolicy(read_timeout=600.0)).client(TARGET).meta.config
    assert long.read_timeout == 30.0, "control-plane answers are small: capped"


# -- the narrowed model loader: our services only, custom models still first -----------------


def test_the_loader_lists_only_our_services_and_still_makes_both_clients(
    offline_credentials,
) -> None:
    resolver = Resolver(policy=FAST)
    loader = resolver.session(TARGET).get_component("data_loader")
    assert loader.list_available_services("service-2") == ["codeartifact", "sts"]
    assert resolver.client(TARGET).meta.service_model.service_name == "codeartifact"
    sts = resolver.session(TARGET).create_client("sts", region_name=TARGET.region)
    assert sts.meta.service_model.service_name == "sts"


def test_a_model_in_aws_data_path_still_wins(offline_credentials, monkeypatch, tmp_path) -> None:
    # A newer API version of the model, as `AWS_DATA_PATH` (or ~/.aws/models) may hold.
    import json

    from botocore.loaders import Loader

    real = Loader().load_service_model("codeartifact", "service-2")
    real["metadata"].update(apiVersion="2099-01-01", serviceId="codeartifact-from-data-path")
    folder = tmp_path / "models" / "codeartifact" / "2099-01-01"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(real))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    client = Resolver(policy=FAST).client(TARGET)
    assert client.meta.service_model.api_version == "2099-01-01"
    assert client.meta.service_model.service_id == "codeartifact-from-data-path"


# -- error shapes, one call at a time -----------------------------------------------------------


def test_access_denied_on_the_token_names_the_permission(stubbed) -> None:
    resolver, stubber = stubbed
    stubber.add_client_error(
        "get_authorization_token",
        "AccessDeniedException",
        "User is not authorized",
        403,
        expected_params={**WHERE, "durationSeconds": 900},
    )
    with pytest.raises(ResolveError) as caught:
        resolver.resolve(TARGET)
    message = str(caught.value)
    assert message.startswith(
        "eu-west-1: GetAuthorizationToken for acme/python failed: "
        "AccessDeniedException: User is not authorized."
    )
    assert "codeartifact:GetAuthorizationToken and sts:GetServiceBearerToken" in message


def test_access_denied_on_the_endpoint_names_its_permission(stubbed) -> None:
    resolver, stubber = stubbed
    stubber.add_response("get_authorization_token", {"authorizationToken": "tok-STUB-777"})
    stubber.add_client_error("get_repository_endpoint", "AccessDeniedException", "no", 403)
    with pytest.raises(
        ResolveError, match="lacks codeartifact:GetRepositoryEndpoint on acme/python in eu-west-1"
    ):
        resolver.resolve(TARGET)


def test_a_token_answer_without_a_token_is_a_resolve_error(stubbed) -> None:
    resolver, stubber = stubbed
    stubber.add_response("get_authorization_token", {"authorizationToken": ""})
    with pytest.raises(ResolveError, match="answered without a token"):
        resolver.resolve(TARGET)


def endpoint_for(resolver: Resolver) -> Endpoint:
    return Endpoint(
        target=TARGET,
        url="https://acme.example/pypi/python/",
        domain_owner="111122223333",
        token="unused",
        _fetch_token=lambda: "unused",
    )


DESCRIBE = {**WHERE, "repository": "python", "format": "pypi", "package": "hello-internal"}


def test_describe_package_not_found_means_no_origin_controls(stubbed) -> None:
    resolver, stubber = stubbed
    stubber.add_client_error(
        "describe_package", "ResourceNotFoundException", "no package", 404, expected_params=DESCRIBE
    )
    assert describe_origin(endpoint_for(resolver), resolver, "hello-internal") is None


def test_describe_package_access_denied_is_reported_naming_the_permission(stubbed) -> None:
    resolver, stubber = stubbed
    for _ in range(2):  # the first answer is judged, the second is formatted as the error
        stubber.add_client_error("describe_package", "AccessDeniedException", "denied", 403)
    with pytest.raises(ResolveError) as caught:
        describe_origin(endpoint_for(resolver), resolver, "hello-internal")
    assert "codeartifact:DescribePackage" in str(caught.value)


def test_describe_package_returns_the_restrictions(stubbed) -> None:
    resolver, stubber = stubbed
    stubber.add_response(
        "describe_package",
        {
            "package": {
                "format": "pypi",
                "name": "hello-internal",
                "originConfiguration": {"restrictions": {"publish": "ALLOW", "upstream": "BLOCK"}},
            }
        },
        expected_params=DESCRIBE,
    )
    assert describe_origin(endpoint_for(resolver), resolver, "hello-internal") == {
        "publish": "ALLOW",
        "upstream": "BLOCK",
    }


def test_a_throttled_control_plane_is_tried_the_policys_attempts_in_all(regions, project) -> None:
    name = next(iter(regions.regions))
    regions.fake.fail(name, "GetAuthorizationToken", "ThrottlingException", 429, times=0)
    with pytest.raises(ResolveError, match="ThrottlingException"):
        Resolver(policy=FAST).resolve_all(load_config(project, [name]).targets)
    assert len(regions.fake.recorded("GetAuthorizationToken", name)) == FAST.attempts
