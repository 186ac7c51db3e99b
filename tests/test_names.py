"""names: what counts as a project name, whole, before it reaches an index URL or a report."""

from __future__ import annotations

import pytest

from codeartifact_multiregion.names import is_project_name


@pytest.mark.parametrize("name", ["a", "hello-internal", "Hello_Internal.2", "x9"])
def test_project_names_pep_508_allows(name):
    assert is_project_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "hello\n", "hello\r", "-hello", "hello-", "he llo", "hello/../x", "héllo", "hello\x00"],
)
def test_anything_else_is_not_a_project_name(name):
    assert not is_project_name(name)
