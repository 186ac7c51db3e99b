"""Poetry loads this module on every command: it must stay trivial and import nothing heavy.

The command class (cleo options, the core, botocore, twine) is imported only when
``publish-multiregion`` actually runs, through a lazy command-loader factory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poetry.plugins.application_plugin import ApplicationPlugin

if TYPE_CHECKING:
    from poetry.console.application import Application

COMMAND_NAME = "publish-multiregion"


def _factory() -> Any:
    from .command import PublishMultiregionCommand

    return PublishMultiregionCommand()


class CodeArtifactApplicationPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        application.command_loader.register_factory(COMMAND_NAME, _factory)
