"""Stacks of the organisation layout: platform, package, and the one-package quick start.

The modules import each other relatively so the same code works as ``stacks`` (``cdk`` runs
``app.py`` from this folder) and as ``infra_cdk.stacks`` (the tests import it from the root).
Importing this package is cheap: ``build_app`` (and with it aws_cdk and the jsii kernel) loads
on first use, so settings are validated before Node.js starts.
"""

from __future__ import annotations

from typing import Any

from .context import cdk_json_context
from .settings import InfraSettings

__all__ = ["AppStacks", "InfraSettings", "build_app", "cdk_json_context"]


def __getattr__(name: str) -> Any:
    if name in ("AppStacks", "build_app"):
        from . import app_builder

        return getattr(app_builder, name)
    raise AttributeError(name)
