"""The index stand-in (pypiserver with a catalogue backend) serves what storage holds, now.

Files go straight into a region's storage behind the server's back, as tests and the
benchmark put them there, and every answer must already reflect them: the catalogue may
list less often, never later.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urljoin

import requests

from tests.localaws.catalogue import SETTLE_NS
from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.index_server import RememberedLogins
from tests.localaws.regions import LocalAWS, LocalRegion
from tests.localaws.test_localaws import upload


def links(region: LocalRegion, project: str) -> dict[str, str]:
    """file name -> sha256 on ``project``'s simple page ({} when the page is a 404)."""
    page = requests.get(f"{region.simple_url}{project}/", auth=region.auth, timeout=5)
    if page.status_code == 404:
        return {}
    assert page.status_code == 200
    return dict(re.findall(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page.text))


def download(region: LocalRegion, project: str, name: str) -> bytes:
    page = requests.get(f"{region.simple_url}{project}/", auth=region.auth, timeout=5)
    href = re.search(rf'href="([^"]*/{re.escape(name)})#', page.text)
    assert href is not None
    got = requests.get(urljoin(page.url, href.group(1)), auth=region.auth, timeout=5)
    assert got.status_code == 200
    return got.content


def test_files_put_straight_into_storage_are_served_at_once(
    regions: LocalAWS, tmp_path: Path
) -> None:
    region = regions.regions["us-east-1"]
    wheel = make_wheel(tmp_path / "a", "Side_Door", "1.0", payload_bytes=500, seed=1)
    stored = region.packages / wheel.name
    stored.write_bytes(wheel.read_bytes())
    assert links(region, "side-door") == {
        wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()
    }
    assert download(region, "side-door", wheel.name) == wheel.read_bytes()
    other = make_wheel(tmp_path / "b", "Side_Door", "1.0", payload_bytes=500, seed=2)
    stored.write_bytes(other.read_bytes())  # same name and size, other bytes
    assert links(region, "side-door") == {
        wheel.name: hashlib.sha256(other.read_bytes()).hexdigest()
    }
    sdist = make_sdist(region.packages, "Side_Door", "1.1")
    stored.unlink()
    assert set(links(region, "side-door")) == {sdist.name}


def test_downloads_need_the_token_and_a_listed_file(regions: LocalAWS, tmp_path: Path) -> None:
    region = regions.regions["us-east-1"]
    sdist = make_sdist(region.packages, "guarded", "1.0")
    (region.packages / ".hidden-1.0.tar.gz").write_bytes(b"not listed")
    url = f"{region.url}packages/"
    assert requests.get(url + sdist.name, timeout=5).status_code == 401
    assert requests.get(url + sdist.name, auth=region.auth, timeout=5).content == sdist.read_bytes()
    for name in (".hidden-1.0.tar.gz", "missing-1.0.tar.gz", "..%2Fhtpasswd"):
        assert requests.get(url + name, auth=region.auth, timeout=5).status_code == 404
    assert links(region, "hidden") == {}


def test_every_upload_attempt_is_in_the_upload_log(regions: LocalAWS, sample_dists: Path) -> None:
    region = regions.regions["eu-west-1"]
    wheel, sdist = sorted(sample_dists.iterdir(), key=lambda p: p.suffix != ".whl")
    assert upload(region.url, region.token, wheel).status_code == 200
    assert upload(region.url, region.token, sdist).status_code == 200
    assert upload(region.url, region.token, wheel).status_code == 400  # twine: exists
    assert [(u["file"], u["outcome"]) for u in region.uploads()] == [
        (wheel.name, "stored"),
        (sdist.name, "stored"),
        (wheel.name, "refused"),
    ]
    regions.reset()
    assert region.uploads() == [] and region.files() == {}


def test_a_login_is_remembered_only_until_the_password_file_is_replaced(tmp_path: Path) -> None:
    passwords = tmp_path / "htpasswd"
    passwords.write_text("first")
    checked: list[str] = []

    def check(user: str, password: str) -> bool:
        checked.append(password)
        return password == passwords.read_text()

    later = passwords.stat().st_ctime_ns + 10 * SETTLE_NS
    logins = RememberedLogins(check, passwords, clock=lambda: later)
    assert all(logins("aws", "first") for _ in range(5))
    assert not logins("aws", "guess") and checked == ["first", "guess"]
    replacement = tmp_path / "htpasswd.tmp"
    replacement.write_text("second")
    replacement.replace(passwords)  # as LocalRegion.set_token rotates a token
    assert not logins("aws", "first")
    assert logins("aws", "second") and checked[-2:] == ["first", "second"]
