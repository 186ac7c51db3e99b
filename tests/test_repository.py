"""The repository reader treats CodeArtifact's answers as untrusted, and pages them all.

botocore's Stubber checks every request and answer against the real service model, so
these answers are ones the API could really send; the odd entries in them are what a
compromised or buggy endpoint could. ``RateLimiter.slot`` is checked with a fake clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from codeartifact_multiregion.aws import Endpoint
from codeartifact_multiregion.config import Target
from codeartifact_multiregion.repository import AssetInfo, Refused, Repository, RepositoryError
from codeartifact_multiregion.retry import RateLimiter, RetryPolicy

TARGET = Target(
    region="eu-central-1", domain="acme", repository="python", domain_owner="111122223333"
)
WHERE = {"domain": "acme", "domainOwner": "111122223333", "repository": "python"}
SHA = "ab" * 32


class OneClient:
    """What ``Repository`` needs of a ``Resolver``: the target's client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, target: Target) -> Any:
        return self._client


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client(
        "codeartifact",
        region_name=TARGET.region,
        aws_access_key_id="AKIATESTING",
        aws_secret_access_key="x",
    )
    with Stubber(client) as stub:
        endpoint = Endpoint(
            TARGET, "https://example.invalid/", "111122223333", "token", lambda: ("token", None)
        )
        repo = Repository(
            endpoint,
            OneClient(client),  # type: ignore[arg-type]
            RetryPolicy(attempts=2, backoff=0.0),
            sleep=lambda s: None,
        )
        yield repo, stub
        stub.assert_no_pending_responses()


def test_packages_follow_every_token_and_refuse_odd_names(stubbed: Any) -> None:
    repo, stub = stubbed
    params = {**WHERE, "format": "pypi", "maxResults": 1000}
    stub.add_response(
        "list_packages",
        {
            "packages": [
                {"format": "pypi", "package": "alpha"},
                {"format": "pypi", "package": "Not_Normal"},
                {"format": "pypi", "package": "../../etc"},
            ],
            "nextToken": "t1",
        },
        params,
    )
    stub.add_response(
        "list_packages",
        {
            "packages": [
                {"format": "npm", "package": "lodash"},
                {"format": "pypi", "package": "beta-pkg"},
                {"format": "pypi", "package": "alpha"},
            ]
        },
        {**params, "nextToken": "t1"},
    )
    refused = Refused()
    assert repo.packages(refused) == ["alpha", "beta-pkg"]
    assert len(refused.entries) == 3
    assert any("'Not_Normal': not a normalized" in e for e in refused.entries)
    assert any("'../../etc'" in e for e in refused.entries)
    assert any("'lodash': not a PyPI package" in e for e in refused.entries)


def test_a_token_seen_twice_stops_the_listing(stubbed: Any) -> None:
    repo, stub = stubbed
    params = {**WHERE, "format": "pypi", "maxResults": 1000}
    stub.add_response("list_packages", {"packages": [], "nextToken": "loop"}, params)
    stub.add_response(
        "list_packages", {"packages": [], "nextToken": "loop"}, {**params, "nextToken": "loop"}
    )
    with pytest.raises(RepositoryError, match="returned before"):
        repo.packages(Refused())


def test_versions_refuse_unknown_statuses_and_path_like_versions(stubbed: Any) -> None:
    repo, stub = stubbed
    origin = {"originType": "INTERNAL"}
    stub.add_response(
        "list_package_versions",
        {
            "versions": [
                {"version": "1.0", "revision": "r", "status": "Published", "origin": origin},
                {"version": "../1.0", "revision": "r", "status": "Published", "origin": origin},
                {
                    "version": "2.0",
                    "revision": "r",
                    "status": "Unlisted",
                    "origin": {"originType": "EXTERNAL"},
                },
            ]
        },
        {**WHERE, "format": "pypi", "package": "alpha", "maxResults": 1000},
    )
    refused = Refused()
    found = repo.versions("alpha", refused)
    assert [(v.version, v.status, v.origin) for v in found] == [
        ("1.0", "Published", "INTERNAL"),
        ("2.0", "Unlisted", "EXTERNAL"),
    ]
    assert refused.entries == ["'../1.0': not a version of alpha"]


def test_a_missing_package_is_empty_not_an_error(stubbed: Any) -> None:
    repo, stub = stubbed
    stub.add_client_error("list_package_versions", "ResourceNotFoundException", "gone", 404)
    assert repo.versions("alpha", Refused()) == []
    stub.add_client_error("list_packages", "AccessDeniedException", "no", 403)
    with pytest.raises(RepositoryError, match="codeartifact:ListPackages"):
        repo.packages(Refused())


def test_assets_are_plain_files_of_this_version_with_real_hashes(stubbed: Any) -> None:
    repo, stub = stubbed
    good = {"name": "alpha-1.0-py3-none-any.whl", "size": 10, "hashes": {"SHA-256": SHA}}
    stub.add_response(
        "list_package_version_assets",
        {
            "assets": [
                good,
                {"name": "../../alpha-1.0.tar.gz", "size": 1, "hashes": {"SHA-256": SHA}},
                {"name": "beta-1.0.tar.gz", "size": 1, "hashes": {"SHA-256": SHA}},
                {"name": "alpha-9.9.tar.gz", "size": 1, "hashes": {"SHA-256": SHA}},
                {"name": "alpha-1.0.tar.gz", "size": 1, "hashes": {"SHA-256": "z" * 64}},
                {"name": "alpha-1.0.zip", "size": 1, "hashes": {"MD5": "0" * 32}},
            ]
        },
        {
            **WHERE,
            "format": "pypi",
            "package": "alpha",
            "packageVersion": "1.0",
            "maxResults": 1000,
        },
    )
    refused = Refused()
    assert repo.assets("alpha", "1.0", refused) == [
        AssetInfo("alpha-1.0-py3-none-any.whl", SHA, 10)
    ]
    reasons = " | ".join(refused.entries)
    assert "'../../alpha-1.0.tar.gz': not a plain file name" in reasons
    assert "'beta-1.0.tar.gz': a file of another package" in reasons
    assert "'alpha-9.9.tar.gz': not a file of version 1.0" in reasons
    assert reasons.count("its SHA-256 is not 64 hex digits") == 2


def test_a_download_must_have_the_listed_size_and_hash(stubbed: Any, tmp_path: Path) -> None:
    import io

    from botocore.response import StreamingBody

    repo, stub = stubbed
    data = b"x" * 10
    asset = AssetInfo("alpha-1.0-py3-none-any.whl", SHA, 10)
    expected = {
        **WHERE,
        "format": "pypi",
        "package": "alpha",
        "packageVersion": "1.0",
        "asset": asset.name,
    }
    stub.add_response(
        "get_package_version_asset", {"asset": StreamingBody(io.BytesIO(data), len(data))}, expected
    )
    dest = tmp_path / "out.whl"
    with pytest.raises(RepositoryError, match="is not the listed"):
        repo.download("alpha", "1.0", asset, dest)
    assert not dest.exists()
    long = data * 3
    stub.add_response(
        "get_package_version_asset", {"asset": StreamingBody(io.BytesIO(long), len(long))}, expected
    )
    with pytest.raises(RepositoryError, match="runs past the 10 bytes listed"):
        repo.download("alpha", "1.0", asset, dest)
    assert not dest.exists()


def test_status_failures_are_reported(stubbed: Any) -> None:
    repo, stub = stubbed
    stub.add_response(
        "update_package_versions_status",
        {
            "successfulVersions": {},
            "failedVersions": {
                "1.0": {"errorCode": "MISMATCHED_STATUS", "errorMessage": "status is Archived"}
            },
        },
        {
            **WHERE,
            "format": "pypi",
            "package": "alpha",
            "versions": ["1.0"],
            "targetStatus": "Unlisted",
            "expectedStatus": "Published",
        },
    )
    with pytest.raises(RepositoryError, match="MISMATCHED_STATUS status is Archived"):
        repo.set_status("alpha", "1.0", "Unlisted", "Published")


def test_slot_counts_a_call_from_its_answer() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, sleep=sleep, clock=lambda: now[0])
    with limiter.slot():
        now[0] = 0.5  # the answer comes half a second later
    with limiter.slot():
        pass
    assert waits == []
    with limiter.slot():  # the window holds answers at 0.5 and 0.5: wait until 1.5
        pass
    assert now[0] == pytest.approx(1.5)
    with limiter.slot(), limiter.slot():
        pass  # one answer at 1.5 plus one call in flight fill the window: wait until 2.5
    assert now[0] == pytest.approx(2.5)
