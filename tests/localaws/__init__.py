"""Local stand-ins for AWS: real pypiserver regions, a fake CodeArtifact control plane, moto STS.

Modules: ``regions`` (LocalAWS, LocalRegion: one pypiserver per region), ``fake_codeartifact``
(the control plane: tokens, endpoints, origin configuration, and the repository-reading
operations ListPackages, ListPackageVersions, ListPackageVersionAssets,
GetPackageVersionAsset, UpdatePackageVersionsStatus, DescribePackage, with pagination and
quotas), ``repository`` (a region's directory as the API sees it: versions, assets,
status and origin marks), ``index_server`` (pypiserver as each region runs it: a catalogue
backend and an upload log), ``catalogue`` (a directory's files in memory, checked with one
stat per request: what both stand-ins read), ``events`` (EventBridge events CodeArtifact
sends), ``dists`` (valid wheels and sdists of any size).
"""

from .dists import make_sdist, make_wheel, normalize
from .events import package_version_state_change, sample_event
from .fake_codeartifact import DEFAULT_QUOTAS, Call, FakeCodeArtifact, RegionSpec
from .regions import DEFAULT_REGIONS, DOMAIN, OWNER, REPOSITORY, LocalAWS, LocalRegion
from .repository import PackageStore

__all__ = [
    "DEFAULT_QUOTAS",
    "DEFAULT_REGIONS",
    "DOMAIN",
    "OWNER",
    "REPOSITORY",
    "Call",
    "FakeCodeArtifact",
    "LocalAWS",
    "LocalRegion",
    "PackageStore",
    "RegionSpec",
    "make_sdist",
    "make_wheel",
    "normalize",
    "package_version_state_change",
    "sample_event",
]
