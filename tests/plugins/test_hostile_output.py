"""Text from a hostile index reaches poetry's and hatch's output escaped (issue 11, row 4).

The real poetry and hatch CLIs publish to the local regions; one region's endpoint is a
hostile server (tests/faults/hostile.py) that lists names carrying escape sequences and
markup, and refuses uploads with a reason phrase and body full of them. Poetry runs with
``--ansi`` so cleo applies its tags: a ``<error>`` from outside must print as text, never
style or break the output. Hatch's console renders no markup, but control characters would
still pass through it raw. Neither may show a raw ESC/OSC/BEL from the index, nor crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.faults.hostile import HostileIndex, sha256
from tests.faults.hostile import status as answer
from tests.localaws.dists import make_sdist, make_wheel
from tests.plugins.test_hatch import hatch_project
from tests.plugins.test_hatch import publish as hatch_publish
from tests.plugins.test_poetry import poetry, poetry_project

OSC = "\x1b]0;pwned\x07"
CSI = "\x1b[2J"
pytestmark = pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")


@pytest.fixture
def hostile_victim(regions) -> Iterator[tuple[str, HostileIndex]]:
    victim = list(regions.regions)[1]
    with HostileIndex(regions.regions[victim].port) as bad:
        regions.route(victim, bad.url)
        yield victim, bad


def arm(bad: HostileIndex, wheel: str) -> None:
    """Bad names on the project page; uploads refused with escapes and markup."""
    digest = sha256(b"x")
    for raw in (
        wheel.replace(".whl", OSC + ".whl"),
        wheel.replace(".whl", CSI + ".whl"),
        wheel.replace("any", "<error>x</error>"),
        wheel.replace("any", "any[bold]"),
    ):
        bad.links.append(f'<a href="/evil/{quote(raw, safe="")}#sha256={digest}">x</a>')
    bad.routes["/"] = answer(400, f"Bad {OSC}<error>", f"{CSI}nope </> [/bold] {OSC}".encode())


def assert_escaped(text: str) -> None:
    assert OSC not in text and CSI not in text
    assert "\x1b]" not in text and "\x07" not in text
    assert "\\x1b]0;pwned\\x07" in text, "the sequence is shown, escaped"
    assert "Traceback" not in text and "MarkupError" not in text


def test_poetry_prints_an_indexs_escapes_and_tags_as_text(regions, hostile_victim, tmp_path):
    victim, bad = hostile_victim
    root = poetry_project(regions, tmp_path / "proj")
    make_wheel(root / "dist", "hello-internal", "1.0.0")
    make_sdist(root / "dist", "hello-internal", "1.0.0")
    arm(bad, "hello_internal-1.0.0-py3-none-any.whl")

    result = poetry(regions, "--ansi", "publish-multiregion", cwd=root, tmp=tmp_path)

    assert result.code == 1, result.err
    assert_escaped(result.out + result.err)
    assert "<error>x</error>" in result.out + result.err, "a tag from outside stays text"
    assert regions.regions[victim].files() == {}
    others = [r for r in regions.regions if r != victim]
    assert all(len(regions.regions[r].files()) == 2 for r in others)


def test_hatch_prints_an_indexs_escapes_and_markup_as_text(regions, hostile_victim, tmp_path):
    victim, bad = hostile_victim
    root = hatch_project(regions, tmp_path / "project")
    make_wheel(root / "dist", "hello-hatch", "1.0.0")
    make_sdist(root / "dist", "hello-hatch", "1.0.0")
    arm(bad, "hello_hatch-1.0.0-py3-none-any.whl")

    result = hatch_publish(regions, root)

    assert result.code == 1, result.err
    assert_escaped(result.out + result.err)
    assert "[/bold]" in result.out + result.err
    assert regions.regions[victim].files() == {}


@pytest.mark.parametrize("host", ["poetry", "hatch"])
def test_a_config_error_with_escapes_and_tags_is_printed_escaped(host, regions, tmp_path):
    """The error path (``_fail`` / ``app.abort``) escapes what came from the file too."""
    value = "eu-west-1\\u001b]0;pwned\\u0007<error>x</error>[/bold]"
    if host == "poetry":
        root = poetry_project(regions, tmp_path / "proj")
    else:
        root = hatch_project(regions, tmp_path / "project")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"eu-west-1"', f'"{value}"', 1))
    if host == "poetry":
        result = poetry(regions, "--ansi", "publish-multiregion", cwd=root, tmp=tmp_path)
    else:
        result = hatch_publish(regions, root)
    text = result.out + result.err
    assert result.code == 2, text
    assert "codeartifact.regions" in text
    assert_escaped(text)
    assert "<error>x</error>[/bold]" in text
