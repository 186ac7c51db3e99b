"""``python -m codeartifact_multiregion``."""

from .cli import run

run()
