"""Index pieces that need no server: PEP 503 link parsing, file-name checks, the upload form."""

from __future__ import annotations

import pytest

from codeartifact_multiregion.index import _Links, upload_form
from codeartifact_multiregion.names import filename_error as dist_filename_error


def test_links_resolve_relative_hrefs_and_read_sha256_fragments() -> None:
    page = """<html><body>
    <a href="../../packages/pkg-1.0-py3-none-any.whl#sha256=ABCDEF">pkg-1.0-py3-none-any.whl</a>
    <a href="https://cdn.example/files/pkg-1.0.tar.gz#md5=123">pkg-1.0.tar.gz</a>
    <a href="pkg%2B-2.0.tar.gz">x</a>
    </body></html>"""
    parser = _Links("http://127.0.0.1:9/simple/pkg/")
    parser.feed(page)
    assert parser.links == [
        (
            "pkg-1.0-py3-none-any.whl",
            "abcdef",
            "http://127.0.0.1:9/packages/pkg-1.0-py3-none-any.whl",
        ),
        ("pkg-1.0.tar.gz", None, "https://cdn.example/files/pkg-1.0.tar.gz"),
        ("pkg+-2.0.tar.gz", None, "http://127.0.0.1:9/simple/pkg/pkg%2B-2.0.tar.gz"),
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../x", "not a plain file name"),
        ("/etc/passwd", "not a plain file name"),
        ("..", "not a plain file name"),
        ("pkg-1.0.tar.gz/../../x.tar.gz", "not a plain file name"),
        ("pkg-1.0\\x.tar.gz", "not a plain file name"),
        ("pkg-1.0\x00.tar.gz", "not a plain file name"),
        ("pkg-1.0\x1b[31m.tar.gz", "control or invisible"),
        ("pkg-1.0\u202e.tar.gz", "control or invisible"),
        ("pkg-1.0.exe", "not a wheel"),
        ("other-1.0.tar.gz", "a file of another package"),
        # valid as far as packaging parses them, but no real wheel or sdist has these characters
        ("pkg-1.0-py3-none-any[bold].whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-<error>.whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-any%2e.whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-a&b.whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-an y.whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-anyé.whl", "characters no distribution file name has"),
        ("pkg-1.0-py3-none-any.whl", None),
        ("Pkg-1.0.tar.gz", None),
        ("pkg-1!1.0+local.7-2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", None),
    ],
)
def test_only_plain_distribution_names_of_the_package_are_accepted(
    name: str, problem: str | None
) -> None:
    found = dist_filename_error(name, "pkg")
    assert (found is None) if problem is None else (found is not None and problem in found)


class _Package:
    def metadata_dictionary(self) -> dict[str, object]:
        return {
            "name": "pkg",
            "version": "1.0",
            "keywords": ["a", "b"],
            "classifiers": ["X :: Y", "Z"],
            "project_urls": {"Home": "https://h"},
            "summary": None,
            "gpg_signature": None,
            "sha256_digest": "ab" * 32,
        }


def test_the_upload_form_follows_the_legacy_api_without_twine_internals() -> None:
    assert upload_form(_Package()) == [
        ("name", "pkg"),
        ("version", "1.0"),
        ("keywords", "a, b"),
        ("classifiers", "X :: Y"),
        ("classifiers", "Z"),
        ("project_urls", "Home, https://h"),
        ("sha256_digest", "ab" * 32),
        (":action", "file_upload"),
        ("protocol_version", "1"),
    ]
