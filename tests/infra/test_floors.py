"""The infra floors are declared once and mean the same thing everywhere they are written.

The floors themselves are tested by running this suite with every direct dependency at its
lowest allowed version (``uv pip install --resolution lowest-direct``; see the noxfile's
``infra-lowest`` session). This test keeps the two places that declare them in step.
"""

from __future__ import annotations

import re
import sys

from packaging.requirements import Requirement

from tests.infra.assembly import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _floors(requirements: list[str]) -> dict[str, str]:
    out = {}
    for line in requirements:
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                out[requirement.name] = spec.version
    return out


def test_requirements_txt_has_the_infra_extras_floors() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["infra"]
    lines = [
        ln.strip()
        for ln in (ROOT / "infra_cdk" / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    declared = _floors(extra)
    deployed = _floors(lines)
    assert {k: declared[k] for k in deployed} == deployed
    # What the code needs (README: Requirements): cdk-nag 3's plugin API, brace-aware
    # acknowledgement IDs (aws-cdk-lib 2.269), constructs as cdk-nag 3 requires.
    assert declared["cdk-nag"] == "3"
    assert tuple(int(p) for p in re.findall(r"\d+", declared["aws-cdk-lib"])) >= (2, 269)
    assert declared["constructs"] == "10.5.1"
