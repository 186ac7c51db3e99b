"""The Lambda replicator's bundle: built from the lock and the wheel, reproducible, importable.

The function runs on arm64 and this machine may not, so the import check runs an x86_64
bundle made from the same lock and wheel by the same builder (only the platform differs) in a
clean Python of the runtime's version: a venv with no pip and nothing else, the bundle on
PYTHONPATH. The arm64 bundle is checked for what it holds: aarch64 extensions, nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra_cdk.stacks.assets import checkout_wheel, sha256_of
from infra_cdk.stacks.lambda_bundle import (
    ARM64,
    DONE,
    LOCK,
    PYTHON_VERSION,
    X86_64,
    lambda_bundle,
    tree_digest,
    tree_size,
)
from infra_cdk.stacks.settings import SettingsError

pytestmark = pytest.mark.slow

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


@pytest.fixture(scope="module")
def wheel() -> Path:
    return checkout_wheel()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> dict[str, Path]:
    cache = tmp_path_factory.mktemp("bundles")
    return {
        platform: lambda_bundle(wheel, sha256_of(wheel), platform=platform, cache=cache)
        for platform in (ARM64, X86_64)
    }


def runtime_python() -> Path:
    """The runtime's Python (pyenv's or on PATH); the suite's machines have it."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(pyenv.glob(f"{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}"))
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if found:
        return found[-1]
    assert on_path, f"no Python {PYTHON_VERSION}: install it (pyenv install {PYTHON_VERSION})"
    return Path(on_path)


def test_the_arm64_bundle_holds_the_publisher_and_aarch64_extensions_only(
    bundles: dict[str, Path],
) -> None:
    bundle = bundles[ARM64]
    assert (bundle / "codeartifact_multiregion" / "aws_lambda.py").is_file()
    extensions = [p.name for p in bundle.rglob("*.so")]
    assert extensions and all("aarch64" in n or n.endswith(".abi3.so") for n in extensions)
    assert not any("x86_64" in n for n in extensions)
    assert not (bundle / "bin").exists() and not list(bundle.rglob("__pycache__"))
    assert not list(bundle.glob("*.dist-info/direct_url.json"))  # no local path inside
    services = sorted(p.name for p in (bundle / "botocore" / "data").iterdir() if p.is_dir())
    assert services == ["codeartifact", "sts"]
    size = tree_size(bundle)
    print(f"arm64 bundle: {size / 1e6:.1f} MB unzipped")
    assert size < LAMBDA_UNZIPPED_LIMIT


def test_the_bundle_is_cached_by_its_inputs_and_reproducible(
    bundles: dict[str, Path], wheel: Path, tmp_path: Path
) -> None:
    bundle = bundles[ARM64]
    marker = (bundle / DONE).stat().st_mtime_ns
    again = lambda_bundle(wheel, sha256_of(wheel), cache=bundle.parent)
    assert again == bundle and (bundle / DONE).stat().st_mtime_ns == marker  # not rebuilt
    fresh = lambda_bundle(wheel, sha256_of(wheel), cache=tmp_path / "elsewhere")
    assert fresh.name == bundle.name and tree_digest(fresh) == tree_digest(bundle)


def test_a_dependency_whose_hash_is_not_in_the_lock_is_refused(wheel: Path, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lines = LOCK.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if "==" in line)
    end = next(i for i in range(first + 1, len(lines)) if not lines[i].startswith("    --hash"))
    for i in range(first + 1, end):  # every file of the first package: none can match now
        lines[i] = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, lines[i])
    lock.write_text("\n".join(lines) + "\n")
    with pytest.raises(SettingsError, match=r"requirements.txt: pip could not build"):
        lambda_bundle(wheel, sha256_of(wheel), lock=lock, cache=tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*/" + DONE))


def test_the_handler_imports_and_answers_in_a_clean_runtime_python(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    clean = tmp_path / "clean"
    subprocess.run(
        [str(runtime_python()), "-m", "venv", "--without-pip", str(clean)], check=True, timeout=120
    )
    script = (
        "import json, sys\n"
        "from codeartifact_multiregion.aws_lambda import handler\n"
        "import botocore.session\n"
        "session = botocore.session.get_session()\n"
        "for name in ('codeartifact', 'sts'):\n"
        "    session.create_client(name, region_name='eu-west-1', aws_access_key_id='x',\n"
        "                          aws_secret_access_key='y')\n"
        "answer = handler({'Records': [{'messageId': 'm-1', 'body': '{not json'}]}, None)\n"
        "print(json.dumps({'answer': answer, 'version': sys.version_info[:2],\n"
        "                  'paths': sorted({m.__file__.split('/site-packages/')[0]\n"
        "                                   for m in list(sys.modules.values())\n"
        "                                   if getattr(m, '__file__', None)\n"
        "                                   and 'site-packages' in m.__file__})}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(bundles[X86_64]),
        "PYTHONNOUSERSITE": "1",
        "CODEARTIFACT_CONFIG": '[tool.codeartifact]\ndomain = "acme"\nrepository = "python"\n'
        'regions = ["us-east-1", "eu-west-1"]\n'
        'domain-owner = "111122223333"\n',
    }
    done = subprocess.run(
        [str(clean / "bin" / "python"), "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answer"] == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert result["version"] == [int(p) for p in PYTHON_VERSION.split(".")]
    assert result["paths"] == []  # every module came from the bundle or the stdlib
    assert '"outcome": "malformed"' in done.stdout
    assert sys.executable not in done.stdout
