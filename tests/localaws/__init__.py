"""Local stand-ins for AWS: real pypiserver regions and a fake CodeArtifact control plane."""

from .regions import LocalAWS, LocalRegion

__all__ = ["LocalAWS", "LocalRegion"]
