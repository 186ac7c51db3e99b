"""Bad inputs the other suites leave out, through the CLI's ``main``: each exits 2 with a
message that names the key or file and the fix, raises nothing and uploads nothing.

tests/test_cli.py covers unknown keys, bad domain/owner/repository values, an unconfigured
--region, duplicate regions, token-duration and concurrency bounds, orphan targets, a TOML
syntax error, a missing pyproject, an empty dist dir, a corrupt wheel, mixed projects and a
non-dist file; tests/test_artifacts.py and tests/test_config.py check the messages in-process.
This table covers the rest end to end (in-process for speed: an uncaught exception would
fail the test; tests/test_cli.py runs the same path as a real process), each case also
under --json (one document on stdout), with issue 11's rows 7-14: retry variables out of
range, dangling and renamed wheel symlinks, METADATA bombs, pyproject encodings and shapes,
values with a trailing newline, argparse's own errors and --dist-dir naming a file.
SIGINT under --json (row 12) is in test_interrupts.py.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from codeartifact_multiregion.cli import main
from tests.helpers import run_checked, sha256s
from tests.localaws.dists import make_sdist, make_wheel

WHEEL = "hello_internal-1.0.0-py3-none-any.whl"
SDIST = "hello_internal-1.0.0.tar.gz"


def _replace(old: str, new: str) -> Callable[[Path, Path], list[str]]:
    def change(project: Path, dist: Path) -> list[str]:
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text()
        assert old in text, (old, text)
        pyproject.write_text(text.replace(old, new, 1))
        return []

    return change


def _append(extra: str) -> Callable[[Path, Path], list[str]]:
    def change(project: Path, dist: Path) -> list[str]:
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text()
        if extra.startswith("["):
            pyproject.write_text(text + "\n" + extra + "\n")
        else:
            head, sep, tail = text.partition("[tool.codeartifact]\n")
            pyproject.write_text(head + sep + extra + "\n" + tail)
        return []

    return change


def _sub(pattern: str, new: str) -> Callable[[Path, Path], list[str]]:
    def change(project: Path, dist: Path) -> list[str]:
        pyproject = project / "pyproject.toml"
        text, n = re.subn(pattern, new, pyproject.read_text(), count=1, flags=re.M)
        assert n == 1, (pattern, text)
        pyproject.write_text(text)
        return []

    return change


def _dist_file(make: Callable[[Path, Path], Path]) -> Callable[[Path, Path], list[str]]:
    """Replace the release in dist/ with one bad file, passed explicitly."""

    def change(project: Path, dist: Path) -> list[str]:
        path = make(project, dist)
        return [str(path)]

    return change


def truncated(project: Path, dist: Path) -> Path:
    wheel = dist / WHEEL
    wheel.write_bytes(wheel.read_bytes()[: wheel.stat().st_size // 2])
    return wheel


def empty_wheel(project: Path, dist: Path) -> Path:
    (dist / WHEEL).write_bytes(b"")
    return dist / WHEEL


def no_metadata(project: Path, dist: Path) -> Path:
    with zipfile.ZipFile(dist / WHEEL, "w") as zf:
        zf.writestr("hello_internal/__init__.py", "")
    return dist / WHEEL


def garbage_sdist(project: Path, dist: Path) -> Path:
    (dist / SDIST).write_bytes(b"\x1f\x8b this is not a gzip stream")
    return dist / SDIST


def sdist_other_name(project: Path, dist: Path) -> Path:
    other = make_sdist(project / "other", "other-project", "1.0.0")
    return other.rename(dist / SDIST)


def wheel_other_version(project: Path, dist: Path) -> Path:
    other = make_wheel(project / "other", "hello-internal", "1.0.1")
    return other.rename(dist / WHEEL)


def bad_wheel_name(project: Path, dist: Path) -> Path:
    return (dist / WHEEL).rename(dist / "hello_internal.whl")


def dangling_symlink(project: Path, dist: Path) -> Path:
    link = project / "linked" / WHEEL
    link.parent.mkdir()
    link.symlink_to(project / "gone" / WHEEL)
    return link


def deny_reads(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Root reads any file whatever its mode: refuse it the way the kernel refuses others."""
    real_open = io.open

    def guarded(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, (str, Path)) and Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(io, "open", guarded)
    monkeypatch.setattr(builtins, "open", guarded)


def unreadable(project: Path, dist: Path) -> Path:
    (dist / WHEEL).chmod(0)
    return dist / WHEEL


def mixed_versions(project: Path, dist: Path) -> list[str]:
    newer = make_sdist(project / "newer", "hello-internal", "1.1.0")
    return [str(dist / WHEEL), str(newer)]


def twice(project: Path, dist: Path) -> list[str]:
    copy = project / "copy" / WHEEL
    copy.parent.mkdir()
    copy.write_bytes((dist / WHEEL).read_bytes())
    return [str(dist / WHEEL), str(copy)]


def _write_pyproject(make: Callable[[str], bytes]) -> Callable[[Path, Path], list[str]]:
    """Rewrite pyproject.toml's bytes (another encoding, another shape)."""

    def change(project: Path, dist: Path) -> list[str]:
        pyproject = project / "pyproject.toml"
        pyproject.write_bytes(make(pyproject.read_text()))
        return []

    return change


def _metadata_bomb(
    kind: str, size: int, *, member: str | None = None, decoy: str | None = None
) -> Callable[[Path, Path], list[str]]:
    """A small archive whose METADATA/PKG-INFO unpacks to ``size`` bytes (zeros compress).

    ``member`` names the huge one; ``decoy`` adds a small, unparsable one read before it.
    """

    def change(project: Path, dist: Path) -> list[str]:
        head = b"Metadata-Version: 2.1\nName: hello-internal\nVersion: 1.0.0\n\n"
        if kind == "wheel":
            path = dist / WHEEL
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("hello_internal/__init__.py", "")
                with zf.open(
                    member or "hello_internal-1.0.0.dist-info/METADATA", "w", force_zip64=True
                ) as fh:
                    fh.write(head)
                    for _ in range(size >> 20):
                        fh.write(bytes(1 << 20))
                zf.writestr(
                    "hello_internal-1.0.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                )
        else:
            import tarfile

            path = dist / SDIST
            path.unlink()
            with tarfile.open(path, "w:gz", compresslevel=1) as tf:
                if decoy:
                    small = tarfile.TarInfo(decoy)
                    small.size = 4
                    tf.addfile(small, io.BytesIO(b"nope"))
                info = tarfile.TarInfo(member or "hello_internal-1.0.0/PKG-INFO")
                info.size = len(head) + size
                tf.addfile(info, _Zeros(head, size))
        assert path.stat().st_size < size // 100, "a small file"
        return [str(path)]

    return change


class _Zeros(io.RawIOBase):
    """``head`` then ``size`` zero bytes, streamed (no 64 MB buffer in the test)."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head, self.left = head, size

    def read(self, n: int = -1) -> bytes:
        n = len(self.head) + self.left if n < 0 else n
        out, self.head = self.head[:n], self.head[n:]
        zeros = min(n - len(out), self.left)
        self.left -= zeros
        return out + bytes(zeros)


def dangling_in_dist(project: Path, dist: Path) -> list[str]:
    """dist/ (scanned, not passed) holds the sdist and a wheel link to nothing."""
    (dist / WHEEL).unlink()
    (dist / WHEEL).symlink_to(project / "build" / WHEEL)
    return []


def _not_a_file_in_dist(kind: str) -> Callable[[Path, Path], list[str]]:
    """dist/ (scanned) holds the sdist and, under the wheel's name, a directory or a FIFO."""

    def change(project: Path, dist: Path) -> list[str]:
        (dist / WHEEL).unlink()
        if kind == "directory":
            (dist / WHEEL).mkdir()
        else:
            os.mkfifo(dist / WHEEL)  # hashing it would block forever
        return []

    return change


def _args(*args: str) -> Callable[[Path, Path], list[str]]:
    return lambda project, dist: [a.replace("{project}", str(project)) for a in args]


# name: (change -> extra CLI args, words the error must hold, extra environment)
CASES: dict[str, tuple[Callable[[Path, Path], list[str]], list[str], dict[str, str]]] = {
    "truncated wheel": (_dist_file(truncated), [WHEEL, "Rebuild"], {}),
    "empty wheel": (_dist_file(empty_wheel), [WHEEL, "Rebuild"], {}),
    "wheel without METADATA": (_dist_file(no_metadata), [WHEEL, "Rebuild"], {}),
    "sdist that is not gzip": (_dist_file(garbage_sdist), [SDIST, "Rebuild"], {}),
    "sdist with another project's metadata": (
        _dist_file(sdist_other_name),
        [SDIST, "metadata says 'other-project'", "Rebuild"],
        {},
    ),
    "wheel with another version's metadata": (
        _dist_file(wheel_other_version),
        [WHEEL, "metadata says '1.0.1'", "Rebuild"],
        {},
    ),
    "invalid wheel file name": (
        _dist_file(bad_wheel_name),
        ["hello_internal.whl", "not a valid distribution name"],
        {},
    ),
    "dangling symlink": (
        _dist_file(dangling_symlink),
        [WHEEL, "a symbolic link to", "which does not exist", "Remove the link"],
        {},
    ),
    "unreadable file": (_dist_file(unreadable), [WHEEL, "permission", "permissions"], {}),
    "mixed versions": (
        mixed_versions,
        ["different versions", "1.1.0", "one version at a time"],
        {},
    ),
    "same file from two places": (twice, [WHEEL, "passed twice", "Pass each file once"], {}),
    "missing --dist-dir": (
        _args("--dist-dir", "{project}/nowhere"),
        ["nowhere: no such directory", "--dist-dir"],
        {},
    ),
    "dist-dir key pointing nowhere": (
        _append('dist-dir = "build/out"'),
        ["out: no such directory", "Build the project"],
        {},
    ),
    "no [tool.codeartifact] table": (
        _replace("[tool.codeartifact]", "[tool.codeartifactt]"),
        ["[tool.codeartifact]", "Add one"],
        {},
    ),
    "required key missing": (
        _replace('domain = "acme"\n', ""),
        ["codeartifact.domain", "required", "Add domain"],
        {},
    ),
    "empty regions": (
        _sub(r"^regions = .*$", "regions = []"),
        ["codeartifact.regions", "non-empty"],
        {},
    ),
    "region name not an AWS region": (
        _replace("regions = [", 'regions = ["useast1", '),
        ["codeartifact.regions", "useast1", "AWS region"],
        {},
    ),
    "domain-owner not quoted": (
        _sub(r'^domain-owner = "(\d+)"$', r"domain-owner = \1"),
        ["codeartifact.domain-owner", "quoted"],
        {},
    ),
    "role-arn not a role": (
        _append('role-arn = "arn:aws:iam::123456789012:user/x"'),
        ["codeartifact.role-arn", "IAM role ARN"],
        {},
    ),
    "block-upstream not a boolean": (
        _append('block-upstream = "yes"'),
        ["codeartifact.block-upstream", "true or false"],
        {},
    ),
    "misspelt key in a targets table": (
        _append('[tool.codeartifact.targets.us-east-1]\nrepo = "x"'),
        ["targets.us-east-1", "repo", "Did you mean 'repository'"],
        {},
    ),
    "TOML error in a targets table": (
        _append('[tool.codeartifact.targets.us-east-1]\nrepository = "a"\nrepository = "b"'),
        ["pyproject.toml", "not valid TOML"],
        {},
    ),
    "profile missing from AWS config": (
        _append('profile = "nobody"'),
        ["profile 'nobody'", "aws configure"],
        {},
    ),
    "retry variable not a number": (
        _args(),
        [
            "CODEARTIFACT_MULTIREGION_ATTEMPTS='many'",
            "Set CODEARTIFACT_MULTIREGION_ATTEMPTS to a positive whole number",
        ],
        {"CODEARTIFACT_MULTIREGION_ATTEMPTS": "many"},
    ),
    "--concurrency not a number": (
        _args("--concurrency", "lots"),
        ["--concurrency", "is not a whole number", "from 1 to 64"],
        {},
    ),
    # issue 11, rows 7-14 ------------------------------------------------------------------
    **{
        f"{var} = {value!r}": (
            _args(),
            [
                f"CODEARTIFACT_MULTIREGION_{var}={value!r}",
                f"Set CODEARTIFACT_MULTIREGION_{var} to a positive",
            ],
            {f"CODEARTIFACT_MULTIREGION_{var}": value},
        )
        for var, value in (
            ("ATTEMPTS", "0"),
            ("ATTEMPTS", "-3"),
            ("ATTEMPTS", "1.5"),
            ("READ_TIMEOUT", "0"),
            ("READ_TIMEOUT", "-1"),
            ("READ_TIMEOUT", "nan"),
            ("READ_TIMEOUT", "inf"),
            ("CONNECT_TIMEOUT", "0"),
            ("DEADLINE", "-1"),
            ("BACKOFF", "nan"),
        )
    },
    "dangling wheel symlink in dist/": (
        dangling_in_dist,
        [WHEEL, "a symbolic link to", "which does not exist", "Remove the link"],
        {},
    ),
    "a directory named like the wheel in dist/": (
        _not_a_file_in_dist("directory"),
        [WHEEL, "not a regular file", "Remove it"],
        {},
    ),
    "a FIFO named like the wheel in dist/": (
        _not_a_file_in_dist("fifo"),
        [WHEEL, "not a regular file", "Remove it"],
        {},
    ),
    "wheel METADATA unpacking to 64 MB": (
        _metadata_bomb("wheel", 64 << 20),
        [WHEEL, "METADATA unpacks to", "at most", "Rebuild"],
        {},
    ),
    "sdist PKG-INFO unpacking to 64 MB": (
        _metadata_bomb("sdist", 64 << 20),
        [SDIST, "PKG-INFO unpacks to", "at most", "Rebuild"],
        {},
    ),
    "wheel with a huge top-level METADATA twine reads first": (
        _metadata_bomb("wheel", 64 << 20, member="METADATA"),
        [WHEEL, "METADATA unpacks to", "at most"],
        {},
    ),
    "sdist with a decoy PKG-INFO ahead of a huge one": (
        _metadata_bomb("sdist", 64 << 20, decoy="hello_internal-1.0.0/aPKG-INFO"),
        [SDIST, "hello_internal-1.0.0/PKG-INFO unpacks to", "at most"],
        {},
    ),
    "pyproject in latin-1": (
        _write_pyproject(lambda t: (t + "# café\n").encode("latin-1")),
        ["pyproject.toml", "not UTF-8", "save it as UTF-8"],
        {},
    ),
    "pyproject in UTF-16": (
        _write_pyproject(lambda t: t.encode("utf-16")),
        ["pyproject.toml", "not UTF-8", "save it as UTF-8"],
        {},
    ),
    "tool is a string": (
        _write_pyproject(lambda t: b'tool = "x"\n'),
        ["pyproject.toml", "[tool] must be a table"],
        {},
    ),
    "project is a string": (
        _write_pyproject(
            lambda t: (
                b'project = "x"\n'
                + t.split("[tool.codeartifact]", 1)[1].join(["[tool.codeartifact]", ""]).encode()
            )
        ),
        ["pyproject.toml", "[project] must be a table"],
        {},
    ),
    "project name not a string": (
        _replace('name = "hello-internal"', "name = 5"),
        ["pyproject.toml", "[project] name", "string"],
        {},
    ),
    "region with a trailing newline": (
        _replace('"eu-west-1"', '"eu-west-1\\n"'),
        ["codeartifact.regions", "eu-west-1\\n", "AWS region"],
        {},
    ),
    "domain with a trailing newline": (
        _replace('domain = "acme"', 'domain = "acme\\n"'),
        ["codeartifact.domain", "acme\\n"],
        {},
    ),
    "region with an escape sequence": (
        _replace('"eu-west-1"', '"eu-west-1\\u001b[31m"'),
        ["codeartifact.regions", "\\x1b[31m"],
        {},
    ),
    "--dist-dir naming a file": (
        _args("--dist-dir", "{project}/pyproject.toml"),
        ["pyproject.toml: not a directory", "--dist-dir"],
        {},
    ),
    "unknown flag": (_args("--bogus"), ["unrecognized arguments: --bogus", "--help"], {}),
}


def arrange(
    case: str, project: Path, sample_dists: Path, monkeypatch
) -> tuple[list[str], list[str]]:
    """Make the case's bad input; its extra CLI arguments and the words its error must hold."""
    change, words, env = CASES[case]
    extra = change(project, sample_dists)
    if case == "unreadable file" and os.geteuid() == 0:
        deny_reads(monkeypatch, sample_dists / WHEEL)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return extra, words


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_names_the_cause_and_uploads_nothing(
    case, regions, project, sample_dists, monkeypatch, capsys
):
    extra, words = arrange(case, project, sample_dists, monkeypatch)
    try:
        code = main(["publish", "--project", str(project), *extra])
    except SystemExit as exc:  # argparse refuses bad flags itself
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (case, out, err)
    for word in words:
        assert word in err, (case, word, err)
    if not case.startswith("--"):  # argparse's own usage errors keep argparse's layout
        assert err.startswith("error: "), err
        assert err.rstrip().endswith((".", "?", ")")), "the message closes with a fix"
    assert out == ""
    for token in regions.tokens():
        assert token not in err
    assert all(r.files() == {} for r in regions.regions.values()), "nothing was uploaded"
    assert not regions.fake.recorded("GetAuthorizationToken") or case.startswith("profile"), (
        "input errors are found before any token is asked for"
    )


def test_at_least_twenty_bad_inputs_are_covered() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_under_json_is_one_document_with_exit_2(
    case, regions, project, sample_dists, monkeypatch, capsys
):
    """With --json, stdout holds exactly one JSON document, argparse's own errors included."""
    extra, words = arrange(case, project, sample_dists, monkeypatch)
    code = main(["publish", "--json", "--project", str(project), *extra])
    out, err = capsys.readouterr()
    assert code == 2, (case, out, err)
    doc = json.loads(out)  # one document, nothing else on stdout
    assert doc["ok"] is False and doc["exit_code"] == 2
    for word in words:
        assert word in doc["error"], (case, word, doc)
    for token in regions.tokens():
        assert token not in out + err
    assert all(r.files() == {} for r in regions.regions.values()), "nothing was uploaded"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--json"], ["required: COMMAND", "--help"]),
        (["publish", "--json", "--concurrency", "abc"], ["--concurrency", "'abc'", "from 1 to 64"]),
        (["status", "--json", "--region"], ["--region", "expected one argument", "--help"]),
        (["sync", "--json", "--version"], ["--version", "expected one argument", "--help"]),
    ],
    ids=["no command", "--concurrency abc", "--region without value", "--version without value"],
)
def test_argparse_errors_under_json_are_one_document(
    argv, words, regions, project, capsys, monkeypatch
):
    monkeypatch.chdir(project)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    doc = json.loads(out)
    assert doc == {"ok": False, "exit_code": 2, "error": doc["error"]}
    for word in words:
        assert word in doc["error"], (word, doc)
    assert err.startswith("error: ")
    assert not regions.fake.recorded("GetAuthorizationToken")


def test_a_symlinked_wheel_is_published_under_its_link_name(
    regions, project, sample_dists, tmp_path
):
    """Row 8: a link whose name differs from its target's is published as the link says."""
    store = tmp_path / "store"
    store.mkdir()
    blob = store / "blob-7f3a.bin"
    (sample_dists / WHEEL).rename(blob)
    (sample_dists / WHEEL).symlink_to(blob)
    expected = sha256s([sample_dists / SDIST]) | {WHEEL: sha256s([blob])["blob-7f3a.bin"]}
    result = run_checked(
        [
            sys.executable,
            "-m",
            "codeartifact_multiregion",
            "publish",
            "--project",
            str(project),
            "--json",
        ],
        regions,
        cwd=project,
    )
    assert result.code == 0, result.err
    assert all(r.files() == expected for r in regions.regions.values())
    names = {f["filename"] for t in json.loads(result.out)["targets"] for f in t["files"]}
    assert names == {WHEEL, SDIST}
