"""docs/hooks/cli_reference.py: the CLI reference is the parsers' own, every command and flag."""

from __future__ import annotations

import argparse
import re

import pytest

from codeartifact_multiregion.cli import build_parser
from tests.docs.conftest import cli_reference, page

HOOK = cli_reference()
COMMANDS = list(HOOK.subparsers(build_parser()))


def test_the_cli_page_has_a_generated_section_for_every_command():
    markers = re.findall(r"<!-- cli ?([a-z-]*) -->", page("reference/cli.md"))
    assert markers == ["", *COMMANDS]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_of_a_command_is_in_its_reference_with_what_it_does(command):
    parser = HOOK.subparsers(build_parser())[command]
    text = HOOK.render(f"<!-- cli {command} -->")
    assert f"usage: codeartifact-multiregion {command}" in text
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*) \|$", text, re.M))
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        row = next(
            names
            for names in rows
            if all(f in names for f in action.option_strings)
            and (action.option_strings or str(action.metavar) in names)
        )
        assert rows[row].strip(), f"{command} {row}: no help text in cli.py"


def test_choices_and_metavars_are_written_as_a_user_types_them():
    text = HOOK.render("<!-- cli env -->")
    assert "| `--tool {pip,uv}` |" in text
    assert "| `--probe-timeout S` |" in text and "(default 2)" in text


def test_a_marker_for_a_command_the_cli_does_not_have_fails_the_build():
    with pytest.raises(ValueError, match="no such command; the CLI has publish, status"):
        HOOK.render("<!-- cli publsh -->")


def test_the_usage_does_not_depend_on_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = HOOK.render("<!-- cli sync -->")
    monkeypatch.setenv("COLUMNS", "300")
    assert HOOK.render("<!-- cli sync -->") == narrow
