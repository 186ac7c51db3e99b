"""The EventBridge event ``sync --event`` replicates: read from a file or stdin, checked.

CodeArtifact sends one ``CodeArtifact Package Version State Change`` event (source
``aws.codeartifact``) per change of a package version. The event is an input like any
other: it may be truncated, of another kind, or crafted, so every field used is checked
here and a problem is a ``UsageError`` naming the file and the key (exit 2, nothing
copied). Only what replication needs is kept: the region, the repository and the package
version; the event's own word on the version's state is not trusted, the region is asked.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import UsageError
from .text import printable

DETAIL_TYPE = "CodeArtifact Package Version State Change"
SOURCE = "aws.codeartifact"
# EventBridge's largest event is 256 KB; anything longer is not one.
MAX_EVENT_BYTES = 256 * 1024
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_OWNER_RE = re.compile(r"[0-9]{12}")
_NAME_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
FIX = (
    'Pass the EventBridge event itself (detail-type "CodeArtifact Package Version State '
    "Change\"), as the rule's target receives it."
)


@dataclass(frozen=True)
class VersionEvent:
    """The package version an event is about, and where."""

    region: str
    domain: str
    domain_owner: str
    repository: str
    package_format: str
    package: str  # as the event spells it; compare normalized
    version: str
    state: str | None
    event_id: str | None

    def describe(self) -> str:
        return printable(
            f"{self.package} {self.version} in {self.region} "
            f"({self.domain}/{self.repository}, {self.package_format})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "domain": self.domain,
            "domain_owner": self.domain_owner,
            "repository": self.repository,
            "format": self.package_format,
            "package": self.package,
            "version": self.version,
            "state": self.state,
            "id": self.event_id,
        }


def read_event(source: str, stdin: IO[bytes] | None = None) -> VersionEvent:
    """Read and check the event in file ``source`` (``-``: standard input)."""
    label = "stdin" if source == "-" else source
    try:
        if source == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            raw = stream.read(MAX_EVENT_BYTES + 1)
        else:
            with Path(source).open("rb") as fh:
                raw = fh.read(MAX_EVENT_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"--event {printable(label)}: cannot read it "
            f"({exc.strerror or type(exc).__name__}). {FIX}"
        ) from None
    return parse_event(raw, label)


def parse_event(raw: bytes, label: str) -> VersionEvent:
    """Check one event document; every problem names ``label`` and the key."""
    where = f"--event {printable(label)}"
    if len(raw) > MAX_EVENT_BYTES:
        raise UsageError(
            f"{where}: longer than {MAX_EVENT_BYTES} bytes, so not an EventBridge event. {FIX}"
        )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: not JSON ({printable(exc)[:120]}). {FIX}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: not a JSON object. {FIX}")
    if doc.get("source") != SOURCE:
        raise UsageError(
            f'{where}: key source is {_show(doc.get("source"))}, not "{SOURCE}". {FIX}'
        )
    if doc.get("detail-type") != DETAIL_TYPE:
        raise UsageError(
            f"{where}: key detail-type is {_show(doc.get('detail-type'))}, not "
            f'"{DETAIL_TYPE}". {FIX}'
        )
    detail = doc.get("detail")
    if not isinstance(detail, dict):
        raise UsageError(f"{where}: key detail is missing or not an object. {FIX}")

    def text(
        container: dict[str, Any],
        key: str,
        shown: str,
        pattern: re.Pattern[str] | None,
        limit: int = 255,
    ) -> str:
        value = container.get(key)
        if not isinstance(value, str) or not value:
            raise UsageError(f"{where}: key {shown} is missing or not a string. {FIX}")
        if (
            len(value) > limit
            or printable(value) != value
            or (pattern is not None and not pattern.fullmatch(value))
        ):
            raise UsageError(f"{where}: key {shown} is {_show(value)}, not a valid value. {FIX}")
        return value

    region = text(doc, "region", "region", _REGION_RE, 32)
    package_format = text(detail, "packageFormat", "detail.packageFormat", None, 32)
    version = text(detail, "packageVersion", "detail.packageVersion", None)
    if any(c in version for c in "/\\ "):
        raise UsageError(
            f"{where}: key detail.packageVersion is {_show(version)}, not a valid value. {FIX}"
        )
    state = detail.get("packageVersionState")
    event_id = doc.get("id")
    return VersionEvent(
        region=region,
        domain=text(detail, "domainName", "detail.domainName", None, 50),
        domain_owner=text(detail, "domainOwner", "detail.domainOwner", _OWNER_RE, 12),
        repository=text(detail, "repositoryName", "detail.repositoryName", None, 100),
        package_format=package_format,
        # Only PyPI names are used; another format's name is only shown, so only printable.
        package=text(
            detail,
            "packageName",
            "detail.packageName",
            _NAME_RE if package_format == "pypi" else None,
        ),
        version=version,
        state=state if isinstance(state, str) and printable(state) == state else None,
        event_id=event_id
        if isinstance(event_id, str) and printable(event_id) == event_id
        else None,
    )


def _show(value: object) -> str:
    if value is None:
        return "missing"
    return repr(printable(value)[:80])
