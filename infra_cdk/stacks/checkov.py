"""checkov suppressions, written into the template on the resource they concern, with the reason.

checkov reads a resource's ``Metadata.checkov.skip`` list (``id`` and ``comment``) and reports
the check as skipped with that comment, so a reviewer running checkov on the synthesized
templates sees each exception and why it is one, next to what it excuses; nothing is
suppressed on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_checks(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Skip checkov ``reasons`` (check ID -> why it does not apply) on ``construct``'s resource."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path}: no CloudFormation resource to annotate")
    resource.add_metadata(
        "checkov",
        {"skip": [{"id": check, "comment": reason} for check, reason in sorted(reasons.items())]},
    )
