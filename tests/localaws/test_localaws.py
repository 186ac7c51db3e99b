"""The stand-ins behave like the AWS parts they replace, as far as the publisher can tell."""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from twine.package import PackageFile
from twine.repository import Repository

from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.regions import LocalAWS

# total_max_attempts: "max_attempts" counts retries, so 1 would still mean two attempts.
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def codeartifact(region: str) -> object:
    return boto3.client("codeartifact", region_name=region, config=NO_RETRY)


def upload(url: str, token: str, path: Path) -> requests.Response:
    repo = Repository(url, "aws", token, disable_progress_bar=True)
    try:
        return repo.upload(PackageFile.from_filename(str(path), comment=None))
    finally:
        repo.close()


def test_dists_are_valid_reproducible_and_read_by_twine(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", "Hello.World_x", "2.0.1", payload_bytes=3000, seed=1)
    sdist = make_sdist(tmp_path / "a", "Hello.World_x", "2.0.1")
    assert wheel.name == "hello_world_x-2.0.1-py3-none-any.whl"
    assert sdist.name == "hello_world_x-2.0.1.tar.gz"
    for path in (wheel, sdist):
        meta = PackageFile.from_filename(str(path), comment=None).metadata
        assert (meta["name"], meta["version"]) == ("Hello.World_x", "2.0.1")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None
        assert zf.getinfo("hello_world_x/payload.bin").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("hello_world_x/payload.bin").file_size == 3000
        record = zf.read("hello_world_x-2.0.1.dist-info/RECORD").decode()
    assert record.count("sha256=") == 4
    with tarfile.open(sdist) as tar:
        assert "hello_world_x-2.0.1/PKG-INFO" in tar.getnames()
    again = make_wheel(tmp_path / "b", "Hello.World_x", "2.0.1", payload_bytes=3000, seed=1)
    other = make_wheel(tmp_path / "c", "Hello.World_x", "2.0.1", payload_bytes=3000, seed=2)
    assert again.read_bytes() == wheel.read_bytes() != other.read_bytes()
    assert make_sdist(tmp_path / "b", "Hello.World_x", "2.0.1").read_bytes() == sdist.read_bytes()


def test_control_plane_tells_regions_apart(regions: LocalAWS) -> None:
    for name, region in regions.regions.items():
        client = codeartifact(name)
        token = client.get_authorization_token(domain="acme", durationSeconds=900)
        endpoint = client.get_repository_endpoint(
            domain="acme", domainOwner=regions.owner, repository="python", format="pypi"
        )
        assert token["authorizationToken"] == region.token
        assert endpoint["repositoryEndpoint"] == region.url
    assert len(set(regions.tokens())) == len(regions.regions)
    calls = regions.fake.recorded("GetAuthorizationToken")
    assert [c.region for c in calls] == list(regions.regions)
    assert calls[0].params == {"domain": "acme", "duration": "900"}


def test_unknown_domain_or_repository_is_resource_not_found(regions: LocalAWS) -> None:
    client = codeartifact("eu-west-1")
    with pytest.raises(ClientError) as err:
        client.get_authorization_token(domain="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        client.get_repository_endpoint(domain="acme", repository="nope", format="pypi")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_injected_fault_hits_one_region_then_clears(regions: LocalAWS) -> None:
    regions.fake.fail(
        "eu-west-1",
        "GetAuthorizationToken",
        "AccessDeniedException",
        403,
        times=1,
        message="not authorized to perform codeartifact:Get...",
    )
    with pytest.raises(ClientError) as err:
        codeartifact("eu-west-1").get_authorization_token(domain="acme")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "not authorized" in err.value.response["Error"]["Message"]
    codeartifact("us-east-1").get_authorization_token(domain="acme")
    codeartifact("eu-west-1").get_authorization_token(domain="acme")  # fault used up
    assert [c.status for c in regions.fake.recorded(region="eu-west-1")] == [403, 200]


def test_origin_configuration_round_trip(regions: LocalAWS) -> None:
    client = codeartifact("us-east-1")
    where = {
        "domain": "acme",
        "repository": "python",
        "format": "pypi",
        "package": "Hello_Internal",
    }
    with pytest.raises(ClientError):
        client.describe_package(**where)
    client.put_package_origin_configuration(
        **where, restrictions={"publish": "ALLOW", "upstream": "BLOCK"}
    )
    described = client.describe_package(**{**where, "package": "hello-internal"})
    assert described["package"]["originConfiguration"]["restrictions"] == {
        "publish": "ALLOW",
        "upstream": "BLOCK",
    }
    assert regions.fake.origin("us-east-1", "hello.internal") == {
        "publish": "ALLOW",
        "upstream": "BLOCK",
    }
    assert regions.fake.origin("eu-west-1", "hello-internal") is None


def test_sts_answers_as_the_domain_owner(regions: LocalAWS) -> None:
    assert boto3.client("sts").get_caller_identity()["Account"] == regions.owner
    session = boto3.session.Session(profile_name="publisher")
    assert session.client("sts").get_caller_identity()["Account"] == regions.owner


def test_twine_upload_lands_in_one_region_with_its_sha256(
    regions: LocalAWS, sample_dists: Path
) -> None:
    wheel = next(sample_dists.glob("*.whl"))
    first, *others = regions.regions.values()
    assert upload(first.url, first.token, wheel).status_code == 200
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert first.files() == {wheel.name: digest}
    assert all(r.files() == {} for r in others)
    page = requests.get(first.simple_url + "hello-internal/", auth=first.auth, timeout=5)
    assert page.status_code == 200
    assert re.search(rf'href="[^"]*/{re.escape(wheel.name)}#sha256={digest}"', page.text)
    # Described as existing now, before any origin configuration was set.
    described = codeartifact(first.name).describe_package(
        domain="acme", repository="python", format="pypi", package="hello-internal"
    )
    assert described["package"]["originConfiguration"]["restrictions"]["upstream"] == "ALLOW"


def test_reads_and_uploads_need_the_region_token(regions: LocalAWS, sample_dists: Path) -> None:
    first, second, *_ = regions.regions.values()
    assert requests.get(first.simple_url, timeout=5).status_code == 401
    assert requests.get(first.simple_url, auth=second.auth, timeout=5).status_code == 403
    wheel = next(sample_dists.glob("*.whl"))
    assert upload(first.url, second.token, wheel).status_code == 403
    assert first.files() == {}


def test_reupload_of_an_existing_file_is_refused(regions: LocalAWS, sample_dists: Path) -> None:
    """pypiserver: 400 to twine's User-Agent, 409 to others; never 200, never overwritten."""
    first = next(iter(regions.regions.values()))
    wheel = next(sample_dists.glob("*.whl"))
    assert upload(first.url, first.token, wheel).status_code == 200
    assert upload(first.url, first.token, wheel).status_code == 400
    form = {
        ":action": "file_upload",
        "name": "hello-internal",
        "version": "1.0.0",
        "protocol_version": "1",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
    }
    plain = requests.post(
        first.url,
        data=form,
        auth=first.auth,
        timeout=5,
        files={"content": (wheel.name, b"other bytes")},
    )
    assert plain.status_code == 409
    assert first.files() == {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}


def test_rotated_token_replaces_the_old_one_without_restart(regions: LocalAWS) -> None:
    region = regions.regions["ap-southeast-2"]
    old = region.token
    new = regions.rotate_token(region.name)
    assert region.token == new != old and new in regions.tokens()
    assert requests.get(region.simple_url, auth=("aws", old), timeout=5).status_code == 403
    assert requests.get(region.simple_url, auth=("aws", new), timeout=5).status_code == 200
    issued = codeartifact(region.name).get_authorization_token(domain="acme")
    assert issued["authorizationToken"] == new


def test_stopped_region_refuses_then_restarts_on_its_port(regions: LocalAWS) -> None:
    region = regions.regions["eu-west-1"]
    port = region.port
    region.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(region.simple_url, auth=region.auth, timeout=2)
    region.start()
    assert region.port == port
    assert requests.get(region.simple_url, auth=region.auth, timeout=5).status_code == 200


def test_env_and_pyproject(local_aws: LocalAWS, tmp_path: Path) -> None:
    env = local_aws.subprocess_env({"AWS_PROFILE": "prod", "PATH": "/bin"})
    assert "AWS_PROFILE" not in env and env["PATH"] == "/bin"
    assert env["AWS_ENDPOINT_URL_CODEARTIFACT"] == local_aws.fake.url
    assert "[profile publisher]" in Path(env["AWS_CONFIG_FILE"]).read_text()
    path = local_aws.write_pyproject(
        tmp_path,
        ["eu-west-1"],
        domain_owner=None,
        block_upstream=True,
        targets={"eu-west-1": {"repository": "python"}},
    )
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    table = tomllib.loads(path.read_text())["tool"]["codeartifact"]
    assert table == {
        "domain": "acme",
        "repository": "python",
        "regions": ["eu-west-1"],
        "block-upstream": True,
        "targets": {"eu-west-1": {"repository": "python"}},
    }
