#!/usr/bin/env python3
"""Entry point for ``cdk synth`` / ``cdk deploy`` (and ``python app.py -c pyproject=...``).

It reads ``[tool.codeartifact]`` through the publisher's own loader, so a config the publisher
would reject is rejected here too, with the same message and exit code 2, before any template
is written.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    from codeartifact_multiregion.base.config import ConfigError
except ImportError:  # pragma: no cover - only when deploying from a checkout without pip install
    sys.path.insert(0, str(HERE.parent / "src"))
    from codeartifact_multiregion.base.config import ConfigError
from codeartifact_multiregion.kit.host import safe_message  # noqa: E402

sys.path.insert(0, str(HERE))
# Not build_app: importing it loads aws_cdk and starts the jsii kernel (Node.js), which a
# bad -c value or config must never wait for. It is imported once the settings are valid.
from stacks import InfraSettings, cdk_json_context  # noqa: E402
from stacks.settings import check_context_keys  # noqa: E402


def context_from_argv(argv: Sequence[str]) -> dict[str, str]:
    """``-c key=value`` pairs, for running ``python app.py`` without the cdk CLI.

    The CLI passes its own ``-c`` values through the environment instead, so under ``cdk``
    there is nothing here to parse.
    """
    context: dict[str, str] = {}
    args = list(argv)
    for index, arg in enumerate(args):
        value = None
        if arg in ("-c", "--context") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--context="):
            value = arg.split("=", 1)[1]
        if value is not None and "=" in value:
            key, _, val = value.partition("=")
            context[key] = val
    return context


def main(argv: Sequence[str] | None = None) -> int:
    # cdk.json's flags as defaults: the CLI passes them itself (and its values win), but
    # `python app.py` must build the same templates without it.
    given = context_from_argv(sys.argv[1:] if argv is None else argv)
    context = {**cdk_json_context(), **given}
    # Outside the CLI, write where `cdk synth` would, so `make synth` leaves the templates
    # in infra_cdk/cdk.out.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(HERE / "cdk.out")
    try:
        # Under the cdk CLI the -c values arrive in CDK_CONTEXT_JSON, with cdk.json's.
        cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
        check_context_keys([*given, *cli_context])
        # Validated before aws_cdk is imported: a bad input never starts the jsii kernel.
        settings = InfraSettings.from_context({**context, **cli_context}.get)
        from aws_cdk import App
        from stacks import build_app

        app = App(context=context, outdir=outdir)
        build_app(app, settings)
    except ConfigError as exc:
        # -c values, cdk.json and pyproject.toml are the user's files: shown, never obeyed.
        print(f"error: {safe_message(exc)}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
