"""Every error the core raises on purpose, and the exit code each one means to a host."""

from __future__ import annotations

import pytest

from codeartifact_multiregion import errors
from codeartifact_multiregion.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ArtifactError,
    CodeArtifactError,
    ConfigError,
    IndexReadError,
    Interrupted,
    ResolveError,
    UsageError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError, EXIT_USAGE),
        (ConfigError, EXIT_USAGE),
        (ArtifactError, EXIT_USAGE),
        (ResolveError, EXIT_INCOMPLETE),
        (IndexReadError, EXIT_INCOMPLETE),
        (Interrupted, EXIT_INTERRUPTED),
        (CodeArtifactError, EXIT_INCOMPLETE),
    ],
)
def test_each_error_maps_to_its_exit_code(error: type[CodeArtifactError], code: int) -> None:
    assert error("x").exit_code == code
    assert issubclass(error, CodeArtifactError), "a host catches them all with one clause"


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert (errors.EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_INTERRUPTED) == (0, 1, 2, 130)


def test_bad_input_errors_are_usage_errors() -> None:
    """Nothing was uploaded for any of these, which is what exit code 2 promises."""
    assert issubclass(ConfigError, UsageError) and issubclass(ArtifactError, UsageError)
