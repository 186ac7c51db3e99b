"""MkDocs hook: the command-line reference, generated from the CLI's own argparse parsers.

A page marks where a command's reference goes with ``<!-- cli COMMAND -->`` (``<!-- cli -->``
for the top level); the build replaces the marker with the command's usage, description and a
table of its arguments, read from ``codeartifact_multiregion.cli.build_parser()``. A flag added,
renamed or removed in the code therefore shows in the docs at the next build, and a marker for a
command that no longer exists fails the build.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from codeartifact_multiregion.cli import build_parser

MARKER = re.compile(r"<!-- cli(?: (?P<command>[a-z-]+))? -->")
# Wide enough that no usage line wraps on a phone-width table either way; fixed, so the output
# does not depend on the terminal the build runs in.
WIDTH = 88


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name, in the order ``--help`` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _names(action: argparse.Action) -> str:
    """How a user writes the argument: ``--region R``, ``--tool {pip,uv}``, ``FILES``."""
    if not action.option_strings:
        return str(action.metavar or action.dest)
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    if action.choices:
        value = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        value = str(action.metavar or action.dest.upper())
    return ", ".join(f"{flag} {value}" for flag in action.option_strings)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    text = formatter._expand_help(action) if action.help else ""
    return " ".join(text.split()).replace("|", "\\|")


def arguments(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(how it is written, what it does) for every argument but ``--help``."""
    return [
        (_names(a), _help(parser, a))
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def reference(parser: argparse.ArgumentParser) -> str:
    """One parser's reference: usage, description, the argument table (or the commands)."""
    parts = [f"```text\n{usage(parser)}\n```"]
    if parser.description:
        parts.append(" ".join(parser.description.split()))
    rows = arguments(parser)
    commands = subparsers(parser)
    if commands:
        rows += [(name, _command_help(parser, name)) for name in commands]
    if rows:
        table = ["| argument | meaning |", "|---|---|"]
        table += [f"| `{names}` | {text} |" for names, text in rows]
        parts.append("\n".join(table))
    return "\n\n".join(parts)


def _command_help(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return " ".join(str(choice.help or "").split())
    return ""


def render(markdown: str) -> str:
    """``markdown`` with every marker replaced by its command's reference."""
    parser = build_parser()
    commands = subparsers(parser)

    def expand(match: re.Match[str]) -> str:
        name = match.group("command")
        if name is None:
            return reference(parser)
        if name not in commands:
            raise ValueError(
                f"<!-- cli {name} -->: no such command; the CLI has {', '.join(commands)}"
            )
        return reference(commands[name])

    return MARKER.sub(expand, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs' hook: runs on every page's Markdown before it is rendered."""
    return render(markdown)
