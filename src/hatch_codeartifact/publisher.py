"""``hatch publish -p codeartifact``: hatch options in, one core call, hatch output out."""

from __future__ import annotations

from typing import Any

from hatch.publish.plugin.interface import PublisherInterface

# Options hatch always passes; not the user's to set.
_HATCH_OWN = {"no_prompt", "initialize_auth"}
OPTIONS = ("region", "dry-run", "json", "concurrency", "dist-dir")
_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class CodeArtifactPublisher(PublisherInterface):
    PLUGIN_NAME = "codeartifact"

    def publish(self, artifacts: list[str], options: dict[str, Any]) -> None:
        from codeartifact_multiregion.errors import CodeArtifactError
        from codeartifact_multiregion.host import NEXT_STEPS, concurrency_option, publish_project
        from codeartifact_multiregion.report import redact

        try:
            settings = self._settings(options)
            as_json = self._flag(settings, "json")
            report = publish_project(
                self.root,
                files=artifacts,
                regions=[r.strip() for r in str(settings.get("region", "")).split(",")
                         if r.strip()] or None,
                dist_dir=settings.get("dist-dir") or None,
                concurrency=concurrency_option(settings.get("concurrency"), "-o concurrency"),
                dry_run=self._flag(settings, "dry-run"),
                on_event=None if as_json else self._render,
            )
        except CodeArtifactError as exc:
            self.app.abort(redact(exc), code=exc.exit_code)
            return
        if as_json:
            self.app.display(report.to_json())
        elif report.ok:
            self.app.display_success(report.render_text())
        else:
            self.app.display_error(report.render_text())
        if not report.ok:
            self.app.abort("" if as_json else NEXT_STEPS, code=report.exit_code)

    def _settings(self, options: dict[str, Any]) -> dict[str, Any]:
        """``[tool.hatch.publish.codeartifact]`` first, then ``-o key=value`` on top."""
        from codeartifact_multiregion.errors import UsageError

        merged: dict[str, Any] = {}
        for source, where in ((self.project_config, "[tool.hatch.publish.codeartifact]"),
                              (options, "-o")):
            for key, value in source.items():
                if key in _HATCH_OWN or (source is self.project_config and key == "disable"):
                    continue
                name = key.replace("_", "-")
                if name not in OPTIONS:
                    raise UsageError(f"{where}: unknown option '{key}'. Valid options: "
                                     f"{', '.join(OPTIONS)} (as -o key=value).")
                merged[name] = value
        return merged

    @staticmethod
    def _flag(settings: dict[str, Any], key: str) -> bool:
        from codeartifact_multiregion.errors import UsageError

        value = settings.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"-o {key}={value}: not a yes/no value. Use -o {key} or -o {key}=false.")

    def _render(self, event: Any) -> None:
        from codeartifact_multiregion.progress import describe

        text = describe(event, self.app.verbosity > 0)
        if text is None:
            return
        if event.outcome in ("failed", "conflict") or event.kind == "target-failed":
            self.app.display_error(text)
        elif event.outcome == "uploaded":
            self.app.display_success(text)
        else:
            self.app.display_info(text)
