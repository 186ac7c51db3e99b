"""Publish Python distributions to AWS CodeArtifact in several regions at once."""

__version__ = "0.1.0"
