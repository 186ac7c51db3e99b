"""Files the builds install or run, shipped as CDK assets and checked by sha256 before use.

The publisher is not on PyPI, and its name there is unclaimed: ``pip install
codeartifact-multiregion`` would run whoever registers it with a role that can publish to every
region. So every build fetches the publisher wheel from the deployment's own asset bucket and
checks its sha256 (computed here, at synth time, written into the buildspec) before pip sees it.
Without ``-c publisher-wheel`` the app builds the wheel of the checkout it sits in (hatchling
builds reproducibly, so the same source gives the same sha256).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from .settings import CHECKOUT, SettingsError

TOOLS = Path(__file__).resolve().parent / "tools"


@dataclass(frozen=True)
class ShippedFile:
    """One asset as a build sees it: where to fetch it, what to call it, what it must hash to."""

    variable: str  # environment variable holding the s3:// URL
    filename: str
    sha256: str
    asset: s3_assets.Asset

    def fetch_commands(self) -> list[str]:
        return [
            f'aws s3 cp --only-show-errors "${self.variable}" "{self.filename}"',
            f'echo "{self.sha256}  {self.filename}" | sha256sum --check --strict -',
        ]

    def grant_read(self, role: iam.IRole) -> None:
        """``s3:GetObject`` on this one object (Asset.grant_read would add bucket wildcards)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.asset.bucket.arn_for_objects(self.asset.s3_object_key)],
            )
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def checkout_wheel(root: Path = CHECKOUT) -> Path:
    """Build the publisher wheel of ``root`` once per process, in-process with hatchling."""
    pyproject = root / "pyproject.toml"
    if 'name = "codeartifact-multiregion"' not in pyproject.read_text(encoding="utf-8"):
        raise SettingsError(
            f"{root}: not a codeartifact-multiregion checkout, so there is no publisher to "
            "build. Pass -c publisher-wheel=PATH (a wheel your organisation built and checked)."
        )
    from hatchling.builders.wheel import WheelBuilder

    outdir = Path(tempfile.mkdtemp(prefix="publisher-wheel-"))
    built = list(WheelBuilder(str(root)).build(directory=str(outdir), versions=["standard"]))
    return Path(built[0])


def ship(scope: Construct, construct_id: str, path: Path, variable: str) -> ShippedFile:
    staged = path
    if path.suffix == ".py":
        # Copy so the asset is this one file, not the folder around it.
        staged = Path(tempfile.mkdtemp(prefix="asset-")) / path.name
        shutil.copyfile(path, staged)
    asset = s3_assets.Asset(scope, construct_id, path=str(staged))
    return ShippedFile(variable, path.name, sha256_of(staged), asset)


def publisher_wheel(scope: Construct, wheel: Path | None) -> ShippedFile:
    return ship(scope, "PublisherWheel", wheel or checkout_wheel(), "PUBLISHER_WHEEL_URL")


def tool(scope: Construct, name: str) -> ShippedFile:
    variable = name.upper().replace(".PY", "").replace("_", "") + "_URL"
    return ship(scope, f"Tool{name.replace('_', '').replace('.py', '')}", TOOLS / name, variable)
