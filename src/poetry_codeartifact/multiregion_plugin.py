"""The Poetry application plugin, ``poetry publish-multiregion``: its entry point.

Poetry loads this module on every command: it must stay trivial and import nothing heavy.

The command class (cleo options, the core, botocore, twine) is imported only when
``publish-multiregion`` actually runs, through a lazy command-loader factory.

``poetry_codeartifact`` is a namespace package (no ``__init__.py``, no ``py.typed``) and
these modules have names of their own, so no file is shared with PyPI's poetry-codeartifact
(``poetry_codeartifact/__init__.py``, ``plugin.py``, ``commands.py``, ``settings.py``,
``py.typed``): both plugins install side by side, and uninstalling one leaves the other whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poetry.plugins.application_plugin import ApplicationPlugin

if TYPE_CHECKING:
    from poetry.console.application import Application

COMMAND_NAME = "publish-multiregion"


def _factory() -> Any:
    from .multiregion_command import PublishMultiregionCommand

    return PublishMultiregionCommand()


class CodeArtifactApplicationPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        application.command_loader.register_factory(COMMAND_NAME, _factory)
