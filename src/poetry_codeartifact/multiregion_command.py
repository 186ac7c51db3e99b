"""``poetry publish-multiregion``: parse options, call the core, render with poetry's IO.

Output follows poetry's conventions: progress and the report on stdout, errors on stderr,
``-v`` adds per-file attempts and timings, ``-q`` leaves only errors. With ``--json`` the
report is the only thing on stdout (``--build``'s output goes to stderr) and it is printed
even with ``-q``, as a machine report must be.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import option
from cleo.io.outputs.output import Type, Verbosity
from poetry.console.commands.command import Command

if TYPE_CHECKING:
    from codeartifact_multiregion.events import Event

# The core's outcome meanings (host.SUCCESS/INFO/ERROR) in cleo's styles.
_STYLE = {"success": "info", "info": "comment", "error": "error"}


class PublishMultiregionCommand(Command):
    name = "publish-multiregion"
    description = "Publish the package to AWS CodeArtifact in every region of [tool.codeartifact]."
    options: ClassVar[list[Any]] = [
        option("build", None, "Build the package before publishing."),
        option(
            "dist-dir",
            None,
            "Directory of the built distributions "
            "(default: [tool.codeartifact] dist-dir, else dist).",
            flag=False,
        ),
        option(
            "region", None, "Only this configured region (repeatable).", flag=False, multiple=True
        ),
        option("dry-run", None, "Resolve, read the indexes and print the plan; upload nothing."),
        option("json", None, "Print the JSON report on stdout and nothing else there."),
        option(
            "concurrency", None, "Uploads in flight at once to each region (1..64).", flag=False
        ),
    ]
    help = """Publishes the package's distributions to one AWS CodeArtifact repository per region,
as listed in [tool.codeartifact] of pyproject.toml. Files already there with the same sha256 are
skipped; a file name there with other bytes is a conflict and is never overwritten.

Exit codes: 0 every region holds every file; 1 incomplete; 2 configuration or input error."""

    def handle(self) -> int:
        from codeartifact_multiregion.errors import CodeArtifactError

        if not self.poetry.is_package_mode:
            return self._fail("Publishing a package is not possible in non-package mode.", 2)
        try:
            if self.option("json"):
                with self._logs_to_stderr():
                    return self._publish()
            return self._publish()
        except CodeArtifactError as exc:
            return self._fail(exc, exc.exit_code)
        except KeyboardInterrupt:
            from codeartifact_multiregion.errors import EXIT_INTERRUPTED

            return self._fail("interrupted", EXIT_INTERRUPTED)

    def _publish(self) -> int:
        from codeartifact_multiregion import host

        # Check the configuration and the flags before building: a mistake there costs
        # nothing, and the build writes where the publish will look.
        config = host.load(
            self.poetry.pyproject_path.parent,
            self.option("region"),
            concurrency=host.concurrency_option(self.option("concurrency")),
            dist_dir=self.option("dist-dir"),
        )
        if self.option("build"):
            status = self._build(config.dist_dir)
            if status:
                return status
        as_json = bool(self.option("json"))
        report = host.publish_project(
            config, dry_run=bool(self.option("dry-run")), on_event=None if as_json else self._render
        )
        if as_json:
            self._write_json(report.to_json())
            return report.exit_code
        self.line("")
        self.line(Formatter.escape(report.render_text()))
        if not report.ok:
            self.io.write_error_line(
                f"<warning>{Formatter.escape(host.next_steps('publish'))}</>", Verbosity.QUIET
            )
        return report.exit_code

    def _build(self, dist_dir: Path) -> int:
        """Run poetry's own ``build``; with ``--json`` its output goes to stderr."""
        from cleo.io.inputs.argv_input import ArgvInput
        from cleo.io.io import IO

        assert self.application is not None
        command = self.application.get("build")
        build_input = ArgvInput(["build", "--output", str(dist_dir)])
        build_input.interactive(self.io.is_interactive())
        out = self.io.error_output if self.option("json") else self.io.output
        return int(
            self.application._run_command(command, IO(build_input, out, self.io.error_output))
        )

    @contextmanager
    def _logs_to_stderr(self) -> Iterator[None]:
        """Keep stdout for the JSON document: poetry's log handler writes INFO records
        (the builder's "- Built ..." lines, third-party logs with -vv) to stdout."""
        from cleo.io.io import IO
        from poetry.console.logging.io_handler import IOHandler

        root = logging.getLogger()
        saved = root.handlers[:]
        to_stderr = IO(self.io.input, self.io.error_output, self.io.error_output)
        replaced: list[logging.Handler] = []
        for handler in saved:
            if isinstance(handler, IOHandler):
                new = IOHandler(to_stderr)
                new.setLevel(handler.level)
                new.setFormatter(handler.formatter)
                new.filters = list(handler.filters)
                handler = new
            replaced.append(handler)
        root.handlers = replaced
        try:
            yield
        finally:
            root.handlers = saved

    def _write_json(self, text: str) -> None:
        self.io.output.write_line(text, verbosity=Verbosity.QUIET, type=Type.RAW)

    def _fail(self, message: object, exit_code: int) -> int:
        """Errors show even with ``-q``; with ``--json`` stdout still gets a document."""
        from codeartifact_multiregion.host import error_document, safe_message

        if self.option("json"):
            self._write_json(error_document(message, exit_code))
        self.io.write_error_line(
            f"<error>{Formatter.escape(safe_message(message))}</>", Verbosity.QUIET
        )
        return exit_code

    def _render(self, event: Event) -> None:
        from codeartifact_multiregion.host import style_of
        from codeartifact_multiregion.progress import describe

        text = describe(event, self.io.is_verbose())
        if text is None:
            return
        text = Formatter.escape(text)
        style = _STYLE.get(style_of(event.outcome) or "", "")
        if event.kind == "target-failed" or style == "error":
            self.io.write_error_line(f"<error>{text}</>", Verbosity.QUIET)
        elif event.kind == "retry":
            self.io.write_error_line(f"<warning>{text}</>")
        elif style:
            self.line(f"<{style}>{text}</>")
        else:
            self.line(text)
