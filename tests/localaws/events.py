"""EventBridge events CodeArtifact sends, built for tests of ``sync --event``.

The shape is the one AWS documents in "CodeArtifact event format and example"
(``package_version_state_change.sample.json`` beside this file is that example, verbatim):
an envelope (version, id, detail-type, source, account, time, region, resources) around a
``detail`` naming the domain, repository, package, version, its state and revision, the
changes, the operation type, a per-package sequence number and a deduplication id.
Builders take every field so a test can also make the odd ones: a stale sequence number,
a repeated deduplication id, another account's domain.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DETAIL_TYPE = "CodeArtifact Package Version State Change"
SOURCE = "aws.codeartifact"
STATES = ("Unfinished", "Published", "Unlisted", "Archived", "Disposed")
OPERATION_TYPES = ("Created", "Updated", "Deleted")
SAMPLE = Path(__file__).with_name("package_version_state_change.sample.json")


def sample_event() -> dict[str, Any]:
    """The documented example event (an npm publish), parsed fresh on every call."""
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text())
    return loaded


def package_arn(
    region: str,
    domain_owner: str,
    domain: str,
    repository: str,
    package: str,
    *,
    package_format: str = "pypi",
    namespace: str | None = None,
) -> str:
    """A package's ARN as the event's ``resources`` carries it (empty namespace for PyPI)."""
    return (
        f"arn:aws:codeartifact:{region}:{domain_owner}:package/{domain}/{repository}/"
        f"{package_format}/{namespace or ''}/{package}"
    )


def package_version_state_change(
    *,
    region: str,
    domain: str,
    domain_owner: str,
    repository: str,
    package: str,
    version: str,
    state: str = "Published",
    revision: str | None = None,
    operation_type: str = "Created",
    assets_added: int = 0,
    assets_removed: int = 0,
    assets_updated: int = 0,
    metadata_updated: bool = False,
    status_changed: bool = False,
    sequence_number: int = 1,
    account: str | None = None,
    repository_administrator: str | None = None,
    package_format: str = "pypi",
    namespace: str | None = None,
    event_id: str | None = None,
    deduplication_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """One ``CodeArtifact Package Version State Change`` event, field for field as documented.

    Defaults: the receiving account and repository administrator are the domain owner,
    ``time`` is now (UTC, second precision as in the example), the id a fresh UUID, and the
    deduplication id derived from the package, version, revision and sequence number (so
    the same change built twice is recognisably the same event).
    """
    if state not in STATES:
        raise ValueError(f"unknown packageVersionState {state!r}; one of {STATES}")
    if operation_type not in OPERATION_TYPES:
        raise ValueError(f"unknown operationType {operation_type!r}; one of {OPERATION_TYPES}")
    revision = revision or _digest(f"{package}\0{version}\0{state}")[:32]
    stamp = (time or datetime.now(timezone.utc)).astimezone(timezone.utc)
    dedup = deduplication_id or _digest(f"{package}\0{version}\0{revision}\0{sequence_number}")
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account or domain_owner,
        "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [
            package_arn(
                region,
                domain_owner,
                domain,
                repository,
                package,
                package_format=package_format,
                namespace=namespace,
            )
        ],
        "detail": {
            "domainName": domain,
            "domainOwner": domain_owner,
            "repositoryName": repository,
            "repositoryAdministrator": repository_administrator or domain_owner,
            "packageFormat": package_format,
            "packageNamespace": namespace,
            "packageName": package,
            "packageVersion": version,
            "packageVersionState": state,
            "packageVersionRevision": revision,
            "changes": {
                "assetsAdded": assets_added,
                "assetsRemoved": assets_removed,
                "metadataUpdated": metadata_updated,
                "assetsUpdated": assets_updated,
                "statusChanged": status_changed,
            },
            "operationType": operation_type,
            "sequenceNumber": sequence_number,
            "eventDeduplicationId": dedup,
        },
    }


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
