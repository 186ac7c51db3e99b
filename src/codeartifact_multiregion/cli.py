"""``codeartifact-multiregion``: the standalone CLI over the core, for any build tool and CI.

stdout carries the result (the summary, or the JSON document with ``--json`` and
nothing else); progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from . import __version__
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, CodeArtifactError, UsageError

if TYPE_CHECKING:
    from .report import RunReport

EPILOG = """\
exit codes: 0 every region holds every file; 1 incomplete (a failure, conflict or drift in
any region); 2 usage, configuration or input error (nothing was uploaded).
Configuration is read from [tool.codeartifact] in the project's pyproject.toml."""


def _where(parser: argparse.ArgumentParser) -> None:
    """``--project`` and ``--region``: which config, and which of its regions."""
    parser.add_argument(
        "--project",
        metavar="DIR",
        default=None,
        help="project directory holding pyproject.toml (default: current)",
    )
    parser.add_argument(
        "--region",
        metavar="R",
        action="append",
        default=None,
        help="only this configured region; repeat for several",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    _where(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the machine report on stdout, and nothing else there",
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        default=None,
        help="uploads in flight at once to each region (1..64)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="per-file attempts and timings"
    )


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors get the JSON document too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}. See `{self.prog} --help`.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="codeartifact-multiregion",
        description="Publish Python distributions to AWS CodeArtifact in several regions at once.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    pub = sub.add_parser(
        "publish",
        help="publish a release to every configured region",
        description="Publish FILES (default: the newest version's files in "
        "dist-dir) to every configured region. Files already there with the "
        "same sha256 are skipped; a file name there with other bytes is a "
        "conflict and is never overwritten.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pub.add_argument("files", nargs="*", metavar="FILES", help="wheels, sdists or directories")
    _common(pub)
    pub.add_argument(
        "--dist-dir",
        metavar="DIR",
        default=None,
        help="where to look for distributions (default: dist-dir, else dist)",
    )
    pub.add_argument(
        "--dry-run",
        action="store_true",
        help="resolve, read the indexes and print the plan; upload nothing",
    )

    stat = sub.add_parser(
        "status",
        help="show which versions each region holds, with drift",
        description="Show a matrix of versions x regions from each region's "
        "index: present, missing, or different (another sha256).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stat.add_argument(
        "--package",
        metavar="NAME",
        default=None,
        help="package to inspect (default: the project's own name)",
    )
    stat.add_argument(
        "--all",
        action="store_true",
        help="every package of the repository (CodeArtifact's API), with each "
        "version's status per region",
    )
    stat.add_argument(
        "--include-external",
        action="store_true",
        help="with --all: count versions cached from an upstream (origin EXTERNAL) as drift too",
    )
    _common(stat)

    syn = sub.add_parser(
        "sync",
        help="copy files a region lacks from a region that has them",
        description="For every file some region lacks, download it from a region "
        "that has it, check its sha256 and upload it where it is missing. A file "
        "whose sha256 differs between regions is a conflict and never copied.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    syn.add_argument(
        "--package",
        metavar="NAME",
        default=None,
        help="package to sync (default: the project's own name)",
    )
    syn.add_argument(
        "--version",
        dest="versions",
        metavar="V",
        action="append",
        default=None,
        help="only this version; repeat for several (default: all)",
    )
    syn.add_argument(
        "--from",
        dest="source",
        metavar="REGION",
        default=None,
        help="copy from this region (default: the primary, else any that has it)",
    )
    syn.add_argument("--dry-run", action="store_true", help="print what would be copied")
    syn.add_argument(
        "--all",
        action="store_true",
        help="replicate every package of the repository: files and version "
        "status (Unlisted/Archived); EXTERNAL-origin versions only with "
        "--include-external, Deleted/Disposed never. Every configured region is "
        "read; --region narrows the regions written",
    )
    syn.add_argument(
        "--event",
        metavar="FILE",
        default=None,
        help="replicate the package version named by this EventBridge "
        "'CodeArtifact Package Version State Change' event (- = stdin), from "
        "its region to the others; a replay, or an event for another repository "
        "or region, is a no-op (exit 0); a file that is not such an event exits 2",
    )
    syn.add_argument(
        "--include-external",
        action="store_true",
        help="with --all/--event: also copy versions cached from an upstream (origin EXTERNAL)",
    )
    _common(syn)
    _add_consumer_commands(sub)
    return parser


CONSUMER_COMMANDS = ("env", "exec")


def _add_consumer_commands(sub: Any) -> None:
    """``env`` and ``exec``: install from the nearest healthy region (consumers.py)."""
    from .probe import DEFAULT_TIMEOUT

    epilog = (
        "exit codes: 0 ok; 1 no region gave a token and answered (exec: the command's "
        "last exit code); 2 usage or configuration error."
    )

    def shared(parser: argparse.ArgumentParser) -> None:
        _where(parser)
        parser.add_argument(
            "--config",
            metavar="FILE",
            default=None,
            help="a standalone codeartifact.toml instead of a project",
        )
        parser.add_argument(
            "--nearest",
            action="store_true",
            help="order healthy regions by one measured round trip each",
        )
        parser.add_argument(
            "--probe-timeout",
            metavar="S",
            type=float,
            default=DEFAULT_TIMEOUT,
            help=f"seconds to connect and to answer (default {DEFAULT_TIMEOUT:g})",
        )

    env = sub.add_parser(
        "env",
        help="print pip or uv settings for the healthy regions",
        description="Fetch a read token per region, probe each region once "
        "and print the variables that point the tool at them: pip gets every "
        "region (it falls through by itself), uv the first healthy one. "
        "Tokens are printed only when stdout is not a terminal.",
        epilog=epilog,
    )
    env.add_argument(
        "--tool",
        choices=("pip", "uv"),
        required=True,
        help="whose settings to print: pip gets every region, uv the first healthy",
    )
    env.add_argument(
        "--format",
        choices=("shell", "dotenv", "github", "json"),
        default=None,
        help="shell (default): export lines for eval; dotenv; github: for "
        "$GITHUB_ENV, masks on stderr; json: regions, round trips, expirations",
    )
    env.add_argument("--json", action="store_true", help="the same as --format json")
    shared(env)

    run = sub.add_parser(
        "exec",
        help="run a command against the first healthy region, failing over to the next",
        description="Run COMMAND with the first "
        "healthy region's settings in its environment only; when it fails and "
        "that region no longer answers, run it again with the next one.",
        epilog=epilog,
    )
    run.add_argument(
        "--tool",
        choices=("pip", "uv"),
        default=None,
        help="which tool's variables to set (default: both)",
    )
    shared(run)
    run.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND...",
        help="the command to run, and its arguments, after --",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every ending (also a usage error or SIGINT) has its exit code.

    With ``--json``, stdout holds exactly one JSON document whatever happened.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        with _sigterm_as_interrupt():
            args = build_parser().parse_args(argv)
            return _run(args, out, err)
    except CodeArtifactError as exc:
        return _fail(as_json, out, err, exc, exc.exit_code)
    except KeyboardInterrupt:
        return _fail(
            as_json,
            out,
            err,
            "interrupted: no new upload was started after the "
            "signal; files reported above landed. Run again: it sends only what is "
            "missing.",
            EXIT_INTERRUPTED,
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancel) stops a run the way Ctrl-C does: cleanly, temp files removed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _replication_flags(args: argparse.Namespace) -> None:
    """--all and --event replace the per-package flags; a mix is a usage error."""
    whole = getattr(args, "all", False)
    event = getattr(args, "event", None)
    if whole and event is not None:
        raise UsageError(
            "--all and --event exclude each other: --all replicates every "
            "package, --event one package version. Pass one of them."
        )
    if whole or event is not None:
        used = [
            flag
            for flag, value in (
                ("--package", args.package),
                ("--version", getattr(args, "versions", None)),
                ("--from", getattr(args, "source", None)),
            )
            if value is not None
        ]
        if used:
            raise UsageError(
                f"{'--all' if whole else '--event'} cannot be combined with "
                f"{', '.join(used)}: it chooses the packages itself. Drop "
                f"{'them' if len(used) > 1 else 'it'}."
            )
    elif getattr(args, "include_external", False):
        raise UsageError("--include-external applies only with --all or --event. Add one.")


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command in CONSUMER_COMMANDS:
        from .consumers import run_command

        return run_command(args, out, err)
    from . import host
    from .progress import make_renderer

    _replication_flags(args)
    config = host.load(
        args.project,
        args.region,
        concurrency=host.concurrency_option(args.concurrency),
        dist_dir=getattr(args, "dist_dir", None),
    )
    event = None
    if getattr(args, "event", None) is not None:
        from .eventbridge import read_event

        event = read_event(args.event)
    renderer = make_renderer(
        err, quiet=args.quiet or False, verbose=args.verbose, bar=getattr(args, "all", False)
    )
    with renderer:
        if args.command == "publish":
            report: RunReport = host.publish_project(
                config, files=args.files, dry_run=args.dry_run, on_event=renderer
            )
        elif args.command in ("status", "sync") and (args.all or event is not None):
            from .replication import Replicator

            replicator = Replicator(
                config, on_event=renderer, include_external=args.include_external
            )
            if args.command == "status":
                report = replicator.status_all()
            elif event is not None:
                report = replicator.sync_event(event, dry_run=args.dry_run)
            else:
                report = replicator.sync_all(dry_run=args.dry_run)
        elif args.command == "status":
            from .status import status

            report = status(config, package=args.package, on_event=renderer)
        else:
            from .sync import Syncer

            report = Syncer(config, on_event=renderer).sync(
                package=args.package,
                versions=args.versions,
                source=args.source,
                dry_run=args.dry_run,
            )
    out.write((report.to_json() if args.json else report.render_text()) + "\n")
    if not report.ok and not args.json:
        err.write(host.next_steps(args.command) + "\n")
    return report.exit_code


def _fail(as_json: bool, out: TextIO, err: TextIO, message: object, code: int) -> int:
    from .host import error_document, safe_message

    if as_json:
        out.write(error_document(message, code) + "\n")
    prefix = "error" if code == EXIT_USAGE else "failed"
    err.write(f"{prefix}: {safe_message(message)}\n")
    return code


def run() -> NoReturn:
    """The console script: ``main()``, then an exit that tears nothing down.

    By then the report is printed and the private directory removed; what is left is
    the interpreter's teardown of every module it loaded (about 45 ms, a twentieth of a
    tiny publish) and, after an interrupt, a worker thread still blocked in a request the
    stop could not cut (a control-plane call, a handshake), which must not hold the process
    up. So the streams are flushed and the process ends at once. Hosts that own their
    process (poetry, hatch) end theirs as they like.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe (`| head`) or stream
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
