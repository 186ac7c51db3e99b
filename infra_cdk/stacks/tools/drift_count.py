"""Count the drifted cells in a ``codeartifact-multiregion status --all --json`` report.

Stdlib only: it runs in the repair build before anything else is installed for it. A cell is one
file in one region; every state other than ``present`` (missing, different, unknown) is drift.
Prints the count; exit 2 (and nothing on stdout) when the report is not the documented shape, so
a broken status run can never publish a reassuring zero.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def drifted_cells(report: Any) -> int:
    packages = report["packages"]
    if not isinstance(packages, list):
        raise TypeError("packages is not a list")
    count = 0
    for package in packages:
        for version in package["versions"]:
            for file in version["files"]:
                for cell in file["regions"].values():
                    if cell["state"] != "present":
                        count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: drift_count.py STATUS_JSON", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            count = drifted_cells(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(
            f"error: {argv[0]}: not a status --all --json report ({type(exc).__name__})",
            file=sys.stderr,
        )
        return 2
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
