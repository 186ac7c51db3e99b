"""``python -m tests.localaws serve [--regions a,b,c]``: stand-ins for manual runs and benchmarks.

Prints ``export`` lines for a shell (``eval``-able; tokens go to stderr so they do not
land in shell history by accident) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from .regions import DEFAULT_REGIONS, DOMAIN, OWNER, REPOSITORY, LocalAWS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.localaws")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start local regions, control plane and STS")
    serve.add_argument(
        "--regions",
        default=",".join(DEFAULT_REGIONS),
        help="comma-separated region names (default: %(default)s)",
    )
    serve.add_argument("--domain", default=DOMAIN)
    serve.add_argument("--owner", default=OWNER)
    serve.add_argument("--repository", default=REPOSITORY)
    serve.add_argument(
        "--page-size",
        type=int,
        default=100,
        help="most items per List* page (default: %(default)s)",
    )
    serve.add_argument(
        "--pyproject", metavar="DIR", help="also write DIR/pyproject.toml targeting these regions"
    )
    args = parser.parse_args(argv)
    names = [r.strip() for r in args.regions.split(",") if r.strip()]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalAWS(
        names,
        domain=args.domain,
        owner=args.owner,
        repository=args.repository,
        page_size=args.page_size,
    ) as aws:
        for key, value in aws.env().items():
            print(f"export {key}={shlex.quote(value)}")
        print("unset AWS_PROFILE")
        if args.pyproject:
            aws.write_pyproject(args.pyproject)
            print(f"# wrote {args.pyproject}/pyproject.toml", file=sys.stderr)
        for region in aws.regions.values():
            print(
                f"# {region.name}: {region.url} (user aws, token {region.token}) "
                f"storage {region.packages}",
                file=sys.stderr,
            )
        print(f"# started in {aws.startup_seconds:.2f}s; Ctrl-C to stop", file=sys.stderr)
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
