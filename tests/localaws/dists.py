"""Valid wheels and sdists built in-process, fast, with streamed payloads of any size.

Real build backends take seconds per file; tests and benchmarks need many files and a
200 MB wheel without holding 200 MB in memory. Output is reproducible: the same arguments
give the same bytes (fixed timestamps), so a test can rebuild a file and expect "identical",
and a different ``seed`` gives a same-named file with other bytes (a "conflict").
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import re
import tarfile
import zipfile
from pathlib import Path

CHUNK = 1 << 20
# Reproducible archives: zip and tar entries carry this instead of "now".
_EPOCH = 1_700_000_000
_ZIP_TIME = (2023, 11, 14, 22, 13, 20)

StrPath = str | Path


def normalize(name: str) -> str:
    """The file-name form of a project name (PEP 491/625): runs of ``-_.`` become ``_``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(name: str, version: str) -> str:
    return (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test package {name}\n\n"
    )


def _record_line(path: str, digest: bytes, size: int) -> str:
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{path},sha256={encoded},{size}\n"


def _entry(arcname: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=_ZIP_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def make_wheel(
    dest_dir: StrPath, name: str, version: str, payload_bytes: int = 0, *, seed: int = 0
) -> Path:
    """A PEP 427 ``py3-none-any`` wheel; ``payload_bytes`` of incompressible data make it large.

    The payload is stored, not deflated, so the file size tracks ``payload_bytes`` and
    building a 200 MB wheel costs one pass of random bytes, streamed 1 MiB at a time.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    module = normalize(name)
    info_dir = f"{module}-{version}.dist-info"
    path = dest / f"{module}-{version}-py3-none-any.whl"
    record: list[str] = []
    with zipfile.ZipFile(path, "w") as zf:
        small = {
            f"{module}/__init__.py": f'__version__ = "{version}"\nSEED = {seed}\n',
            f"{info_dir}/METADATA": _metadata(name, version),
            f"{info_dir}/WHEEL": "Wheel-Version: 1.0\nGenerator: localaws\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n",
        }
        for arcname, text in small.items():
            data = text.encode()
            zf.writestr(_entry(arcname, zipfile.ZIP_DEFLATED), data)
            record.append(_record_line(arcname, hashlib.sha256(data).digest(), len(data)))
        if payload_bytes > 0:
            arcname = f"{module}/payload.bin"
            hasher, rng, left = hashlib.sha256(), random.Random(seed), payload_bytes
            entry = _entry(arcname, zipfile.ZIP_STORED)
            with zf.open(entry, "w", force_zip64=payload_bytes >= zipfile.ZIP64_LIMIT) as out:
                while left:
                    chunk = rng.randbytes(min(CHUNK, left))
                    hasher.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
            record.append(_record_line(arcname, hasher.digest(), payload_bytes))
        record.append(f"{info_dir}/RECORD,,\n")
        zf.writestr(_entry(f"{info_dir}/RECORD", zipfile.ZIP_DEFLATED), "".join(record))
    return path


def make_sdist(dest_dir: StrPath, name: str, version: str) -> Path:
    """A PEP 625 sdist (``.tar.gz``) with PKG-INFO and a pyproject.toml, byte-reproducible."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{normalize(name)}-{version}"
    path = dest / f"{base}.tar.gz"
    files = {
        "PKG-INFO": _metadata(name, version),
        "pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
            f'description = "test package {name}"\n'
        ),
        f"src/{normalize(name)}/__init__.py": f'__version__ = "{version}"\n',
    }
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_EPOCH) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for arcname, text in files.items():
            data = text.encode()
            entry = tarfile.TarInfo(f"{base}/{arcname}")
            entry.size = len(data)
            entry.mtime = _EPOCH
            entry.mode = 0o644
            tar.addfile(entry, io.BytesIO(data))
    return path
