"""The host kit: what the CLI, poetry and hatch share for options, errors and styling."""

from __future__ import annotations

import json

import pytest

from codeartifact_multiregion import host
from codeartifact_multiregion.config import CONCURRENCY_RANGE
from codeartifact_multiregion.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)
from codeartifact_multiregion.report import Outcome
from codeartifact_multiregion.secrets import MASK, register_secret


def test_error_document_is_one_json_object_redacted_and_printable() -> None:
    register_secret("tok-ERRDOC-123456")
    doc = json.loads(host.error_document("bad tok-ERRDOC-123456 \x1b[2J", EXIT_USAGE))
    assert doc == {"ok": False, "error": f"bad {MASK} \\x1b[2J", "exit_code": EXIT_USAGE}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (EXIT_INCOMPLETE, EXIT_INCOMPLETE),
        (EXIT_USAGE, EXIT_USAGE),
        (EXIT_INTERRUPTED, EXIT_INTERRUPTED),
        (EXIT_OK, EXIT_INCOMPLETE),
        (7, EXIT_INCOMPLETE),
    ],
)
def test_error_document_exit_code_is_always_a_failure_code(given: int, kept: int) -> None:
    assert json.loads(host.error_document("x", given))["exit_code"] == kept


@pytest.mark.parametrize("command", ["publish", "sync", "status"])
def test_next_steps_names_the_command_that_helps(command: str) -> None:
    text = host.next_steps(command)
    assert text == host.NEXT_STEPS[command]
    assert "codeartifact-multiregion sync" in text or "`sync` again" in text
    if command != "status":
        assert "codeartifact-multiregion status" in text


def test_next_steps_for_an_unknown_command_is_publishs() -> None:
    assert host.next_steps("poetry-publish") == host.NEXT_STEPS["publish"]


@pytest.mark.parametrize(
    ("outcome", "style"),
    [
        (Outcome.UPLOADED, host.SUCCESS),
        (Outcome.IDENTICAL, host.INFO),
        (Outcome.PLANNED, host.INFO),
        (Outcome.CONFLICT, host.ERROR),
        (Outcome.FAILED, host.ERROR),
    ],
)
def test_style_of_each_outcome(outcome: Outcome, style: str) -> None:
    assert host.style_of(outcome) == style
    assert host.style_of(outcome.value) == style, "the JSON string means the same"


def test_every_outcome_has_a_style() -> None:
    assert set(host.OUTCOME_STYLE) == set(Outcome)


@pytest.mark.parametrize("value", [None, "exploded", ""])
def test_style_of_no_or_unknown_outcome_is_none(value: str | None) -> None:
    assert host.style_of(value) is None


def test_safe_message_redacts_and_escapes_but_keeps_lines() -> None:
    register_secret("tok-SAFE-987654")
    out = host.safe_message("first tok-SAFE-987654\nsecond \x07 https://u:pw@h.example/")
    assert out == f"first {MASK}\nsecond \\x07 https://{MASK}@h.example/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (True, True),
        (False, False),
        ("", True),
        ("1", True),
        ("yes", True),
        ("ON", True),
        (" true ", True),
        ("0", False),
        ("no", False),
        ("off", False),
        ("False", False),
    ],
)
def test_flag_option_reads_yes_and_no(value: object, expected: bool) -> None:
    assert host.flag_option(value, "dry-run") is expected


def test_flag_option_refuses_anything_else_naming_the_option() -> None:
    with pytest.raises(UsageError) as caught:
        host.flag_option("maybe\x1b", "json")
    message = str(caught.value)
    assert message.startswith("json=maybe\\x1b") and "Use json or json=false" in message


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), ("8", 8), (4, 4), (" 16 ", 16)]
)
def test_concurrency_option_parses_a_whole_number(value: object, expected: int | None) -> None:
    assert host.concurrency_option(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["many", "2.5", True, "\x1b[31m"])
def test_concurrency_option_refuses_a_non_number_naming_the_flag(value: object) -> None:
    with pytest.raises(UsageError) as caught:
        host.concurrency_option(value, name="-o concurrency")  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith("-o concurrency: ")
    assert "{} to {}".format(*CONCURRENCY_RANGE) in message
    assert "\x1b" not in message
