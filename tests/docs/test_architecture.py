"""The architecture page is the one module map, and it is the code's: every module under src/
is on it, and every module on it exists."""

from __future__ import annotations

import re

from tests.docs.conftest import ROOT, page

SRC = ROOT / "src"


def mapped() -> set[str]:
    """Each module the page's module tables name (above "Around the code"), as a path under
    src/."""
    tables = page("explanation/architecture.md").split("## Around the code", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+`) \|", tables, re.M):
        for name in re.findall(r"`([\w/]+\.py)`", row):
            plugin = name.startswith(("poetry_codeartifact/", "hatch_codeartifact/"))
            names.add(name if plugin else f"codeartifact_multiregion/{name}")
    return names


def test_every_module_is_on_the_map_and_nothing_else():
    modules = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
    assert mapped() == modules


def test_contributing_links_to_the_map_rather_than_keeping_its_own():
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    assert "docs/explanation/architecture.md" in contributing
    assert "`engine.py`" not in contributing and "| `src/codeartifact_multiregion/` |" not in (
        contributing
    )
