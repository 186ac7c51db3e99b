"""``poetry publish-multiregion`` as users run it: the real poetry CLI, and the command in-process.

The plugin is installed (editable) in the same interpreter as ``.venv/bin/poetry``, so poetry
finds it through its ``poetry.application.plugin`` entry point exactly as after
``poetry self add codeartifact-multiregion``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Result, run_checked, sha256s
from tests.localaws.dists import make_sdist, make_wheel

POETRY = Path(sys.executable).with_name("poetry")
BUILD_SYSTEM = (
    '\n[build-system]\nrequires = ["poetry-core>=2.0"]\nbuild-backend = "poetry.core.masonry.api"\n'
)
HEAVY = (
    "boto3",
    "botocore",
    "twine",
    "rich",
    "requests_toolbelt",
    "codeartifact_multiregion.publish",
    "poetry_codeartifact.multiregion_command",
)
ANSI_RED = re.compile(r"\x1b\[31(;1)?m")

# poetry's own import of pbs_installer, not ours
pytestmark = pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")


def poetry_project(aws, root: Path, *, extra: str = "", legacy: bool = False) -> Path:
    """hello-internal 1.0.0 with a package dir, built by poetry-core, for the local regions.

    ``legacy`` uses a ``[tool.poetry]`` table instead of PEP 621 ``[project]``.
    """
    pyproject = aws.write_pyproject(root, extra=extra + BUILD_SYSTEM)
    if legacy:
        pyproject.write_text(
            pyproject.read_text().replace(
                "[project]\n",
                '[tool.poetry]\ndescription = "demo"\n'
                'authors = ["Dev <dev@example.com>"]\npackages = [{include = "hello_internal"}]\n',
                1,
            )
        )
    (root / "hello_internal").mkdir()
    (root / "hello_internal" / "__init__.py").write_text('__version__ = "1.0.0"\n')
    return root


def poetry(aws, *args: str, cwd: Path, tmp: Path) -> Result:
    """Run the real poetry CLI; no token may reach any stream, no traceback either."""
    return run_checked(
        [POETRY, "--no-interaction", *args],
        aws,
        cwd=cwd,
        env={
            # isolate poetry from the user's config and cache; --build needs no virtualenv
            "POETRY_CONFIG_DIR": str(tmp / "poetry-config"),
            "POETRY_CACHE_DIR": str(tmp / "poetry-cache"),
            "POETRY_VIRTUALENVS_CREATE": "false",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        },
    )


# the real CLI ---------------------------------------------------------------------------------


def test_build_publishes_every_built_file_to_every_region(regions, tmp_path):
    root = poetry_project(regions, tmp_path / "proj")
    result = poetry(regions, "publish-multiregion", "--build", cwd=root, tmp=tmp_path)
    assert result.code == 0, result.err
    built = sha256s(root / "dist")
    assert sorted(built) == [
        "hello_internal-1.0.0-py2.py3-none-any.whl",
        "hello_internal-1.0.0.tar.gz",
    ]
    for region in regions.regions.values():
        assert region.files() == built, region.name
    assert "Building hello-internal (1.0.0)" in result.out
    assert "complete: 6 uploaded" in result.out


@pytest.mark.parametrize("flag", ["-C", "-P"])
def test_directory_and_project_flags_work_from_another_cwd_and_v_shows_attempts(
    regions, tmp_path, flag
):
    root = poetry_project(regions, tmp_path / "proj", legacy=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = poetry(
        regions,
        flag,
        str(root),
        "publish-multiregion",
        "--build",
        "-v",
        cwd=elsewhere,
        tmp=tmp_path,
    )
    assert result.code == 0, result.err
    assert not (elsewhere / "dist").exists()
    built = sha256s(root / "dist")
    assert all(region.files() == built for region in regions.regions.values())
    # -v: where each region is, and per region x file the start, the attempts and the time
    for name in regions.regions:
        assert f"{name}: endpoint http://127.0.0.1:" in result.out
        for filename in built:
            assert f"{name}: {filename} uploading (" in result.out
            assert re.search(
                rf"{name}: {re.escape(filename)} uploaded "
                r"\(1 attempt\(s\), \d+\.\d\ds\)",
                result.out,
            ), result.out


def test_poetry_list_and_help_show_the_command(local_aws, tmp_path):
    listing = poetry(local_aws, "list", cwd=tmp_path, tmp=tmp_path)
    assert listing.code == 0
    assert re.search(
        r"^\s+publish-multiregion\s+Publish the package to AWS CodeArtifact", listing.out, re.M
    ), listing.out
    helped = poetry(local_aws, "publish-multiregion", "--help", cwd=tmp_path, tmp=tmp_path)
    assert helped.code == 0
    for flag in ("--build", "--dist-dir", "--region", "--dry-run", "--json", "--concurrency"):
        assert flag in helped.out


def test_dry_run_prints_the_plan_and_uploads_nothing(regions, tmp_path):
    root = poetry_project(regions, tmp_path / "proj")
    make_wheel(root / "dist", "hello-internal", "1.0.0")
    make_sdist(root / "dist", "hello-internal", "1.0.0")
    result = poetry(regions, "publish-multiregion", "--dry-run", cwd=root, tmp=tmp_path)
    assert result.code == 0, result.err
    assert "Plan for hello-internal 1.0.0 to 3 region(s)" in result.out
    assert result.out.count("planned") >= 6
    assert all(region.files() == {} for region in regions.regions.values())


def test_json_with_region_is_only_json_on_stdout_and_narrows_the_run(regions, tmp_path):
    root = poetry_project(regions, tmp_path / "proj")
    first, second, third = regions.regions
    # -vv: poetry's build log and third-party logs must not reach stdout either
    result = poetry(
        regions,
        "publish-multiregion",
        "--build",
        "--json",
        "-vv",
        "--region",
        third,
        "--region",
        first,
        cwd=root,
        tmp=tmp_path,
    )
    assert result.code == 0, result.err
    doc = json.loads(result.out)  # the whole of stdout is one document
    assert doc["ok"] is True and doc["project"] == "hello-internal"
    assert [t["region"] for t in doc["targets"]] == [first, third], "configured order"
    assert "Built hello_internal-1.0.0.tar.gz" in result.err
    built = sha256s(root / "dist")
    for target in doc["targets"]:
        assert {f["filename"]: f["sha256"] for f in target["files"]} == built
    assert regions.regions[first].files() == built == regions.regions[third].files()
    assert regions.regions[second].files() == {}


def test_bad_config_exits_2_with_a_poetry_styled_error_and_builds_nothing(regions, tmp_path):
    root = poetry_project(regions, tmp_path / "proj", extra="regionz = 1\n")
    result = poetry(regions, "--ansi", "publish-multiregion", "--build", cwd=root, tmp=tmp_path)
    assert result.code == 2
    assert result.out == ""
    assert ANSI_RED.search(result.err), repr(result.err)  # poetry's <error> style
    assert "pyproject.toml: [tool.codeartifact] unknown key 'regionz'" in result.err
    assert "Did you mean 'regions'?" in result.err
    assert not (root / "dist").exists(), "the configuration is checked before building"
    assert all(region.files() == {} for region in regions.regions.values())
    as_json = poetry(regions, "publish-multiregion", "--json", cwd=root, tmp=tmp_path)
    assert as_json.code == 2
    assert json.loads(as_json.out)["exit_code"] == 2 and "regionz" in as_json.err


def test_quiet_shows_only_errors(regions, tmp_path):
    root = poetry_project(regions, tmp_path / "proj")
    make_wheel(root / "dist", "hello-internal", "1.0.0")
    make_sdist(root / "dist", "hello-internal", "1.0.0")
    wheel = next((root / "dist").glob("*.whl"))
    first = next(iter(regions.regions.values()))
    (first.packages / wheel.name).write_bytes(b"other bytes under the same name")
    result = poetry(regions, "publish-multiregion", "-q", cwd=root, tmp=tmp_path)
    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(f"{first.name}: {wheel.name} conflict: ")
    assert len(lines) == 2 and "Not every region holds every file" in lines[1]
    quiet_ok = poetry(
        regions, "publish-multiregion", "-q", "--region", "eu-west-1", cwd=root, tmp=tmp_path
    )
    assert (quiet_ok.code, quiet_ok.out, quiet_ok.err) == (0, "", "")


# lightness ------------------------------------------------------------------------------------


def test_plugin_module_imports_nothing_heavy():
    code = (
        "import sys, json, poetry_codeartifact.multiregion_plugin as p; "
        "p.CodeArtifactApplicationPlugin; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(proc.stdout) == []


# the command in-process -----------------------------------------------------------------------


@pytest.fixture
def tester(regions, tmp_path):
    """A CommandTester on the command as the plugin registers it in poetry's Application."""
    from cleo.testers.command_tester import CommandTester
    from poetry.console.application import Application
    from poetry.factory import Factory

    from poetry_codeartifact.multiregion_plugin import CodeArtifactApplicationPlugin

    root = poetry_project(regions, tmp_path / "proj")
    make_wheel(root / "dist", "hello-internal", "1.0.0")
    make_sdist(root / "dist", "hello-internal", "1.0.0")
    app = Application()
    CodeArtifactApplicationPlugin().activate(app)
    command = app.find("publish-multiregion")
    command.set_poetry(Factory().create_poetry(root))
    return CommandTester(command)


def test_repeated_region_option_narrows_in_configured_order(tester, regions):
    first, _, third = regions.regions
    code = tester.execute(f"--region {third} --region {first} --json --dry-run")
    assert code == 0, tester.io.fetch_error()
    doc = json.loads(tester.io.fetch_output())
    assert doc["dry_run"] is True
    assert [t["region"] for t in doc["targets"]] == [first, third]
    assert all(region.files() == {} for region in regions.regions.values())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("many", "--concurrency: 'many' is not a whole number. Pass a number from 1 to 64."),
        ("0", "--concurrency must be a whole number from 1 to 64, got 0"),
        ("65", "--concurrency must be a whole number from 1 to 64, got 65"),
    ],
)
def test_bad_concurrency_exits_2_with_a_message(tester, regions, value, message):
    assert tester.execute(f"--concurrency {value}") == 2
    assert message in tester.io.fetch_error()
    assert tester.io.fetch_output() == ""
    assert all(region.files() == {} for region in regions.regions.values())


def test_unconfigured_region_exits_2_naming_it(tester, regions):
    assert tester.execute("--region us-east-1 --region mars-north-1") == 2
    error = tester.io.fetch_error()
    assert "--region mars-north-1: not configured" in error
    assert "Add it to regions or drop the flag." in error


def test_dist_dir_option_and_concurrency_publish(tester, regions, tmp_path):
    other = tmp_path / "proj" / "elsewhere"
    make_wheel(other, "hello-internal", "2.0.0")
    code = tester.execute("--dist-dir elsewhere --concurrency 1 --region eu-west-1")
    assert code == 0, tester.io.fetch_error()
    assert "complete: 1 uploaded" in tester.io.fetch_output()
    assert list(regions.regions["eu-west-1"].files()) == ["hello_internal-2.0.0-py3-none-any.whl"]


def test_quiet_in_process_prints_nothing_on_success(tester, regions):
    from cleo.io.outputs.output import Verbosity

    assert tester.execute("--region eu-west-1", verbosity=Verbosity.QUIET) == 0
    assert tester.io.fetch_output() == "" and tester.io.fetch_error() == ""
    assert len(regions.regions["eu-west-1"].files()) == 2


def test_non_package_mode_is_refused(regions, tmp_path):
    from cleo.testers.command_tester import CommandTester
    from poetry.console.application import Application
    from poetry.factory import Factory

    from poetry_codeartifact.multiregion_plugin import CodeArtifactApplicationPlugin

    root = poetry_project(regions, tmp_path / "proj")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.poetry]\npackage-mode = false\n")
    app = Application()
    CodeArtifactApplicationPlugin().activate(app)
    command = app.find("publish-multiregion")
    command.set_poetry(Factory().create_poetry(root))
    tester = CommandTester(command)
    assert tester.execute("") == 2
    assert "not possible in non-package mode" in tester.io.fetch_error()
