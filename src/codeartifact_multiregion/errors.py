"""Exceptions that map to the documented exit codes.

Hosts (the CLI, poetry, hatch) catch these and print the message: they are written
for people, carry no traceback-worthy detail and never contain a token.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2


class CodeArtifactError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code = EXIT_INCOMPLETE


class UsageError(CodeArtifactError):
    """Bad configuration, flag or input file: nothing was uploaded."""

    exit_code = EXIT_USAGE


class ResolveError(CodeArtifactError):
    """A target's token or endpoint could not be had: nothing was uploaded."""

    exit_code = EXIT_INCOMPLETE
