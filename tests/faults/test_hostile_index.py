"""A hostile index (issue 11, rows 1-6): one region's repository endpoint is a server that
lies, and the run must stay safe.

Each test puts a ``HostileIndex`` (tests/faults/hostile.py) where the control plane says
one region's repository is; it forwards to that region's real pypiserver and adds what a
hostile index would: traversal names, links and redirects to another origin, NUL and
control characters, a trickle, a flood. The CLI runs as a real process with HOME and
TMPDIR in the test's own directory. Each asserts what a user cares about: no file outside
the private temporary directory, no credential at any other origin, nothing raw on the
terminal, a report and exit 1 for that region while the other regions complete.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from codeartifact_multiregion import index as index_module
from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.status import status
from tests.faults.helpers import FAST, cli_env, publish
from tests.faults.hostile import HostileIndex, endless, redirect, serve, sha256, trickle
from tests.faults.hostile import status as answer
from tests.helpers import run_checked, run_on_pty, sha256s

PACKAGE = "hello-internal"
PAGE = f"/simple/{PACKAGE}/"
WHEEL = "hello_internal-1.0.0-py3-none-any.whl"
CLI = [sys.executable, "-m", "codeartifact_multiregion"]
PAYLOAD = b"echo pwned # written by a hostile index\n"


def names(regions) -> tuple[str, str, str]:
    """(primary, victim, bystander): the victim's endpoint is the hostile server."""
    primary, victim, bystander = list(regions.regions)
    return primary, victim, bystander


def seed(regions, region: str, dist: Path) -> dict[str, str]:
    """Put the release straight into a region's storage; returns filename -> sha256."""
    for path in dist.iterdir():
        (regions.regions[region].packages / path.name).write_bytes(path.read_bytes())
    return sha256s(dist)


def run(regions, tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    """The CLI as a real process; HOME and TMPDIR inside ``tmp_path/home``."""
    full = {**cli_env(regions, tmp_path), **(env or {})}
    return run_checked([*CLI, *args], regions, env=full, cwd=tmp_path)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def assert_no_raw_controls(text: str) -> None:
    for char in ("\x1b", "\x07", "\x00", "\x9b", "\r"):
        assert char not in text, (char, text)


def target(doc: dict, region: str) -> dict:
    return next(t for t in doc["targets"] if t["region"] == region)


# -- row 1: a traversal or absolute name with a correct sha256 is never a path -----------------


def test_traversal_and_absolute_names_are_refused_and_nothing_is_written_outside(
    regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    expected = seed(regions, primary, sample_dists)
    env = cli_env(regions, tmp_path)  # makes home/, home/tmp (TMPDIR) and the caches
    home = tmp_path / "home"
    bashrc = home / ".bashrc"
    outside = tmp_path / "x"
    bad = hostile(primary)  # the source a sync copies from
    digest = sha256(PAYLOAD)
    crafted = {
        "../../x": f"/evil/{quote('../../x', safe='')}",
        str(bashrc): f"/evil/{quote(str(bashrc), safe='')}",
        "..\\..\\x": f"/evil/{quote('..' + chr(92) + '..' + chr(92) + 'x', safe='')}",
        f"../../{WHEEL}": f"/evil/{quote('../../' + WHEEL, safe='')}",
        "..": "/evil/%2E%2E",
    }
    for path in crafted.values():
        bad.routes[path] = serve(PAYLOAD)
        bad.links.append(f'<a href="{path}#sha256={digest}">innocent.whl</a>')
    before = files_under(tmp_path)

    result = run(regions, tmp_path, "sync", "--project", str(project), "--json", env=env)

    assert result.code == 1, result.err
    doc = json.loads(result.out)
    assert not bashrc.exists() and not outside.exists()
    assert files_under(tmp_path) - before == set(), "nothing written outside the private dir"
    assert list((home / "tmp").iterdir()) == [], "the private temporary directory is removed"
    assert bad.requests("GET", "/evil/") == [], "a refused entry is never fetched"
    error = target(doc, primary)["error"]
    assert "not files of hello-internal" in error and "../../x" in error
    for region in (victim, bystander):  # the others complete from the real files
        assert regions.regions[region].files() == expected, region
        assert target(doc, region)["error"] is None
    assert regions.regions[primary].files() == expected, "nothing uploaded under a bad name"

    status_doc = json.loads(
        run(regions, tmp_path, "status", "--project", str(project), "--json").out
    )
    assert len(status_doc["rejected"][primary]) == len(crafted)
    assert status_doc["ok"] is False


# -- row 2: credentials only to the endpoint's origin ------------------------------------------


def _other_origin_link(bad: HostileIndex, elsewhere: HostileIndex, wheel: Path) -> None:
    """The victim's page lists the release's own wheel name on another port, no fragment."""
    elsewhere.routes[f"/files/{WHEEL}"] = serve(wheel.read_bytes())
    bad.links.append(f'<a href="{elsewhere.origin}/files/{WHEEL}">{WHEEL}</a>')
    bad.links.append(f'<a href="http://localhost:{bad.port}/files/{WHEEL}">{WHEEL}</a>')


def _redirect_elsewhere(code: int):
    def arrange(bad: HostileIndex, elsewhere: HostileIndex, wheel: Path) -> None:
        bad.routes[PAGE] = redirect(code, f"{elsewhere.origin}{PAGE}")
        elsewhere.routes[f"/packages/{WHEEL}"] = serve(wheel.read_bytes())
        elsewhere.page = f'<a href="../../packages/{WHEEL}">{WHEEL}</a>'.encode()

    return arrange


CREDENTIAL_CASES = {
    "link to another port without a fragment": _other_origin_link,
    **{
        f"{code} to another port, relative links": _redirect_elsewhere(code)
        for code in (301, 302, 307, 308)
    },
}


@pytest.mark.parametrize("command", ["status", "publish", "sync"])
@pytest.mark.parametrize("case", list(CREDENTIAL_CASES))
def test_no_credential_ever_reaches_another_origin(
    case, command, regions, project, sample_dists, hostile, elsewhere, tmp_path
):
    primary, victim, bystander = names(regions)
    expected = sha256s(sample_dists)
    if command != "publish":
        seed(regions, primary, sample_dists)
    bad = hostile(victim)
    CREDENTIAL_CASES[case](bad, elsewhere, sample_dists / WHEEL)

    result = run(regions, tmp_path, command, "--project", str(project), "--json")

    assert elsewhere.credentials_seen() == [], "the token went to another origin"
    assert bad.requests(prefix="/files/") == [], "a link to another host is never fetched"
    assert result.code == 1, result.out + result.err
    doc = json.loads(result.out)
    if command == "status":
        assert victim in doc["rejected"] or victim in doc["errors"], doc
        assert doc["versions"][0]["files"][0]["regions"][bystander]["state"] == "missing"
        return
    assert target(doc, victim)["ok"] is False
    assert "outside the repository" in json.dumps(target(doc, victim))
    for region in (primary, bystander):
        assert regions.regions[region].files() == expected, region
        assert target(doc, region)["ok"] is True


def test_a_redirect_on_the_endpoints_own_origin_keeps_working(
    regions, project, sample_dists, hostile
):
    """The defence is about origins, not redirects: a same-origin hop still authenticates."""
    _, victim, _ = names(regions)
    bad = hostile(victim)
    bad.routes[PAGE] = redirect(302, f"/simple/{PACKAGE}/?moved=1")
    run_ = publish(project)
    assert run_.report.exit_code == 0, run_.report.render_text()
    assert regions.regions[victim].files() == sha256s(sample_dists)


# -- row 3: a name with / or NUL is a bad entry, never a crash ----------------------------------


def test_names_with_slash_or_nul_are_reported_and_the_others_complete(
    regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    expected = seed(regions, primary, sample_dists)
    bad = hostile(primary)
    digest = sha256(PAYLOAD)
    for raw in (
        WHEEL.replace("-py3", "%00-py3"),
        WHEEL.replace("-1.0.0", "%2F1.0.0"),
        "hello_internal-1.0.0.tar.gz%00.sh",
    ):
        bad.routes[f"/evil/{raw}"] = serve(PAYLOAD)
        bad.links.append(f'<a href="/evil/{raw}#sha256={digest}">x</a>')

    result = run(regions, tmp_path, "sync", "--project", str(project), "--json")

    assert result.code == 1
    doc = json.loads(result.out)  # one document, after the other uploads happened
    assert "\\x00" in target(doc, primary)["error"]
    assert bad.requests("GET", "/evil/") == []
    for region in (victim, bystander):
        assert regions.regions[region].files() == expected
    assert_no_raw_controls(result.out + result.err)


# -- row 4: nothing from the index reaches a terminal raw ---------------------------------------

OSC = "\x1b]0;pwned\x07"
CSI = "\x1b[2J"


@pytest.mark.parametrize("command", ["sync", "status", "publish"])
def test_escape_sequences_and_markup_from_an_index_never_reach_the_terminal(
    command, regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    if command != "publish":
        seed(regions, primary, sample_dists)
    bad = hostile(victim)
    digest = sha256(PAYLOAD)
    for raw in (
        WHEEL.replace(".whl", OSC + ".whl"),
        WHEEL.replace(".whl", CSI + ".whl"),
        WHEEL.replace("any", "any[bold]"),
        "hello_internal-1.0.0[/bold].tar.gz",
        WHEEL.replace("any", "<error>"),
    ):
        bad.links.append(f'<a href="/evil/{quote(raw)}#sha256={digest}">x</a>')
    # Uploads are refused with a reason phrase and a body full of escapes and markup.
    bad.routes["/"] = answer(400, f"Bad {OSC}[/bold]", f"{CSI}nope [/red] {OSC}".encode())
    env = cli_env(regions, tmp_path)

    # A terminal rich renders its live table on.
    code, raw = run_on_pty(
        [*CLI, command, "--project", str(project)],
        {**env, "TERM": "xterm-256color", "COLUMNS": "200"},
        tmp_path,
    )

    text = raw.decode("utf-8", "replace")
    assert code == 1, text
    assert b"Traceback" not in raw and b"MarkupError" not in raw, text
    assert OSC.encode() not in raw and CSI.encode() not in raw
    assert b"\x1b]" not in raw, "no OSC sequence at all (rich sets no title)"
    assert b"\x07" not in raw
    assert "\\x1b]0;pwned\\x07" in text, "the sequence is shown escaped"
    for token in regions.tokens():
        assert token not in text
    if command != "status":  # the other regions complete
        assert regions.regions[bystander].files() == sha256s(sample_dists)


# -- row 5: a trickling index meets the overall deadline ----------------------------------------


@pytest.mark.parametrize("where", ["page", "upload"])
def test_a_trickling_index_fails_by_the_deadline_and_the_others_complete(
    where, regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    bad = hostile(victim)
    if where == "page":
        bad.routes[PAGE] = trickle(b"<html>" + b" " * 10_000 + b"</html>", every=0.2)
    else:
        bad.routes["/"] = trickle(b"OK" * 10_000, every=0.2)
    # The bounds apply to every region: the healthy ones' requests must fit them on a loaded
    # machine too (the trickle never ends, so any deadline ends it).
    env = {
        "CODEARTIFACT_MULTIREGION_DEADLINE": "6",
        "CODEARTIFACT_MULTIREGION_READ_TIMEOUT": "10",
        "CODEARTIFACT_MULTIREGION_ATTEMPTS": "2",
    }

    result = run(regions, tmp_path, "publish", "--project", str(project), "--json", env=env)

    assert result.code == 1
    doc = json.loads(result.out)
    assert "deadline" in json.dumps(target(doc, victim)), target(doc, victim)
    expected = sha256s(sample_dists)
    for region in (primary, bystander):
        assert regions.regions[region].files() == expected
        assert target(doc, region)["ok"] is True


# -- row 6: bounded work whatever an index lists ------------------------------------------------


def test_thousands_of_unhashed_links_are_refused_without_downloading_them(
    regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    seed(regions, primary, sample_dists)
    bad = hostile(victim)
    for i in range(3000):
        name = f"hello_internal-1.0.0-{i}-py3-none-any.whl"
        bad.links.append(f'<a href="/files/{name}">{name}</a>')

    result = run(regions, tmp_path, "status", "--project", str(project), "--json")

    assert result.code == 1
    doc = json.loads(result.out)
    assert f"at most {index_module.MAX_UNHASHED}" in doc["errors"][victim]
    assert bad.requests("GET", "/files/") == [], "no file was downloaded to hash"
    assert doc["versions"][0]["files"][0]["regions"][bystander]["state"] == "missing"


@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_page_is_cut_off_at_the_cap(
    declared, regions, project, sample_dists, hostile, monkeypatch
):
    primary, victim, _ = names(regions)
    seed(regions, primary, sample_dists)
    bad = hostile(victim)
    cap = 1 << 20
    monkeypatch.setattr(index_module, "MAX_PAGE_BYTES", cap)
    if declared:  # 300 MB announced: refused before a byte of the body is read
        bad.routes[PAGE] = lambda h: h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 314572800\r\nContent-Type: text/html\r\n\r\n"
        )
    else:
        bad.routes[PAGE] = endless(bad, PAGE, limit=300 << 20)
    report = status(load_config(project), policy=FAST)
    assert report.exit_code == 1
    assert f"at most {cap}" in report.errors[victim] or f"exceeds {cap}" in report.errors[victim]
    assert bad.sent.get(PAGE, 0) < 64 * cap, "the client stopped reading near the cap"
    assert primary not in report.errors


def test_a_download_larger_than_declared_or_allowed_is_cut_off(
    regions, project, sample_dists, hostile, monkeypatch, tmp_path
):
    """sync's copy source sends more than the cap: the copy fails, nothing is uploaded."""
    primary, victim, bystander = names(regions)
    expected = seed(regions, primary, sample_dists)
    bad = hostile(primary)
    wheel = (sample_dists / WHEEL).read_bytes()
    path = f"/packages/{WHEEL}"
    bad.routes[path] = endless(bad, path, limit=64 << 20, fill=wheel)
    monkeypatch.setattr(index_module, "MAX_DOWNLOAD_BYTES", 1 << 20)
    from codeartifact_multiregion.sync import Syncer

    report = Syncer(load_config(project), policy=FAST).sync()
    assert report.exit_code == 1
    for region in (victim, bystander):
        failed = {
            f.filename: f for f in next(t for t in report.targets if t.region == region).files
        }
        assert failed[WHEEL].outcome == "failed" and "cut off" in (failed[WHEEL].error or "")
        assert WHEEL not in regions.regions[region].files()
        assert regions.regions[region].files() == {k: v for k, v in expected.items() if k != WHEEL}
    assert bad.sent[path] < 64 << 20


# -- malformed answers: a bad link, Location or charset is that region's error, not a crash ----

MALFORMED = {
    "a link to an unclosed IPv6 host": lambda bad: bad.links.append(
        f'<a href="http://[::1/files/{WHEEL}#sha256={"0" * 64}">x</a>'
    ),
    "a link with a port out of range": lambda bad: bad.links.append(
        f'<a href="http://127.0.0.1:99999/files/{WHEEL}">x</a>'
    ),
    "a redirect to an unclosed IPv6 host": lambda bad: bad.routes.__setitem__(
        PAGE, redirect(302, "http://[::1/simple/")
    ),
    "a redirect to a port out of range": lambda bad: bad.routes.__setitem__(
        PAGE, redirect(302, "http://127.0.0.1:99999/simple/")
    ),
    "a redirect to file:": lambda bad: bad.routes.__setitem__(
        PAGE, redirect(302, "file:///etc/passwd")
    ),
    "a page in an unknown charset": lambda bad: bad.routes.__setitem__(
        PAGE,
        serve(
            f'<a href="/x/{WHEEL}">x</a>'.encode(),
            content_type="text/html; charset=x-no-such-codec",
        ),
    ),
}


@pytest.mark.parametrize("command", ["status", "publish", "sync"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_answer_fails_that_region_only(
    case, command, regions, project, sample_dists, hostile, tmp_path
):
    primary, victim, bystander = names(regions)
    if command != "publish":
        seed(regions, primary, sample_dists)
    MALFORMED[case](hostile(victim))

    result = run(regions, tmp_path, command, "--project", str(project), "--json")

    assert result.code == 1, result.out + result.err
    doc = json.loads(result.out)
    if command == "status":
        assert victim in doc["errors"] or victim in doc["rejected"], doc
        assert primary not in doc["errors"]
        return
    assert target(doc, victim)["ok"] is False
    for region in (primary, bystander):
        assert regions.regions[region].files() == sha256s(sample_dists)
        assert target(doc, region)["ok"] is True


def test_a_download_redirected_to_another_origin_is_fetched_without_the_token(
    regions, project, sample_dists, hostile, elsewhere, tmp_path
):
    """As CodeArtifact sends asset downloads to S3: the copy works, the token stays home."""
    primary, victim, bystander = names(regions)
    expected = seed(regions, primary, sample_dists)
    bad = hostile(primary)
    for path in sample_dists.iterdir():
        bad.routes[f"/packages/{path.name}"] = redirect(302, f"{elsewhere.origin}/s3/{path.name}")
        elsewhere.routes[f"/s3/{path.name}"] = serve(path.read_bytes())

    result = run(regions, tmp_path, "sync", "--project", str(project), "--json")

    assert result.code == 0, result.err
    assert len(elsewhere.requests("GET", "/s3/")) == len(expected), "the copies came from S3"
    assert elsewhere.credentials_seen() == []
    for region in (victim, bystander):
        assert regions.regions[region].files() == expected


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_an_upload_redirected_to_another_origin_is_not_followed(
    code, regions, project, sample_dists, hostile, elsewhere, tmp_path
):
    primary, victim, bystander = names(regions)
    bad = hostile(victim)
    bad.routes["/"] = redirect(code, f"{elsewhere.origin}/")

    result = run(regions, tmp_path, "publish", "--project", str(project), "--json")

    assert result.code == 1
    assert elsewhere.requests() == [], "a redirected upload is never sent on"
    doc = json.loads(result.out)
    assert {f["outcome"] for f in target(doc, victim)["files"]} == {"failed"}
    assert all(str(code) in f["error"] for f in target(doc, victim)["files"])
    for region in (primary, bystander):
        assert regions.regions[region].files() == sha256s(sample_dists)


def test_a_compressed_page_is_capped_after_decompression(
    regions, project, sample_dists, hostile, monkeypatch
):
    """A 64 MB page gzipped to 64 KB: the cap counts what it unpacks to."""
    import gzip

    primary, victim, _ = names(regions)
    seed(regions, primary, sample_dists)
    bad = hostile(victim)
    cap = 1 << 20
    monkeypatch.setattr(index_module, "MAX_PAGE_BYTES", cap)
    bomb = gzip.compress(b" " * (64 << 20), compresslevel=9)
    assert len(bomb) < cap
    bad.routes[PAGE] = serve(bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
    report = status(load_config(project), policy=FAST)
    assert report.exit_code == 1
    assert f"exceeds {cap}" in report.errors[victim]
