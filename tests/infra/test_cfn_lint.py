"""cfn-lint on every synthesized template, in the template's own region."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from tests.infra.assembly import Assembly
from tests.infra.conftest import VARIANTS

pytestmark = pytest.mark.slow

# W3005: CDK itself adds DependsOn on the pipeline role next to a GetAtt of it (harmless).
IGNORED = ["W3005"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_is_clean(assemblies: dict[str, Assembly], variant: str) -> None:
    assembly = assemblies[variant]
    assert assembly.stacks
    problems = []
    for stack in assembly.stacks:
        matches = lint(
            json.dumps(stack.template),
            config=ManualArgs(regions=[stack.region], ignore_checks=IGNORED),
        )
        problems += [f"{stack.name}: {m.rule.id} {m.message}" for m in matches]
    assert problems == []
