"""Rebuild the EventBridge event from the variables the rule's input transformer set.

An input transformer can put an event *field* into a CodeBuild environment variable, but not
the whole event as a string (``<aws.events.event.json>`` is inserted unescaped, as an object).
So the rule maps each field the replicator reads to one variable (``FIELDS``) and this script,
stdlib only, writes the event back as JSON for ``codeartifact-multiregion sync --event -``.
The values are untrusted: they are only ever serialized with ``json.dumps``.
"""

from __future__ import annotations

import json
import os
import sys

# variable -> the event field it carries (dotted); EventBridge reads it at ``json_path``.
FIELDS = {
    "CA_EVENT_ID": "id",
    "CA_EVENT_SOURCE": "source",
    "CA_EVENT_DETAIL_TYPE": "detail-type",
    "CA_EVENT_ACCOUNT": "account",
    "CA_EVENT_REGION": "region",
    "CA_EVENT_TIME": "time",
    "CA_DOMAIN": "detail.domainName",
    "CA_DOMAIN_OWNER": "detail.domainOwner",
    "CA_REPOSITORY": "detail.repositoryName",
    "CA_PACKAGE_FORMAT": "detail.packageFormat",
    "CA_PACKAGE_NAME": "detail.packageName",
    "CA_PACKAGE_VERSION": "detail.packageVersion",
    "CA_PACKAGE_VERSION_STATE": "detail.packageVersionState",
    "CA_PACKAGE_VERSION_REVISION": "detail.packageVersionRevision",
    "CA_OPERATION_TYPE": "detail.operationType",
    "CA_DEDUPLICATION_ID": "detail.eventDeduplicationId",
}
# Only string fields: a CodeBuild variable must be a string, and EventBridge inserts each
# value as JSON (escaped). A PyPI package has no namespace (null in the event, which no
# variable could carry); the rule matches PyPI only, so it is null here too.


def json_path(where: str) -> str:
    """The JSON path of a dotted event field, as an input transformer takes it."""
    return "$." + where


def event_from(env: dict[str, str]) -> dict[str, object]:
    event: dict[str, object] = {"version": "0", "resources": []}
    detail: dict[str, object] = {"packageNamespace": None}
    for variable, where in FIELDS.items():
        value = env.get(variable, "")
        if where.startswith("detail."):
            detail[where.split(".", 1)[1]] = value
        else:
            event[where] = value
    event["detail"] = detail
    return event


if __name__ == "__main__":
    json.dump(event_from(dict(os.environ)), sys.stdout)
    sys.stdout.write("\n")
