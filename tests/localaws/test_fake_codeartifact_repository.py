"""The repository-reading operations of the fake control plane, through real boto3, against
real pypiserver regions holding files that plain twine published.

What the replication engine relies on: every listed asset's SHA-256 is the file's, every
List* result pages (page size 1 here) and boto3's own paginators follow the tokens, status
and origin marks filter and act on the index as CodeArtifact documents, quotas answer 429
ThrottlingException, and every route and response member is one botocore's model knows
(botocore silently drops members it does not know, so a typo would pass unnoticed).
"""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import Shape

from tests.helpers import sha256_of, twine_upload
from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.events import DETAIL_TYPE, SOURCE, package_version_state_change, sample_event
from tests.localaws.fake_codeartifact import (
    _ROUTES,
    BODY_MEMBERS,
    DEFAULT_QUOTAS,
    OPERATIONS,
    QUERY_PARAMS,
    QUOTA_OF,
)
from tests.localaws.regions import LocalAWS, LocalRegion

# total_max_attempts: "max_attempts" counts retries, so 1 would still mean two attempts.
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
MODEL = botocore.session.get_session().get_service_model("codeartifact")
WHERE = {"domain": "acme", "domainOwner": "111122223333", "repository": "python"}
PYPI = {**WHERE, "format": "pypi"}


class Raw:
    """A boto3 client that also keeps each response's raw JSON, to check it against the model."""

    def __init__(self, region: str) -> None:
        self.client: Any = boto3.client("codeartifact", region_name=region, config=NO_RETRY)
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("after-call.codeartifact", self._keep)

    def _keep(self, http_response: Any, model: Any, **_: Any) -> None:
        if not model.has_streaming_output and http_response.status_code == 200:
            self.bodies.append((model.name, json.loads(http_response.content or b"{}")))


def unknown_members(shape: Shape, value: Any, where: str = "") -> list[str]:
    """Paths in ``value`` that ``shape`` does not declare (recursively)."""
    if shape.type_name == "structure":
        found = []
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                found.append(f"{where}.{key}")
            else:
                found += unknown_members(member, item, f"{where}.{key}")
        return found
    if shape.type_name == "list":
        return [
            p
            for i, item in enumerate(value)
            for p in unknown_members(shape.member, item, f"{where}[{i}]")
        ]
    if shape.type_name == "map":
        bad = [f"{where} key {k}" for k in value if shape.key.enum and k not in shape.key.enum]
        return bad + [
            p
            for k, item in value.items()
            for p in unknown_members(shape.value, item, f"{where}[{k}]")
        ]
    if value not in (getattr(shape, "enum", None) or [value]):
        return [f"{where}={value!r}"]
    return []


@pytest.fixture
def published(regions: LocalAWS, tmp_path: Path) -> dict[str, Path]:
    """alpha 1.0/1.1/2.0 (2.0 as wheel and sdist), beta 0.1 and Gamma.Pkg 3.0 in us-east-1."""
    dist = tmp_path / "dist"
    files = [
        make_wheel(dist, "alpha", "1.0"),
        make_wheel(dist, "alpha", "1.1"),
        make_wheel(dist, "alpha", "2.0"),
        make_sdist(dist, "alpha", "2.0"),
        make_wheel(dist, "beta", "0.1"),
        make_wheel(dist, "Gamma.Pkg", "3.0"),
    ]
    twine_upload(regions.regions["us-east-1"], files)
    return {f.name: f for f in files}


def follow(call: Any, key: str, **params: Any) -> tuple[list[Any], int]:
    """Every item of a List* call by following nextToken by hand, and the page count."""
    items, pages, token = [], 0, None
    while True:
        page = call(**params, **({"nextToken": token} if token else {}))
        items += page[key]
        pages += 1
        token = page.get("nextToken")
        if not token:
            return items, pages


# Query members of newer botocore models than the lowest one pyproject.toml allows.
NEWER_MEMBERS = {"endpointType"}


def test_routes_params_and_quotas_are_the_models() -> None:
    for (method, uri), operation in _ROUTES.items():
        http = MODEL.operation_model(operation).http
        assert (http["method"], http["requestUri"]) == (method, uri), operation
    for operation in OPERATIONS:
        shape = MODEL.operation_model(operation).input_shape
        query = {
            m.serialization.get("name")
            for m in shape.members.values()
            if m.serialization.get("location") == "querystring"
        }
        body = {n for n, m in shape.members.items() if not m.serialization.get("location")}
        # The fake also reads members newer models added (the floor's botocore lacks them).
        assert query <= set(QUERY_PARAMS[operation]), operation
        assert set(QUERY_PARAMS[operation]) - query <= NEWER_MEMBERS, operation
        assert set(BODY_MEMBERS.get(operation, ())) == body, operation
    assert set(QUOTA_OF) == set(OPERATIONS) and set(QUOTA_OF.values()) == set(DEFAULT_QUOTAS)


def test_every_listing_pages_and_matches_the_files(
    regions: LocalAWS, published: dict[str, Path]
) -> None:
    regions.fake.page_size = 1
    raw = Raw("us-east-1")
    ca = raw.client
    packages, pages = follow(ca.list_packages, "packages", **WHERE)
    assert [p["package"] for p in packages] == ["alpha", "beta", "gamma-pkg"]
    assert pages == 3 == len(regions.fake.recorded("ListPackages"))
    assert packages[0] == {
        "format": "pypi",
        "package": "alpha",
        "originConfiguration": {"restrictions": {"publish": "ALLOW", "upstream": "ALLOW"}},
    }

    versions, pages = follow(ca.list_package_versions, "versions", **PYPI, package="Alpha")
    assert [v["version"] for v in versions] == ["1.0", "1.1", "2.0"] and pages == 3
    assert {(v["status"], v["origin"]["originType"]) for v in versions} == {
        ("Published", "INTERNAL")
    }
    assert versions[0]["origin"]["domainEntryPoint"] == {"repositoryName": "python"}

    assets, pages = follow(
        ca.list_package_version_assets, "assets", **PYPI, package="alpha", packageVersion="2.0"
    )
    assert pages == 2
    assert {a["name"]: a["hashes"]["SHA-256"] for a in assets} == {
        n: sha256_of(published[n]) for n in ("alpha-2.0-py3-none-any.whl", "alpha-2.0.tar.gz")
    }
    assert {a["name"]: a["size"] for a in assets} == {
        n: published[n].stat().st_size for n in ("alpha-2.0-py3-none-any.whl", "alpha-2.0.tar.gz")
    }

    # boto3's own paginators follow the same tokens, whatever page size they ask for.
    listed = [
        p["package"]
        for page in ca.get_paginator("list_packages").paginate(
            **WHERE, PaginationConfig={"PageSize": 50}
        )
        for p in page["packages"]
    ]
    assert listed == ["alpha", "beta", "gamma-pkg"]
    by_time = [
        v["version"]
        for page in ca.get_paginator("list_package_versions").paginate(
            **PYPI, package="alpha", sortBy="PUBLISHED_TIME"
        )
        for v in page["versions"]
    ]
    assert sorted(by_time) == ["1.0", "1.1", "2.0"]
    asset_names = [
        a["name"]
        for page in ca.get_paginator("list_package_version_assets").paginate(
            **PYPI, package="alpha", packageVersion="2.0"
        )
        for a in page["assets"]
    ]
    assert len(asset_names) == 2

    prefixed = ca.list_packages(**WHERE, packagePrefix="Gamma_P")
    assert [p["package"] for p in prefixed["packages"]] == ["gamma-pkg"]
    assert "nextToken" not in prefixed
    assert ca.list_package_versions(**PYPI, package="alpha")["defaultDisplayVersion"] == "2.0"

    for operation, body in raw.bodies:
        assert not unknown_members(MODEL.operation_model(operation).output_shape, body), operation
    assert {op for op, _ in raw.bodies} == {
        "ListPackages",
        "ListPackageVersions",
        "ListPackageVersionAssets",
    }

    other = Raw("eu-west-1").client
    assert other.list_packages(**WHERE)["packages"] == []
    with pytest.raises(ClientError) as err:
        other.list_package_versions(**PYPI, package="alpha")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_tokens_from_elsewhere_are_refused(regions: LocalAWS, published: dict[str, Path]) -> None:
    regions.fake.page_size = 1
    ca = Raw("us-east-1").client
    token = ca.list_packages(**WHERE)["nextToken"]
    for bad in (token + "x", "not-a-token"):
        with pytest.raises(ClientError) as err:
            ca.list_packages(**WHERE, nextToken=bad)
        assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:  # a ListPackages token given to another call
        ca.list_package_versions(**PYPI, package="alpha", nextToken=token)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_large_asset_streams_without_holding_it(regions: LocalAWS, tmp_path: Path) -> None:
    region = regions.regions["us-east-1"]
    wheel = make_wheel(tmp_path / "dist", "big", "1.0", payload_bytes=48 << 20, seed=3)
    twine_upload(region, [wheel])
    raw = Raw("us-east-1")
    tracemalloc.start()
    try:
        answer = raw.client.get_package_version_asset(
            **PYPI, package="big", packageVersion="1.0", asset=wheel.name
        )
        digest, size = hashlib.sha256(), 0
        for chunk in answer["asset"].iter_chunks(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (digest.hexdigest(), size) == (sha256_of(wheel), wheel.stat().st_size)
    assert peak < 16 << 20, f"peak {peak} bytes for a {size}-byte asset"
    listed = raw.client.list_package_versions(**PYPI, package="big")["versions"][0]
    assert (answer["assetName"], answer["packageVersion"], answer["packageVersionRevision"]) == (
        wheel.name,
        "1.0",
        listed["revision"],
    )
    with pytest.raises(ClientError) as err:
        raw.client.get_package_version_asset(
            **PYPI, package="big", packageVersion="1.0", asset="other.whl"
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def simple_page(region: LocalRegion, package: str) -> str:
    answer = requests.get(f"{region.simple_url}{package}/", auth=region.auth, timeout=10)
    return answer.text if answer.status_code == 200 else ""


def test_status_and_origin_marks_filter_and_act_on_the_index(
    regions: LocalAWS, published: dict[str, Path]
) -> None:
    region = regions.regions["us-east-1"]
    ca = Raw("us-east-1").client
    region.set_version("alpha", "1.0", status="Unlisted", origin="EXTERNAL")
    region.set_version("Alpha", "1.1", origin="UNKNOWN")

    def versions(**filters: str) -> list[str]:
        return [
            v["version"]
            for page in ca.get_paginator("list_package_versions").paginate(
                **PYPI, package="alpha", **filters
            )
            for v in page["versions"]
        ]

    assert versions(status="Unlisted") == ["1.0"]
    assert versions(status="Published") == ["1.1", "2.0"]
    assert versions(originType="EXTERNAL") == ["1.0"]
    assert versions(originType="INTERNAL") == ["2.0"]
    first = ca.list_package_versions(**PYPI, package="alpha", maxResults=1)["versions"][0]
    assert first["origin"] == {
        "originType": "EXTERNAL",
        "domainEntryPoint": {"externalConnectionName": "public:pypi"},
    }

    # Archived: gone from the index and from downloads, still listed with its assets.
    wheel = "alpha-2.0-py3-none-any.whl"
    assert wheel in simple_page(region, "alpha")
    done = ca.update_package_versions_status(
        **PYPI, package="alpha", versions=["2.0", "9.9"], targetStatus="Archived"
    )
    assert done["successfulVersions"]["2.0"]["status"] == "Archived"
    assert done["failedVersions"]["9.9"]["errorCode"] == "NOT_FOUND"
    assert wheel not in simple_page(region, "alpha") and wheel not in region.files()
    assert (
        requests.get(f"{region.url}packages/{wheel}", auth=region.auth, timeout=10).status_code
        == 404
    )
    assets = ca.list_package_version_assets(
        **PYPI, package="alpha", packageVersion="2.0", maxResults=10
    )["assets"]
    assert {a["name"]: a["hashes"]["SHA-256"] for a in assets}[wheel] == sha256_of(published[wheel])
    with pytest.raises(ClientError) as err:
        ca.get_package_version_asset(**PYPI, package="alpha", packageVersion="2.0", asset=wheel)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"

    # Guards: expected status and revision must match; Disposed/Deleted are not targets.
    refused = ca.update_package_versions_status(
        **PYPI,
        package="alpha",
        versions=["2.0"],
        targetStatus="Published",
        expectedStatus="Published",
    )
    assert refused["failedVersions"]["2.0"]["errorCode"] == "MISMATCHED_STATUS"
    refused = ca.update_package_versions_status(
        **PYPI,
        package="alpha",
        versions=["2.0"],
        targetStatus="Published",
        versionRevisions={"2.0": "stale"},
    )
    assert refused["failedVersions"]["2.0"]["errorCode"] == "MISMATCHED_REVISION"
    with pytest.raises(ClientError) as err:
        ca.update_package_versions_status(
            **PYPI, package="alpha", versions=["2.0"], targetStatus="Disposed"
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"

    restored = ca.update_package_versions_status(
        **PYPI,
        package="alpha",
        versions=["2.0"],
        targetStatus="Published",
        expectedStatus="Archived",
    )
    assert restored["successfulVersions"]["2.0"]["status"] == "Published"
    assert region.files()[wheel] == sha256_of(published[wheel])
    assert wheel in simple_page(region, "alpha")
    calls = regions.fake.recorded("UpdatePackageVersionsStatus", "us-east-1")
    assert calls[0].body == {"versions": ["2.0", "9.9"], "targetStatus": "Archived"}
    assert calls[0].params["package"] == "alpha"

    # Disposed: the files are deleted for good; the version stays, with no assets.
    region.set_version("beta", "0.1", status="Disposed")
    assert "beta-0.1-py3-none-any.whl" not in region.files()
    beta = ca.list_package_versions(**PYPI, package="beta")["versions"]
    assert [(v["version"], v["status"]) for v in beta] == [("0.1", "Disposed")]
    assert (
        ca.list_package_version_assets(**PYPI, package="beta", packageVersion="0.1")["assets"] == []
    )
    again = ca.update_package_versions_status(
        **PYPI, package="beta", versions=["0.1"], targetStatus="Published"
    )
    assert again["failedVersions"]["0.1"]["errorCode"] == "NOT_ALLOWED"
    with pytest.raises(KeyError):
        region.set_version("alpha", "7.0", status="Unlisted")  # no files: no such version


@pytest.fixture
def frozen(regions: LocalAWS) -> Iterator[list[float]]:
    """The fake's clock, stopped at 1000.0; a test steps it by assigning ``now[0]``."""
    now = [1000.0]
    regions.fake.clock = lambda: now[0]
    yield now


def test_over_quota_is_throttled_per_region_and_window(
    regions: LocalAWS, frozen: list[float]
) -> None:
    regions.fake.set_quota("ListPackages", 2)
    east, west = Raw("us-east-1").client, Raw("eu-west-1").client
    east.list_packages(**WHERE)
    east.list_packages(**WHERE)
    with pytest.raises(ClientError) as err:
        east.list_packages(**WHERE)
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    west.list_packages(**WHERE)  # another region has its own quota
    frozen[0] += 0.999
    with pytest.raises(ClientError):
        east.list_packages(**WHERE)
    frozen[0] += 0.001  # the first grants leave the one-second window
    east.list_packages(**WHERE)
    calls = regions.fake.recorded("ListPackages", "us-east-1")
    assert [(c.status, c.at) for c in calls] == [
        (200, 1000.0),
        (200, 1000.0),
        (429, 1000.0),
        (429, 1000.999),
        (200, 1001.0),
    ]


def test_default_token_quota_is_codeartifacts_forty(regions: LocalAWS, frozen: list[float]) -> None:
    ca = Raw("ap-southeast-2").client
    for _ in range(DEFAULT_QUOTAS["GetAuthorizationToken"]):
        ca.get_authorization_token(domain="acme")
    with pytest.raises(ClientError) as err:
        ca.get_authorization_token(domain="acme")
    assert err.value.response["Error"]["Code"] == "ThrottlingException"


def test_events_have_the_documented_shape(regions: LocalAWS, published: dict[str, Path]) -> None:
    sample = sample_event()
    built = package_version_state_change(
        region="us-west-2",
        domain="my_domain",
        domain_owner="111122223333",
        repository="myrepo",
        package="mypackage",
        version="1.0.0",
        package_format="npm",
        account="123456789012",
        repository_administrator="123456789012",
        revision=sample["detail"]["packageVersionRevision"],
        assets_added=1,
        metadata_updated=True,
        status_changed=True,
        event_id=sample["id"],
        deduplication_id=sample["detail"]["eventDeduplicationId"],
        time=datetime(2019, 11, 21, 23, 19, 54, tzinfo=timezone.utc),
    )
    assert built == sample
    assert (sample["detail-type"], sample["source"]) == (DETAIL_TYPE, SOURCE)

    event = regions.version_event("us-east-1", "Alpha", "2.0", assets_added=2)
    listed = Raw("us-east-1").client.list_package_versions(**PYPI, package="alpha")
    revision = {v["version"]: v["revision"] for v in listed["versions"]}["2.0"]
    detail = event["detail"]
    assert (detail["packageName"], detail["packageVersionRevision"]) == ("alpha", revision)
    assert event["resources"] == [
        "arn:aws:codeartifact:us-east-1:111122223333:package/acme/python/pypi//alpha"
    ]
    regions.regions["us-east-1"].set_version("alpha", "2.0", status="Archived")
    assert (
        regions.version_event("us-east-1", "alpha", "2.0")["detail"]["packageVersionState"]
        == "Archived"
    )


def test_hash_cache_sees_a_file_rewritten_in_place(regions: LocalAWS, tmp_path: Path) -> None:
    """Cached by (path, mtime, size): bytes changed behind the index's back are rehashed."""
    region = regions.regions["eu-west-1"]
    wheel = make_wheel(tmp_path / "a", "tampered", "1.0", payload_bytes=1000, seed=1)
    twine_upload(region, [wheel])
    ca = Raw("eu-west-1").client
    query = {**PYPI, "package": "tampered", "packageVersion": "1.0"}

    def listed() -> tuple[str, str]:
        answer = ca.list_package_version_assets(**query)
        return answer["assets"][0]["hashes"]["SHA-256"], answer["versionRevision"]

    before = listed()
    assert before[0] == sha256_of(wheel)
    other = make_wheel(tmp_path / "b", "tampered", "1.0", payload_bytes=1000, seed=2)
    stored = region.packages / wheel.name
    stored.write_bytes(other.read_bytes())  # same name and size, other bytes
    stamp = stored.stat().st_mtime + 5
    os.utime(stored, (stamp, stamp))
    after = listed()
    assert after[0] == sha256_of(other) and after[1] != before[1]


def test_only_distribution_file_names_make_versions(regions: LocalAWS, tmp_path: Path) -> None:
    region = regions.regions["ap-southeast-2"]
    for junk in ("notes.txt", "no_version.whl", "x.tar.gz.part", "-1.0.tar.gz"):
        (region.packages / junk).write_bytes(b"junk")
    (region.packages / "dir-1.0.tar.gz").mkdir()
    make_sdist(region.packages, "Real_Name", "0.3")
    names = [
        p["package"]
        for p in Raw("ap-southeast-2").client.list_packages(**WHERE, maxResults=10)["packages"]
    ]
    assert names == ["real-name"]
