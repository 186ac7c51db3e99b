"""Local stand-ins for AWS: real pypiserver regions, a fake CodeArtifact control plane, moto STS."""

from .dists import make_sdist, make_wheel, normalize
from .fake_codeartifact import Call, FakeCodeArtifact, RegionSpec
from .regions import DEFAULT_REGIONS, DOMAIN, OWNER, REPOSITORY, LocalAWS, LocalRegion

__all__ = [
    "DEFAULT_REGIONS",
    "DOMAIN",
    "OWNER",
    "REPOSITORY",
    "Call",
    "FakeCodeArtifact",
    "LocalAWS",
    "LocalRegion",
    "RegionSpec",
    "make_sdist",
    "make_wheel",
    "normalize",
]
