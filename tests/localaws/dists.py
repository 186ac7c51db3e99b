"""Valid wheels and sdists built in-process, fast, with streamed payloads of any size.

Real build backends take seconds; tests and benchmarks need hundreds of files and a
200 MB wheel without holding 200 MB in memory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import tarfile
import zipfile
from pathlib import Path

CHUNK = 1 << 20


def normalize(name: str) -> str:
    """The file-name form of a project name (PEP 491/625)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(name: str, version: str) -> str:
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: test package {name}\n\n")


def _record_line(path: str, digest: bytes, size: int) -> str:
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{path},sha256={encoded},{size}\n"


def make_wheel(dest_dir: str | Path, name: str, version: str, payload_bytes: int = 0, *,
               seed: int = 0) -> Path:
    """A PEP 427 wheel; ``payload_bytes`` of incompressible data make it that much larger."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    module = normalize(name)
    info = f"{module}-{version}.dist-info"
    path = dest / f"{module}-{version}-py3-none-any.whl"
    record = ""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        small = {
            f"{module}/__init__.py": f'__version__ = "{version}"\nSEED = {seed}\n',
            f"{info}/METADATA": _metadata(name, version),
            f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: localaws\nRoot-Is-Purelib: true\n"
                             "Tag: py3-none-any\n",
        }
        for arcname, text in small.items():
            data = text.encode()
            zf.writestr(arcname, data)
            record += _record_line(arcname, hashlib.sha256(data).digest(), len(data))
        if payload_bytes:
            arcname = f"{module}/payload.bin"
            hasher, rng, left = hashlib.sha256(), random.Random(seed), payload_bytes
            info_entry = zipfile.ZipInfo(arcname)
            info_entry.compress_type = zipfile.ZIP_STORED
            with zf.open(info_entry, "w", force_zip64=payload_bytes > 2**31) as out:
                while left:
                    chunk = rng.randbytes(min(CHUNK, left))
                    hasher.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
            record += _record_line(arcname, hasher.digest(), payload_bytes)
        record += f"{info}/RECORD,,\n"
        zf.writestr(f"{info}/RECORD", record)
    return path


def make_sdist(dest_dir: str | Path, name: str, version: str) -> Path:
    """A PEP 625 sdist with PKG-INFO and a pyproject.toml."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{normalize(name)}-{version}"
    path = dest / f"{base}.tar.gz"
    files = {
        "PKG-INFO": _metadata(name, version),
        "pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n',
    }
    with tarfile.open(path, "w:gz") as tar:
        for arcname, text in files.items():
            data = text.encode()
            entry = tarfile.TarInfo(f"{base}/{arcname}")
            entry.size = len(data)
            entry.mtime = 1_700_000_000
            tar.addfile(entry, io.BytesIO(data))
    return path
