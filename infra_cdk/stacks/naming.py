"""Names and ARNs derived from ``[tool.codeartifact]``, computed in one place.

The publisher, the package group and the IAM policy must agree on the same normalized package
name and the same ARN shapes; deriving them here keeps the three from drifting apart.
"""

from __future__ import annotations

import re

UPSTREAM_REPOSITORY = "pypi-store"
PYPI_EXTERNAL_CONNECTION = "public:pypi"


def normalize(name: str) -> str:
    """PEP 503 name: CodeArtifact stores and matches Python packages only in this form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package_group_pattern(project_name: str) -> str:
    """Exact-match pattern for one PyPI package (PyPI has no namespace, hence the ``//``)."""
    return f"/pypi//{normalize(project_name)}$"


def stack_token(text: str) -> str:
    """A fragment usable in a CloudFormation stack name (letters, digits and hyphens)."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
    return cleaned or "project"


def codeartifact_arn(partition: str, region: str, account: str, resource: str) -> str:
    """``resource`` is ``domain/D``, ``repository/D/R`` or ``package/D/R/pypi//name``."""
    return f"arn:{partition}:codeartifact:{region}:{account}:{resource}"


def domain_resource(domain: str) -> str:
    return f"domain/{domain}"


def repository_resource(domain: str, repository: str) -> str:
    return f"repository/{domain}/{repository}"


def package_resource(domain: str, repository: str, project_name: str) -> str:
    return f"package/{domain}/{repository}/pypi//{normalize(project_name)}"


def pypi_packages_resource(domain: str, repository: str) -> str:
    """Every PyPI package of one repository (the replicator copies whatever anyone publishes)."""
    return f"package/{domain}/{repository}/pypi/*"


def endpoint_url(owner: str, region: str, domain: str, repository: str) -> str:
    """The PyPI endpoint pip and twine use: the form GetRepositoryEndpoint returns."""
    return f"https://{domain}-{owner}.d.codeartifact.{region}.amazonaws.com/pypi/{repository}/"
