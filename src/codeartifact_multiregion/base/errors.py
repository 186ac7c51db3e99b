"""Every error the core raises on purpose, and the exit codes they map to.

Hosts (the CLI, poetry, hatch) catch ``CodeArtifactError`` and print the message:
messages are written for people, name the file, key or region and the fix, carry no
traceback-worthy detail and never contain a token.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CodeArtifactError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code = EXIT_INCOMPLETE


class UsageError(CodeArtifactError):
    """Bad configuration, flag or input file: nothing was uploaded."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A problem in ``[tool.codeartifact]`` or in a flag that narrows it."""


class ArtifactError(UsageError):
    """A distribution file is missing, unreadable or does not belong to this release."""


class ResolveError(CodeArtifactError):
    """A target's token or endpoint could not be had: nothing was uploaded."""


class IndexReadError(CodeArtifactError):
    """A region's index (or a file on it) could not be read; the message is redacted."""


class Interrupted(CodeArtifactError):
    """The run was stopped (SIGINT or SIGTERM): no new request starts after it."""

    exit_code = EXIT_INTERRUPTED
