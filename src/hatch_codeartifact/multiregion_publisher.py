"""``hatch publish -p codeartifact``: hatch options in, one core call, hatch output out.

stdout carries the result (the summary, or the JSON document with ``-o json``); progress
lines and errors go to stderr, as with the standalone CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch.publish.plugin.interface import PublisherInterface

if TYPE_CHECKING:
    from codeartifact_multiregion.events import Event

# Options hatch always passes; not the user's to set.
_HATCH_OWN = {"no_prompt", "initialize_auth"}
OPTIONS = ("region", "dry-run", "json", "concurrency", "dist-dir")


class CodeArtifactPublisher(PublisherInterface):
    PLUGIN_NAME = "codeartifact"

    @property
    def disable(self) -> bool:
        """hatch's own check raises TypeError (a traceback) on a non-boolean ``disable``."""
        try:
            return bool(super().disable)
        except TypeError as exc:
            self.app.abort(f"{exc}: use `disable = true` or `disable = false`.", code=2)
            raise  # abort exits; this only satisfies type checkers

    def publish(self, artifacts: list[str], options: dict[str, Any]) -> None:
        from codeartifact_multiregion import host
        from codeartifact_multiregion.errors import EXIT_INTERRUPTED, CodeArtifactError

        as_json = self._wants_json(options)
        try:
            settings = self._settings(options)
            as_json = self._flag(settings, "json")
            config = host.load(
                self.root,
                self._regions(settings.get("region")),
                concurrency=host.concurrency_option(settings.get("concurrency"), "-o concurrency"),
                dist_dir=settings.get("dist-dir") or None,
            )
            report = host.publish_project(
                config,
                files=artifacts,
                dry_run=self._flag(settings, "dry-run"),
                on_event=None if as_json else self._render,
            )
        except (CodeArtifactError, KeyboardInterrupt) as exc:
            code = exc.exit_code if isinstance(exc, CodeArtifactError) else EXIT_INTERRUPTED
            message = exc if isinstance(exc, CodeArtifactError) else "interrupted"
            if as_json:
                self.app.display(host.error_document(message, code))
            self.app.abort(host.safe_message(message), code=code)
            return
        self.app.display(report.to_json() if as_json else report.render_text())
        if not report.ok:
            self.app.abort("" if as_json else host.next_steps("publish"), code=report.exit_code)

    def _settings(self, options: dict[str, Any]) -> dict[str, Any]:
        """hatch's config ``[publish.codeartifact]``, then the project's
        ``[tool.hatch.publish.codeartifact]``, then ``-o key=value`` on top."""
        from codeartifact_multiregion.errors import UsageError

        merged: dict[str, Any] = {}
        for source, where in (
            (self.plugin_config, "hatch's config.toml [publish.codeartifact]"),
            (self.project_config, self._project_table()),
            (options, "-o"),
        ):
            for key, value in source.items():
                if key in _HATCH_OWN or (source is not options and key == "disable"):
                    continue
                name = str(key).replace("_", "-")
                if name not in OPTIONS:
                    import difflib

                    guess = difflib.get_close_matches(name, OPTIONS, n=1, cutoff=0.6)
                    hint = f" Did you mean '{guess[0]}'?" if guess else ""
                    raise UsageError(
                        f"{where}: unknown option '{key}'.{hint} Valid options: "
                        f"{', '.join(OPTIONS)} (as -o key=value)."
                    )
                merged[name] = value
        return merged

    def _project_table(self) -> str:
        root = Path(self.root)
        if (root / "hatch.toml").is_file():
            return f"{root / 'hatch.toml'} [publish.codeartifact]"
        return f"{root / 'pyproject.toml'} [tool.hatch.publish.codeartifact]"

    @staticmethod
    def _regions(value: Any) -> list[str] | None:
        """``-o region=a,b`` or, from TOML, ``region = ["a", "b"]`` or ``"a,b"``."""
        items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
        return [str(r).strip() for r in items if str(r).strip()] or None

    def _wants_json(self, options: dict[str, Any]) -> bool:
        """Whether JSON was asked for, before the options are known to be valid."""
        from codeartifact_multiregion.errors import UsageError

        for source in (options, self.project_config, self.plugin_config):
            if "json" in source:
                try:
                    return self._flag(source, "json")
                except UsageError:  # reported by _settings
                    return False
        return False

    @staticmethod
    def _flag(settings: dict[str, Any], key: str) -> bool:
        from codeartifact_multiregion.host import flag_option

        return flag_option(settings.get(key), f"-o {key}")

    def _render(self, event: Event) -> None:
        from codeartifact_multiregion.host import ERROR, SUCCESS, style_of
        from codeartifact_multiregion.progress import describe

        text = describe(event, self.app.verbosity > 0)
        if text is None:
            return
        style = style_of(event.outcome)
        if style == ERROR or event.kind == "target-failed":
            self.app.display_error(text)
        elif style == SUCCESS:
            self.app.display_success(text)
        else:
            self.app.display_info(text)
