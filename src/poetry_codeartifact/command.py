"""``poetry publish-multiregion``: parse options, call the core, render with poetry's IO."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from poetry.console.commands.command import Command

_STYLE = {"uploaded": "info", "identical": "comment", "planned": "comment",
          "conflict": "error", "failed": "error"}


class PublishMultiregionCommand(Command):
    name = "publish-multiregion"
    description = "Publish the package to AWS CodeArtifact in every region of [tool.codeartifact]."
    options: ClassVar[list[Any]] = [
        option("build", None, "Build the package before publishing."),
        option("dist-dir", None, "Directory of the built distributions "
               "(default: [tool.codeartifact] dist-dir, else dist).", flag=False),
        option("region", None, "Only this configured region (repeatable).", flag=False,
               multiple=True),
        option("dry-run", None, "Resolve, read the indexes and print the plan; upload nothing."),
        option("json", None, "Print the JSON report on stdout and nothing else there."),
        option("concurrency", None, "Uploads in flight at once to each region (1..64).",
               flag=False),
    ]
    help = """Publishes the package's distributions to one AWS CodeArtifact repository per region,
as listed in [tool.codeartifact] of pyproject.toml. Files already there with the same sha256 are
skipped; a file name there with other bytes is a conflict and is never overwritten.

Exit codes: 0 every region holds every file; 1 incomplete; 2 configuration or input error."""

    def handle(self) -> int:
        from codeartifact_multiregion.errors import CodeArtifactError
        from codeartifact_multiregion.host import concurrency_option, publish_project

        if not self.poetry.is_package_mode:
            self.line_error("<error>Publishing a package is not possible in non-package mode.</>")
            return 2
        as_json = bool(self.option("json"))
        try:
            if self.option("build"):
                dist_dir = self.option("dist-dir") or "dist"
                status = self.call("build", f"--output {dist_dir}")
                if status:
                    return status
            report = publish_project(
                self.poetry.pyproject_path.parent,
                regions=self.option("region"),
                dist_dir=self.option("dist-dir"),
                concurrency=concurrency_option(self.option("concurrency")),
                dry_run=bool(self.option("dry-run")),
                on_event=None if as_json else self._render,
            )
        except CodeArtifactError as exc:
            from codeartifact_multiregion.report import redact

            self.line_error(f"<error>{redact(exc)}</>")
            return exc.exit_code
        if as_json:
            self.line(report.to_json())
        else:
            self.line("")
            self.line(report.render_text())
            if not report.ok:
                from codeartifact_multiregion.host import NEXT_STEPS

                self.line_error(f"<warning>{NEXT_STEPS}</>")
        return report.exit_code

    def _render(self, event: Any) -> None:
        from codeartifact_multiregion.progress import describe

        verbose = self.io.is_verbose()
        text = describe(event, verbose)
        if text is None:
            return
        style = _STYLE.get(event.outcome or "", "")
        if event.kind in ("target-failed",) or style == "error":
            self.line_error(f"<error>{text}</>")
        elif style:
            self.line(f"<{style}>{text}</>")
        else:
            self.line(text)
