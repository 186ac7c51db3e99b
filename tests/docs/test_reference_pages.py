"""The reference pages that are written by hand say what the code does: every configuration
key, every environment variable with its default, every exit code, and nothing the code lacks."""

from __future__ import annotations

import re

from codeartifact_multiregion import config, errors
from codeartifact_multiregion.retry import ENV_SETTINGS, RetryPolicy
from tests.docs.conftest import page


def table_keys(text: str, heading: str) -> list[str]:
    """The first column of the table under ``heading``, backticks stripped."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_every_configuration_key_is_documented_and_no_other():
    text = page("reference/configuration.md")
    assert table_keys(text, "`[tool.codeartifact]`") == list(config.TOP_KEYS)
    assert table_keys(text, "`[tool.codeartifact.targets.REGION]`") == list(config.TARGET_KEYS)
    assert table_keys(text, "`[tool.codeartifact.access]`") == list(config.ACCESS_KEYS)


def test_the_documented_bounds_are_the_codes():
    text = page("reference/configuration.md")
    low, high = config.TOKEN_DURATION_RANGE
    assert f"| {low}..{high}, default {config.DEFAULT_TOKEN_DURATION} |" in text
    low, high = config.CONCURRENCY_RANGE
    assert f"| {low}..{high}, default {config.DEFAULT_CONCURRENCY} |" in text
    for pattern in (config.DOMAIN_RE, config.REPOSITORY_RE):
        assert f"`{pattern.pattern}`" in text


def test_every_environment_variable_is_documented_with_its_default():
    rows = dict(
        re.findall(
            r"^\| `(CODEARTIFACT_MULTIREGION_\w+)` \| ([^|]*) \|",
            page("reference/environment.md"),
            re.M,
        )
    )
    assert set(rows) == set(ENV_SETTINGS)
    defaults = RetryPolicy()
    for variable, (name, _, _) in ENV_SETTINGS.items():
        assert float(rows[variable]) == getattr(defaults, name), variable


def test_every_exit_code_is_documented_and_no_other():
    codes = re.findall(r"^\| (\d+) \|", page("reference/exit-codes.md"), re.M)
    expected = {errors.EXIT_OK, errors.EXIT_INCOMPLETE, errors.EXIT_USAGE, errors.EXIT_INTERRUPTED}
    assert sorted(map(int, codes)) == sorted(expected)
