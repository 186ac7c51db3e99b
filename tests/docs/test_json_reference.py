"""docs/reference/json.md against the documents the commands really print.

Each example on the page follows a ``<!-- json: NAME -->`` marker. The commands run here against
the local regions, in situations that fill every part of their documents (a conflict-free
publish with origin controls, drift, a copy, an Unlisted version, an EXTERNAL one, a bad flag),
and each document's shape (its keys, at every depth) must be the example's: a key added,
renamed or dropped in the code fails here until the page says so too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST_RETRIES, run_cli, twine_upload
from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.events import package_version_state_change
from tests.replication import publish, release

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "json.md"
EXAMPLE = re.compile(r"<!-- json: (?P<name>[a-z -]+) -->\s*```json\n(?P<body>.*?)```", re.S)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def examples() -> dict[str, Any]:
    return {m["name"]: json.loads(m["body"]) for m in EXAMPLE.finditer(PAGE.read_text())}


def shape(node: Any) -> Any:
    """Keys at every depth; a mapping keyed by region (or by environment variable, ``env``)
    counts as one entry, a list as the merged shape of its items, any other value as ``.``
    (None and {} included)."""
    if isinstance(node, dict):
        for kind, pattern in (("<region>", REGION), ("<variable>", VARIABLE)):
            if node and all(pattern.fullmatch(k) for k in node):
                return {kind: merge([shape(v) for v in node.values()])}
        return {k: shape(v) for k, v in node.items()} or "."
    if isinstance(node, list):
        return [merge([shape(v) for v in node])] if node else []
    return "."


def merge(shapes: list[Any]) -> Any:
    dicts = [s for s in shapes if isinstance(s, dict)]
    if not dicts:
        return next((s for s in shapes if s != "."), ".")
    out: dict[str, Any] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = merge([out[k], v]) if k in out else v
    return out


def same_shape(documented: Any, actual: Any, path: str = "$") -> list[str]:
    """Where the two differ; an empty list on either side matches any list."""
    if isinstance(documented, dict) and isinstance(actual, dict):
        problems = [f"{path}.{k}: not documented" for k in actual.keys() - documented.keys()]
        problems += [
            f"{path}.{k}: documented, not printed" for k in documented.keys() - actual.keys()
        ]
        for k in documented.keys() & actual.keys():
            problems += same_shape(documented[k], actual[k], f"{path}.{k}")
        return problems
    if isinstance(documented, list) and isinstance(actual, list):
        if documented and actual:
            return same_shape(documented[0], actual[0], f"{path}[]")
        return []
    if isinstance(documented, dict) != isinstance(actual, dict) and "." not in (documented, actual):
        return [f"{path}: documented {documented!r}, printed {actual!r}"]
    return []


def check(name: str, printed: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(printed)
    problems = same_shape(shape(examples()[name]), shape(doc))
    assert not problems, f"docs/reference/json.md, {name}:\n" + "\n".join(problems)
    return doc


def test_every_example_on_the_page_is_checked():
    assert set(examples()) == {
        "publish",
        "status",
        "sync",
        "error",
        "status --all",
        "sync --all",
        "sync --event",
        "env",
    }


def test_publish_status_sync_and_error_documents(regions, project):
    regions.write_pyproject(project, extra="block-upstream = true\n")
    primary = next(iter(regions.regions))
    publish(project, release(project, "1.0.0"), [primary])
    status = check("status", run_cli(regions, "status", "--project", str(project), "--json").out)
    assert status["ok"] is False
    synced = check("sync", run_cli(regions, "sync", "--project", str(project), "--json").out)
    assert synced["ok"] is True
    files = release(project, "2.0.0")
    published = run_cli(regions, "publish", "--project", str(project), "--json", *map(str, files))
    assert check("publish", published.out)["ok"] is True
    error = run_cli(regions, "publish", "--project", str(project), "--json", "--concurrency", "0")
    assert check("error", error.out)["exit_code"] == 2


def test_whole_repository_documents(regions, project, tmp_path):
    primary = next(iter(regions.regions))
    built = []
    for name, version in (("beta", "0.1"), ("beta", "0.2"), ("epsilon", "0.9")):
        folder = tmp_path / "dist" / f"{name}-{version}"
        built += [make_wheel(folder, name, version), make_sdist(folder, name, version)]
    twine_upload(regions.regions[primary], built)
    regions.regions[primary].set_version("beta", "0.2", status="Unlisted")
    regions.regions[primary].set_version("epsilon", "0.9", origin="EXTERNAL")
    status = run_cli(regions, "status", "--all", "--project", str(project), "--json")
    assert check("status --all", status.out)["ok"] is False
    synced = run_cli(regions, "sync", "--all", "--project", str(project), "--json")
    doc = check("sync --all", synced.out)
    assert any(t["status_changes"] for t in doc["targets"])
    event = package_version_state_change(
        region=primary,
        domain=regions.domain,
        domain_owner=regions.owner,
        repository=regions.repository,
        package="beta",
        version="0.1",
    )
    (tmp_path / "event.json").write_text(json.dumps(event))
    replayed = run_cli(
        regions,
        "sync",
        "--event",
        str(tmp_path / "event.json"),
        "--project",
        str(project),
        "--json",
    )
    assert check("sync --event", replayed.out)["noop"] is True


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_env_document(regions, project, tool):
    """``env`` prints its tokens to a stdout that is not a terminal (that is its job), so this
    run is not one of ``run_checked``'s, which fail on any token in any output."""
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "codeartifact_multiregion",
            "env",
            "--tool",
            tool,
            "--project",
            str(project),
            "--json",
        ],
        env={**os.environ, **regions.env(), **FAST_RETRIES},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert printed.returncode == 0, printed.stderr
    assert check("env", printed.stdout)["ok"] is True
