"""The context cdk.json gives every synthesis, readable without importing aws_cdk.

app.py validates the settings before it starts the jsii kernel (seconds), so a bad ``-c`` is
reported at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """Feature flags and settings the cdk CLI would pass from cdk.json.

    ``python app.py`` and the tests build the App without the CLI; reading the same file keeps
    their templates identical to ``cdk synth``'s.
    """
    document = json.loads(CDK_JSON.read_text(encoding="utf-8"))
    context: dict[str, Any] = dict(document.get("context", {}))
    if document.get("versionReporting") is False:
        context["aws:cdk:version-reporting"] = False
    return context
