"""The CodeBuild buildspecs: publish (one package), replicate (one event), repair (everything).

Every build installs the publisher the same way: fetch the wheel from the deployment's asset
bucket, check its sha256 against the value synthesized into this buildspec, install that file.
Build tools are pinned to exact versions; nothing is installed by an unpinned public name.

The publisher's exit code is the publish build's verdict: 0 every region holds every file; 1
publish incomplete; 2 usage or config error. The ``--json`` report is printed to the build log
and copied to the reports bucket in ``finally``, which runs even when the publish failed
(CodePipeline keeps no output artifact of a failed action).
"""

from __future__ import annotations

import shlex
from typing import Any

from .assets import ShippedFile
from .policy import METRIC_NAMESPACE
from .settings import InfraSettings

REPORT_FILE = "publish-report.json"
SYNC_REPORT = "sync-report.json"
CONFIG_FILE = "codeartifact.toml"
REPORT_PREFIX = "reports"
PUBLISHER_DIR = "${TMPDIR:-/tmp}/codeartifact-publisher"

# Exact versions the plugins are tested with; bump them here on purpose.
BUILD_TOOLS: dict[str, str] = {
    "cli": "build==1.6.1",
    "poetry": "poetry==2.5.1",
    "hatch": "hatch==1.18.2",
}

PUBLISH_COMMANDS: dict[str, tuple[str, ...]] = {
    "cli": ("python -m build", f"codeartifact-multiregion publish --json > {REPORT_FILE}"),
    "poetry": (f"poetry publish-multiregion --build --json > {REPORT_FILE}",),
    "hatch": ("hatch build", f"hatch publish -p codeartifact -o json=true > {REPORT_FILE}"),
}
BASE_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}


def install_commands(wheel: ShippedFile, *tools: str) -> list[str]:
    """Fetch and verify the wheel, then install exactly that file (and pinned tools)."""
    pinned = " ".join(shlex.quote(t) for t in tools)
    return [
        *wheel.fetch_commands(),
        f'python -m pip install "./{wheel.filename}"' + (f" {pinned}" if pinned else ""),
    ]


def build_spec(settings: InfraSettings, wheel: ShippedFile) -> dict[str, Any]:
    """A buildspec 0.2 document for ``settings.publisher``."""
    workdir = "$CODEBUILD_SRC_DIR" + (
        "" if settings.project_dir == "." else f"/{settings.project_dir}"
    )
    pre_build = [f'cd "{workdir}"']
    # A profile named in the config does not exist in CodeBuild. An empty profile section
    # makes boto3 fall through to the container credentials of the build role.
    profiles = sorted({t.profile for t in settings.config.targets if t.profile})
    pre_build += [
        f"aws configure set region {settings.config.targets[0].region} --profile {shlex.quote(p)}"
        for p in profiles
    ]
    report_key = f"s3://$REPORT_BUCKET/{REPORT_PREFIX}/$CODEBUILD_BUILD_NUMBER-{REPORT_FILE}"
    return {
        "version": "0.2",
        "env": {"shell": "bash", "variables": dict(BASE_ENV)},
        "phases": {
            "install": {
                "runtime-versions": {"python": settings.python_version},
                # Outside the package's tree, so no build tool ever packs the wheel.
                "commands": [
                    f'mkdir -p "{PUBLISHER_DIR}" && cd "{PUBLISHER_DIR}"',
                    *install_commands(wheel, BUILD_TOOLS[settings.publisher]),
                ],
            },
            "pre_build": {"commands": pre_build},
            "build": {
                "commands": [f'cd "{workdir}"', *PUBLISH_COMMANDS[settings.publisher]],
                "finally": [
                    f'cd "{workdir}" && cat {REPORT_FILE} || true',
                    f'cd "{workdir}" && aws s3 cp --only-show-errors {REPORT_FILE} '
                    f'"{report_key}" || true',
                ],
            },
        },
        "artifacts": {
            "base-directory": settings.project_dir,
            "files": [REPORT_FILE],
            "discard-paths": "yes",
        },
    }


def _common(python_version: str, install: list[str]) -> dict[str, Any]:
    return {
        "version": "0.2",
        "env": {"shell": "bash", "variables": dict(BASE_ENV)},
        "phases": {
            "install": {"runtime-versions": {"python": python_version}, "commands": install},
        },
    }


def write_config_command() -> str:
    """The platform's config travels as plain text in CODEARTIFACT_CONFIG (no secrets in it)."""
    return f"printf '%s\\n' \"$CODEARTIFACT_CONFIG\" > {CONFIG_FILE}"


def replicate_spec(python_version: str, wheel: ShippedFile, script: ShippedFile) -> dict[str, Any]:
    """``sync --event`` for the one version the rule's event names; a replay is a no-op."""
    return _replicator_spec(
        python_version,
        wheel,
        script,
        [
            f"python {script.filename} | codeartifact-multiregion sync --event - "
            f"--project {CONFIG_FILE} --json > {SYNC_REPORT}",
        ],
    )


def _replicator_spec(
    python_version: str, wheel: ShippedFile, script: ShippedFile, commands: list[str]
) -> dict[str, Any]:
    """What the replicator's builds share: the pinned publisher and the script installed,
    the platform's config written, ``commands`` run, and the sync report printed even on
    failure."""
    spec = _common(
        python_version,
        ['cd "$CODEBUILD_SRC_DIR"', *install_commands(wheel), *script.fetch_commands()],
    )
    spec["phases"]["build"] = {
        "commands": ['cd "$CODEBUILD_SRC_DIR"', write_config_command(), *commands],
        "finally": [f'cd "$CODEBUILD_SRC_DIR" && cat {SYNC_REPORT} || true'],
    }
    return spec


def metric_command(variable: str, metric: str, dimensions: str) -> str:
    return (
        f"aws cloudwatch put-metric-data --namespace {METRIC_NAMESPACE} --metric-name {metric} "
        f'--dimensions {dimensions} --unit Count --value "${variable}"'
    )


def repair_spec(
    python_version: str, wheel: ShippedFile, script: ShippedFile, domain: str, repository: str
) -> dict[str, Any]:
    """``sync --all``, with the drift measured before (DriftedCells) and after (UnrepairedCells).

    The count comes from ``status --all --json`` through a stdlib script and reaches CloudWatch
    with ``put-metric-data``: CodeBuild's log agent does not mark its lines as embedded metric
    format, so EMF printed to the build log would never become a metric.
    """
    dimensions = f"Domain={shlex.quote(domain)},Repository={shlex.quote(repository)}"
    status = f"codeartifact-multiregion status --all --json --project {CONFIG_FILE}"
    return _replicator_spec(
        python_version,
        wheel,
        script,
        [
            # status exits 1 on drift: the count, not the exit code, is what matters here; a
            # report that is not a status report makes drift_count exit 2 and the build fail.
            f"{status} > before.json || true",
            f"DRIFTED=$(python {script.filename} before.json)",
            metric_command("DRIFTED", "DriftedCells", dimensions),
            f"codeartifact-multiregion sync --all --json --project {CONFIG_FILE} "
            f"> {SYNC_REPORT}; echo $? > sync.rc",
            f"{status} > after.json || true",
            f"UNREPAIRED=$(python {script.filename} after.json)",
            metric_command("UNREPAIRED", "UnrepairedCells", dimensions),
            # The sync's verdict is the build's (1: drift it could not repair), metrics sent first.
            'test "$(cat sync.rc)" = 0',
        ],
    )
