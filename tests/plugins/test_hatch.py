"""``hatch publish -p codeartifact`` as a user runs it: the real hatch CLI in a subprocess,
against the local regions, and the distribution installed next to hatch or poetry alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Result, all_empty, run_checked, sha256s
from tests.localaws.dists import make_sdist, make_wheel
from tests.plugins.conftest import make_venv, run

BIN = Path(sys.executable).parent
HATCH = BIN / "hatch"
NAME, VERSION = "hello-hatch", "1.0.0"
WHEEL, SDIST = "hello_hatch-1.0.0-py3-none-any.whl", "hello_hatch-1.0.0.tar.gz"
BUILD_SYSTEM = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
OPTIONS = ("region", "dry-run", "json", "concurrency", "dist-dir")
NEXT_STEPS = "Not every region holds every file"


def hatch_project(aws, root: Path, *, regions=None, extra: str = "", tables: str = "") -> Path:
    """hello-hatch 1.0.0, built by hatchling, with ``[tool.codeartifact]`` for the local regions.

    ``extra`` goes into ``[tool.codeartifact]``; ``tables`` (say ``[tool.hatch.publish...]``)
    after it."""
    pyproject = aws.write_pyproject(root, regions, name=NAME, version=VERSION, extra=extra)
    pyproject.write_text(BUILD_SYSTEM + pyproject.read_text() + "\n" + tables)
    package = root / "src" / "hello_hatch"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('def hello():\n    return "hello from hatch"\n')
    return root


def hatch(aws, *args: str, cwd: Path, exe: Path = HATCH) -> Result:
    """Run the real hatch CLI, never interactively; no token and no traceback may show."""
    state = cwd.parent / ".hatch-state"
    state.mkdir(exist_ok=True)
    (state / "config.toml").touch()
    return run_checked(
        [exe, *args],
        aws,
        cwd=cwd,
        env={
            # keep hatch's environments and config out of the user's home
            "HATCH_DATA_DIR": str(state / "data"),
            "HATCH_CACHE_DIR": str(state / "cache"),
            "HATCH_CONFIG": str(state / "config.toml"),
        },
    )


@pytest.fixture
def project(local_aws, tmp_path) -> Path:
    """The sample project with its wheel and sdist in dist/ (made in-process: fast)."""
    root = hatch_project(local_aws, tmp_path / "project")
    make_wheel(root / "dist", NAME, VERSION)
    make_sdist(root / "dist", NAME, VERSION)
    return root


def publish(aws, project: Path, *options: str, args: tuple[str, ...] = ()) -> Result:
    opts = [part for option in options for part in ("-o", option)]
    return hatch(aws, "publish", "-p", "codeartifact", *opts, *args, cwd=project)


# the real hatch CLI ---------------------------------------------------------------------------


def test_hatch_build_then_publish_lands_every_file_in_every_region(regions, tmp_path):
    root = hatch_project(regions, tmp_path / "project")
    built = hatch(regions, "build", cwd=root)
    assert built.code == 0, built.err
    local = sha256s(root / "dist")
    assert set(local) == {"hello_hatch-1.0.0-py2.py3-none-any.whl", SDIST}

    result = hatch(regions, "publish", "-p", "codeartifact", cwd=root)
    assert result.code == 0, result.err
    for region in regions.regions.values():
        assert region.files() == local, region.name
    assert "complete: 6 uploaded" in result.out
    assert result.err.count(" uploaded") == 6, "one progress line per region x file on stderr"

    again = hatch(regions, "publish", "-p", "codeartifact", cwd=root)
    assert again.code == 0 and "complete: 6 identical" in again.out


def test_region_option_sends_only_to_those_regions(regions, project):
    result = publish(regions, project, "region=eu-west-1")
    assert result.code == 0, result.err
    assert regions.regions["eu-west-1"].files() == sha256s(project / "dist")
    assert regions.regions["us-east-1"].files() == {}
    assert regions.regions["ap-southeast-2"].files() == {}

    rest = publish(regions, project, "region=us-east-1, ap-southeast-2", "json")
    assert rest.code == 0, rest.err
    assert [t["region"] for t in json.loads(rest.out)["targets"]] == ["us-east-1", "ap-southeast-2"]
    for region in regions.regions.values():
        assert region.files() == sha256s(project / "dist")


def test_dry_run_prints_the_plan_and_uploads_nothing(regions, project):
    result = publish(regions, project, "dry-run")
    assert result.code == 0, result.err
    assert f"Plan for {NAME} {VERSION} to 3 region(s)" in result.out
    assert result.out.count("planned") >= 6
    assert all_empty(regions)


def test_json_is_the_only_thing_on_stdout(regions, project):
    result = publish(regions, project, "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["ok"] is True and doc["dry_run"] is False
    assert (doc["project"], doc["version"]) == (NAME, VERSION)
    assert [t["region"] for t in doc["targets"]] == list(regions.regions)
    for target in doc["targets"]:
        region = regions.regions[target["region"]]
        assert {f["filename"]: f["sha256"] for f in target["files"]} == region.files()
        assert {f["outcome"] for f in target["files"]} == {"uploaded"}
    assert " uploaded" not in result.err, "no progress lines with -o json"


def test_unknown_option_exits_2_listing_the_valid_keys(regions, project):
    result = publish(regions, project, "dryrun")
    assert result.code == 2
    assert "unknown option 'dryrun'" in result.err and "Did you mean 'dry-run'?" in result.err
    assert all(key in result.err for key in OPTIONS)
    assert result.out == ""
    assert all_empty(regions)


@pytest.mark.parametrize(
    ("extra", "tables", "options", "message"),
    [
        ("concurency = 4\n", "", (), "unknown key 'concurency'. Did you mean 'concurrency'?"),
        ("token-duration = 60\n", "", (), "token-duration"),
        (
            "",
            "[tool.hatch.publish.codeartifact]\ndryrun = true\n",
            (),
            "[tool.hatch.publish.codeartifact]: unknown option 'dryrun'",
        ),
        (
            "",
            '[tool.hatch.publish.codeartifact]\ndisable = "no"\n',
            (),
            "`tool.hatch.publish.codeartifact.disable` must be a boolean",
        ),
        ("", "", ("concurrency=many",), "-o concurrency: 'many' is not a whole number"),
        ("", "", ("concurrency=0",), "concurrency"),
        ("", "", ("json=maybe",), "-o json=maybe: not a yes/no value"),
        ("", "", ("region=sa-east-1",), "sa-east-1"),
    ],
    ids=[
        "unknown-key",
        "out-of-range",
        "hatch-table-key",
        "disable-not-bool",
        "concurrency-nan",
        "concurrency-range",
        "flag-value",
        "unconfigured-region",
    ],
)
def test_bad_config_exits_2_naming_the_key(regions, tmp_path, extra, tables, options, message):
    root = hatch_project(regions, tmp_path / "project", extra=extra, tables=tables)
    (root / "dist").mkdir()
    (root / "dist" / WHEEL).write_bytes(b"never read")
    result = publish(regions, root, *options)
    assert result.code == 2, result.err
    assert message in result.err
    assert all_empty(regions)


def test_project_table_sets_defaults_and_o_overrides_them(regions, project):
    hatch_project(
        regions,
        project,
        tables=('[tool.hatch.publish.codeartifact]\nregion = ["ap-southeast-2"]\njson = true\n'),
    )
    root = project
    result = publish(regions, root)
    assert result.code == 0, result.err
    assert [t["region"] for t in json.loads(result.out)["targets"]] == ["ap-southeast-2"]
    assert regions.regions["us-east-1"].files() == {}

    text = publish(regions, root, "region=us-east-1", "json=false")
    assert text.code == 0, text.err
    assert "complete: 2 uploaded" in text.out
    assert regions.regions["us-east-1"].files() == sha256s(root / "dist")
    assert regions.regions["eu-west-1"].files() == {}


def test_hatch_config_publish_table_is_the_lowest_default(regions, project):
    (project.parent / ".hatch-state").mkdir()
    (project.parent / ".hatch-state" / "config.toml").write_text(
        '[publish.codeartifact]\nregion = "eu-west-1"\n'
    )
    result = publish(regions, project)
    assert result.code == 0, result.err
    assert regions.regions["eu-west-1"].files() == sha256s(project / "dist")
    assert regions.regions["us-east-1"].files() == {}


def test_explicit_files_and_dist_dir(regions, project):
    shutil.move(str(project / "dist"), str(project / "out"))
    only_wheel = publish(regions, project, "region=us-east-1", args=(f"out/{WHEEL}",))
    assert only_wheel.code == 0, only_wheel.err
    assert list(regions.regions["us-east-1"].files()) == [WHEEL]

    everything = publish(regions, project, "dist-dir=out", "concurrency=1")
    assert everything.code == 0, everything.err
    for region in regions.regions.values():
        assert region.files() == sha256s(project / "out")


def test_conflict_exits_1_with_hatchs_abort_and_the_message_shown(regions, project):
    (regions.regions["eu-west-1"].packages / WHEEL).write_bytes(b"other bytes, same name")
    result = publish(regions, project)
    assert result.code == 1
    assert "conflict" in result.out and NEXT_STEPS in result.err
    assert regions.regions["us-east-1"].files() == sha256s(project / "dist")
    assert regions.regions["eu-west-1"].files()[WHEEL] != sha256s(project / "dist")[WHEEL]

    as_json = publish(regions, project, "json")
    assert as_json.code == 1
    doc = json.loads(as_json.out)
    assert doc["ok"] is False
    west = next(t for t in doc["targets"] if t["region"] == "eu-west-1")
    assert {f["filename"]: f["outcome"] for f in west["files"]}[WHEEL] == "conflict"


def test_error_before_upload_with_json_prints_the_error_document(regions, project):
    result = publish(regions, project, "json", "region=sa-east-1")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["ok"] is False and doc["exit_code"] == 2 and "sa-east-1" in doc["error"]
    assert "sa-east-1" in result.err


def test_disabled_publisher_needs_yes_and_no_prompt_refuses(regions, project):
    with (project / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.hatch.publish.codeartifact]\ndisable = true\n")
    refused = publish(regions, project, args=("--no-prompt",))
    assert refused.code == 1 and "Publisher is disabled: codeartifact" in refused.err
    no_tty = publish(regions, project)  # hatch asks to confirm; stdin is not a terminal
    assert no_tty.code == 1
    assert all_empty(regions)

    confirmed = publish(regions, project, args=("-y",))
    assert confirmed.code == 0, confirmed.err
    for region in regions.regions.values():
        assert region.files() == sha256s(project / "dist")


# the distribution next to one host only ---------------------------------------------------


@pytest.fixture(scope="session")
def hatch_only(once, project_wheel) -> Path:
    """A venv with this distribution and hatch, no poetry; its bin dir."""
    return once("venv-hatch-only", lambda d: make_venv(d, str(project_wheel), "hatch")) / "bin"


@pytest.fixture(scope="session")
def poetry_only(once, project_wheel) -> Path:
    """A venv with this distribution, poetry, hatchling and a third-party hatchling plugin
    (hatch-fancy-pypi-readme), no hatch; its bin dir."""
    return (
        once(
            "venv-poetry-only",
            lambda d: make_venv(
                d, str(project_wheel), "poetry", "hatchling", "hatch-fancy-pypi-readme"
            ),
        )
        / "bin"
    )


@pytest.mark.slow
def test_installed_next_to_hatch_without_poetry_it_publishes(hatch_only, regions, tmp_path):
    missing = run(hatch_only, "python", "-c", "import poetry")
    assert "No module named 'poetry'" in missing.stderr
    assert not (hatch_only / "poetry").exists()
    version = run(hatch_only, "hatch", "--version")
    assert version.returncode == 0 and "Hatch, version" in version.stdout

    root = hatch_project(regions, tmp_path / "project", regions=["eu-west-1"])
    assert hatch(regions, "build", cwd=root, exe=hatch_only / "hatch").code == 0
    result = hatch(regions, "publish", "-p", "codeartifact", cwd=root, exe=hatch_only / "hatch")
    assert result.code == 0, result.err
    assert regions.regions["eu-west-1"].files() == sha256s(root / "dist")
    assert run(hatch_only, "codeartifact-multiregion", "--help").returncode == 0


@pytest.mark.slow
def test_installed_next_to_poetry_without_hatch_nothing_breaks(poetry_only, tmp_path):
    missing = run(poetry_only, "python", "-c", "import hatch")
    assert "No module named 'hatch'" in missing.stderr
    assert not (poetry_only / "hatch").exists()

    env = {
        "POETRY_CONFIG_DIR": str(tmp_path / "poetry-config"),
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
    }
    version = run(poetry_only, "poetry", "--version", env=env)
    assert version.returncode == 0 and "Poetry (version" in version.stdout, version.stderr
    listed = run(poetry_only, "poetry", "list", env=env)
    assert listed.returncode == 0 and "publish-multiregion" in listed.stdout, listed.stderr
    hooks = run(poetry_only, "python", "-c", "import hatch_codeartifact.multiregion_hooks")
    assert hooks.returncode == 0, hooks.stderr

    # A plain hatchling build in this env: the third-party metadata hook makes hatchling load
    # every `hatch` entry point, ours too, where hatch is not installed.
    root = tmp_path / "built-by-hatchling"
    (root / "src" / "plain").mkdir(parents=True)
    (root / "src" / "plain" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        BUILD_SYSTEM.replace('["hatchling"]', '["hatchling", "hatch-fancy-pypi-readme"]')
        + '[project]\nname = "plain"\nversion = "2.0"\ndynamic = ["readme"]\n\n'
        '[tool.hatch.metadata.hooks.fancy-pypi-readme]\ncontent-type = "text/markdown"\n\n'
        '[[tool.hatch.metadata.hooks.fancy-pypi-readme.fragments]]\ntext = "Built."\n'
    )
    wheel = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(poetry_only / "python"),
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheels"),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    assert [p.name for p in (tmp_path / "wheels").iterdir()] == ["plain-2.0-py2.py3-none-any.whl"]
