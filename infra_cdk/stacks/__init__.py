"""Stacks for the regional repositories and the pipeline that runs the publisher.

The modules import each other relatively so the same code works as ``stacks`` (``cdk`` runs
``app.py`` from this folder) and as ``infra_cdk.stacks`` (the tests import it from the root).
"""

from .app_builder import AppStacks, build_app, cdk_json_context
from .settings import InfraSettings

__all__ = ["AppStacks", "InfraSettings", "build_app", "cdk_json_context"]
