"""README.md stays a front page (what, install, configure, commands, links) and its links work."""

from __future__ import annotations

import re

from tests.docs.conftest import ROOT

README = ROOT / "README.md"


def test_the_readme_is_10_kb_at_most():
    assert len(README.read_bytes()) <= 10 * 1024, "move the detail into docs/"


def test_every_relative_link_in_the_readme_names_a_file_of_the_checkout():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert local, "the README links into docs/"
    assert [link for link in local if not (ROOT / link).exists()] == []
