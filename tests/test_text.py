"""printable: text from outside reaches a terminal without a control character in it."""

from __future__ import annotations

import pytest

from codeartifact_multiregion.text import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),  # ESC: a CSI colour sequence
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC sets the window title, BEL rings
        ("a\rb", "a\\rb"),  # CR rewrites the line
        ("tab\there", "tab\\there"),
        ("del\x7f", "del\\x7f"),  # DEL
        ("c1\x9b31m", "c1\\x9b31m"),  # C1 CSI
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),  # RIGHT-TO-LEFT OVERRIDE (bidi)
        ("zw\u200bj", "zw\\u200bj"),  # zero-width space (format character)
        ("line\u2028sep", "line\\u2028sep"),  # LINE SEPARATOR
        ("nul\x00", "nul\\x00"),
    ],
)
def test_control_and_format_characters_are_shown_as_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        "hello_internal-1.0.0-py3-none-any.whl",
        "café",
        "名前",
        "Ünïcödé ✓",
        "emoji 📦",
        "[/bold] markup is not ours",
    ],
)
def test_normal_unicode_is_kept_as_it_is(text: str) -> None:
    assert printable(text) == text


def test_newlines_are_escaped_unless_kept() -> None:
    assert printable("a\nb") == "a\\nb"
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"


def test_any_object_is_shown_by_its_str() -> None:
    assert printable(ValueError("bad\x07")) == "bad\\x07"
