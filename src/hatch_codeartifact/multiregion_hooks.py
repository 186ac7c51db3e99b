"""The Hatch publisher plugin, ``hatch publish -p codeartifact``: its entry point.

hatchling loads the ``hatch`` group too (where hatch may be absent),
so nothing from hatch is imported here until hatch asks for the publisher.

``hatch_codeartifact`` is a namespace package with module names of its own, by the same rule
as ``poetry_codeartifact``: no file path is shared with another distribution.
"""

from __future__ import annotations

from typing import Any

from hatchling.plugin import hookimpl


@hookimpl
def hatch_register_publisher() -> Any:
    from .multiregion_publisher import CodeArtifactPublisher

    return CodeArtifactPublisher
