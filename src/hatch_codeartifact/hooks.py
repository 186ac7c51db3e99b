"""Hatch entry point. hatchling loads the ``hatch`` group too (where hatch may be absent),
so nothing from hatch is imported here until hatch asks for the publisher."""

from __future__ import annotations

from typing import Any

from hatchling.plugin import hookimpl


@hookimpl
def hatch_register_publisher() -> Any:
    from .publisher import CodeArtifactPublisher

    return CodeArtifactPublisher
