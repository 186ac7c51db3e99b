"""The CodeBuild buildspec that installs a build tool and this plugin and runs the publish.

The publisher's exit code is the build's verdict: 0 every region holds every file; 1 publish
incomplete; 2 usage or config error. Any non-zero code fails the build phase and so the
pipeline's Build stage. The ``--json`` report is kept as the action's output artifact and
printed to the log in ``finally``, which runs even when the publish failed.
"""

from __future__ import annotations

import shlex
from typing import Any

from .settings import InfraSettings

REPORT_FILE = "publish-report.json"

# Per publisher: what pip installs next to the plugin, and the commands that build and publish.
PUBLISH_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cli": (
        "build",
        ("python -m build", f"codeartifact-multiregion publish --json > {REPORT_FILE}"),
    ),
    "poetry": (
        "poetry>=2",
        (f"poetry publish-multiregion --build --json > {REPORT_FILE}",),
    ),
    "hatch": (
        "hatch>=1.12",
        ("hatch build", f"hatch publish -p codeartifact -o json=true > {REPORT_FILE}"),
    ),
}


def build_spec(settings: InfraSettings) -> dict[str, Any]:
    """A buildspec 0.2 document for ``settings.publisher``."""
    tool, commands = PUBLISH_COMMANDS[settings.publisher]
    workdir = "$CODEBUILD_SRC_DIR" + (
        "" if settings.project_dir == "." else f"/{settings.project_dir}"
    )
    install = f"python -m pip install {shlex.quote(tool)} {shlex.quote(settings.plugin_spec)}"
    pre_build = [f'cd "{workdir}"']
    # A profile named in the config does not exist in CodeBuild. An empty profile section
    # makes boto3 fall through to the container credentials of the build role.
    profiles = sorted({t.profile for t in settings.config.targets if t.profile})
    pre_build += [
        f"aws configure set region {settings.config.targets[0].region} --profile {shlex.quote(p)}"
        for p in profiles
    ]
    return {
        "version": "0.2",
        "env": {
            "shell": "bash",
            "variables": {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"},
        },
        "phases": {
            "install": {
                "runtime-versions": {"python": settings.python_version},
                "commands": [install],
            },
            "pre_build": {"commands": pre_build},
            "build": {
                "commands": [f'cd "{workdir}"', *commands],
                "finally": [f'cd "{workdir}" && cat {REPORT_FILE} || true'],
            },
        },
        "artifacts": {
            "base-directory": settings.project_dir,
            "files": [REPORT_FILE],
            "discard-paths": "yes",
        },
    }
