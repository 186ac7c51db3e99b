"""Files as today's build backends write them are published: hatchling, poetry-core, setuptools,
flit-core and uv_build, each at its newest release.

The other tests publish files made in-process (``tests/localaws/dists.py``, Metadata-Version
2.1), which every parser reads. Real backends move on: hatchling writes Metadata-Version 2.5
now, which packaging 24.0 refuses (``'2.5' is not a valid metadata version``). The ``lowest``
nox session runs this file with every dependency at its floor, so a floor that cannot read
what the backends of today write fails here.

Each project is built by ``uv build`` in an isolated environment with the backend's newest
release (no version pinned), sdist first and the wheel from the sdist, as a release does.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import run_cli, sha256s

# backend -> (its requirement, its build-backend object)
BACKENDS = {
    "hatchling": ("hatchling", "hatchling.build"),
    "poetry-core": ("poetry-core", "poetry.core.masonry.api"),
    "setuptools": ("setuptools", "setuptools.build_meta"),
    "flit-core": ("flit_core", "flit_core.buildapi"),
    "uv-build": ("uv_build", "uv_build"),
}


def backend_project(root: Path, backend: str) -> tuple[str, Path]:
    """A one-module src-layout project named after its backend; its name and directory."""
    requirement, api = BACKENDS[backend]
    name = f"built-by-{backend}"
    module = name.replace("-", "_")
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text(f'"""Built by {backend}."""\n')
    (root / "README.md").write_text(f"# {name}\n")
    (root / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["{requirement}"]\nbuild-backend = "{api}"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0.0"\ndescription = "Built by {backend}."\n'
        'readme = "README.md"\nrequires-python = ">=3.10"\nlicense = "MIT"\n'
    )
    return name, root


def build(source: Path, out: Path) -> tuple[Path, Path]:
    """``uv build``: the sdist, then the wheel from it, by the backend's newest release."""
    proc = subprocess.run(
        [sys.executable, "-m", "uv", "build", "--no-progress", "--out-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel


def wheel_metadata(wheel: Path) -> tuple[str, str]:
    """The wheel's Metadata-Version and the backend that wrote it (WHEEL's Generator)."""
    with zipfile.ZipFile(wheel) as zf:
        info = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(info).decode())
        generator = email.parser.Parser().parsestr(
            zf.read(info.replace("METADATA", "WHEEL")).decode()
        )["Generator"]
    return str(meta["Metadata-Version"]), str(generator)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_files_built_by_todays_backend_are_published_to_every_region(regions, tmp_path, backend):
    name, root = backend_project(tmp_path / "project", backend)
    built = build(root, tmp_path / "dist")
    version, generator = wheel_metadata(built[1])
    print(f"{backend}: Metadata-Version {version}, written by {generator}")
    publisher = regions.write_pyproject(tmp_path / "publisher", name=name).parent
    result = run_cli(
        regions, "publish", "--project", str(publisher), "--json", *(str(p) for p in built)
    )
    assert result.code == 0, result.out + result.err
    expected = sha256s(built)
    for region in regions.regions.values():
        assert region.files() == expected, region.name
