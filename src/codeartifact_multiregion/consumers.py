"""The consumer side: hand pip or uv the nearest healthy region, and fail over when it dies.

Packages live in several regions, but an installer points at one URL. pip moves past a
failing index to the next configured one by itself; uv does not (an index that refuses
or resets the connection fails the install, whatever its index strategy). So the choice
is made here, before the tool runs: fetch a read token per region, probe each region
once (probe.py), and order them. ``env`` prints the result for a shell, a .env file,
GitHub Actions or any tool (JSON); ``exec`` runs a command with it and, when the
command fails because its region stopped answering, runs it again with the next one.

Tokens travel as URL userinfo (``https://aws:TOKEN@host/.../simple/``, percent-encoded),
as ``aws codeartifact login`` configures pip. They are printed only to a stdout that is
not a terminal, and never written to disk by this module.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

from .aws import is_loopback
from .config import Config, Target
from .errors import CodeArtifactError, UsageError
from .probe import DEFAULT_TIMEOUT, Fetch, Probe, http_status, probe, probe_all
from .secrets import MASK, redact, register_secret
from .text import printable

TOOLS = ("pip", "uv")
FORMATS = ("shell", "dotenv", "github", "json")
USER = "aws"
# What each tool reads. pip falls through its indexes in order; uv consults UV_INDEX
# before the default index and before every index named in uv.toml or pyproject.toml
# (settings from the environment win over configuration files), and UV_DEFAULT_INDEX
# replaces a default index named there. So uv gets one region in both.
PIP_VARS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
UV_VARS = ("UV_DEFAULT_INDEX", "UV_INDEX")
# Older spellings uv still reads, with UV_INDEX's priority: left in a child's environment
# they would put another index before ours.
UV_COMPETING = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL")
# A repository URL we will put a token into and print: no quotes, spaces, ``$`` or
# backslashes, so no shell, dotenv or GitHub reader can take it for anything else.
_SAFE_URL = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]+")


class NoHealthyRegion(CodeArtifactError):
    """No configured region gave a token and answered: nothing to hand to the tool."""


@dataclass(frozen=True)
class Source:
    """One region as a place to install from: its index, its token and how it answered."""

    region: str
    simple_url: str | None = None
    token: str = field(default="", repr=False)
    expiration: datetime | None = None
    probe: Probe | None = None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None and self.probe is not None and self.probe.healthy

    @property
    def reason(self) -> str:
        """Why this region is not used (empty when it is healthy)."""
        if self.error:
            return self.error
        if self.probe is not None and self.probe.error:
            return self.probe.error
        return "" if self.probe is not None else "not measured"

    @property
    def round_trip_s(self) -> float | None:
        return self.probe.round_trip_s if self.probe is not None else None

    def index_url(self, reveal: bool = True) -> str:
        """The simple index with the token as userinfo; ``***`` in its place unless revealed."""
        if self.simple_url is None:
            raise ValueError(f"{self.region} has no endpoint")
        return with_credentials(self.simple_url, quote(self.token, safe="") if reveal else MASK)


def with_credentials(url: str, password: str, user: str = USER) -> str:
    """``url`` with ``user:password@`` before its host; ``password`` comes percent-encoded."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = f"{quote(user, safe='')}:{password}"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


def check_endpoint(url: str) -> str | None:
    """Why a repository URL from the control plane cannot carry a token, or None if it can."""
    if not _SAFE_URL.fullmatch(url):
        return "the repository endpoint holds characters no index URL has"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the repository endpoint is not an http(s) URL"
    if "@" in parts.netloc:
        return "the repository endpoint already carries credentials"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "the repository endpoint is plain http: a token is sent only over https"
    return None


# resolving and measuring ---------------------------------------------------------------

Resolve = Callable[[Target], Any]


def resolve_sources(config: Config, resolve: Resolve | None = None) -> list[Source]:
    """A read token and index URL per region, in parallel; a failing region is kept, marked.

    Unlike publishing, one region's control plane being down must not stop the others:
    that outage is exactly when a consumer needs the rest. A usage error (a missing
    profile) still stops everything, as it would in every region.
    """
    if resolve is None:
        from .aws import Resolver

        resolve = Resolver(config.token_duration).resolve
    targets = list(config.targets)
    with ThreadPoolExecutor(max_workers=min(len(targets), 16) or 1) as pool:
        results = list(pool.map(lambda t: _resolve_one(t, resolve), targets))
    usage = [r for r in results if isinstance(r, UsageError)]
    if usage:
        raise usage[0]
    return [r for r in results if isinstance(r, Source)]


def _resolve_one(target: Target, resolve: Resolve) -> Source | UsageError:
    try:
        endpoint = resolve(target)
    except UsageError as exc:
        return exc
    except CodeArtifactError as exc:
        return Source(target.region, error=printable(redact(exc)))
    simple_url = str(endpoint.simple_url)
    problem = check_endpoint(simple_url)
    if problem:
        return Source(target.region, error=problem)
    token = str(endpoint.token)
    register_secret(quote(token, safe=""))  # the form it takes inside a URL
    return Source(target.region, simple_url, token, getattr(endpoint, "expiration", None))


def measure(
    sources: Sequence[Source],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fetch: Fetch = http_status,
    clock: Callable[[], float] | None = None,
) -> list[Source]:
    """Every resolved source with its probe (one authenticated request each, in parallel)."""
    wanted = [
        (s.region, s.simple_url, s.token) for s in sources if s.error is None and s.simple_url
    ]
    kwargs: dict[str, Any] = {"timeout": timeout, "fetch": fetch}
    if clock is not None:
        kwargs["clock"] = clock
    probes = probe_all([(r, u, t) for r, u, t in wanted if u], **kwargs)
    return [replace(s, probe=probes[s.region]) if s.region in probes else s for s in sources]


def order(sources: Sequence[Source], *, nearest: bool) -> list[Source]:
    """Healthy regions first (config order, or by round trip with ``nearest``), then the rest."""
    healthy = [s for s in sources if s.healthy]
    if nearest:
        healthy.sort(key=lambda s: s.round_trip_s if s.round_trip_s is not None else 1e9)
    return healthy + [s for s in sources if not s.healthy]


@dataclass(frozen=True)
class Selection:
    """Which regions a tool gets, in which order, and what to warn about."""

    tool: str | None  # None: both pip and uv (exec without --tool)
    nearest: bool
    sources: tuple[Source, ...]  # ordered: healthy first

    @property
    def healthy(self) -> list[Source]:
        return [s for s in self.sources if s.healthy]

    @property
    def used(self) -> list[Source]:
        """pip: every region with a token (failed ones last); uv: the first healthy one."""
        if self.tool == "uv":
            return self.healthy[:1]
        return [s for s in self.sources if s.simple_url is not None and s.error is None]

    def warnings(self, *, healthy_only: bool = False) -> list[str]:
        """One line per region not used first; ``healthy_only``: exec uses none of them."""
        lines = []
        for source in self.sources:
            if source.healthy:
                continue
            usable = source.simple_url is not None and source.error is None
            kept = usable and self.tool != "uv" and not healthy_only
            fate = "put last" if kept else "left out"
            lines.append(f"warning: {source.region} {fate}: {source.reason}")
        return lines


def select(
    config: Config,
    tool: str | None,
    *,
    nearest: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    resolve: Resolve | None = None,
    fetch: Fetch = http_status,
    clock: Callable[[], float] | None = None,
) -> Selection:
    """Resolve, measure and order every configured region; raise if none is healthy."""
    if tool is not None and tool not in TOOLS:
        raise UsageError(f"--tool {tool!r}: one of {', '.join(TOOLS)}.")
    sources = measure(resolve_sources(config, resolve), timeout=timeout, fetch=fetch, clock=clock)
    selection = Selection(tool, nearest, tuple(order(sources, nearest=nearest)))
    if not selection.healthy:
        reasons = "\n".join(f"  {s.region}: {s.reason}" for s in selection.sources)
        raise NoHealthyRegion(
            redact(
                f"no configured region gave a token and answered:\n{reasons}\n"
                "Check your AWS credentials and the regions' status, then run again."
            )
        )
    return selection


# what each tool reads ------------------------------------------------------------------


def tool_env(tool: str | None, sources: Sequence[Source], *, reveal: bool = True) -> dict[str, str]:
    """The variables that point ``tool`` at ``sources`` (first = the one it consults first)."""
    if not sources:
        return {}
    env: dict[str, str] = {}
    if tool in (None, "pip"):
        env["PIP_INDEX_URL"] = sources[0].index_url(reveal)
        extra = " ".join(s.index_url(reveal) for s in sources[1:])
        if extra:
            env["PIP_EXTRA_INDEX_URL"] = extra
    if tool in (None, "uv"):
        url = sources[0].index_url(reveal)
        env["UV_DEFAULT_INDEX"] = url
        env["UV_INDEX"] = url
    return env


def child_env(
    base: Mapping[str, str], tool: str | None, sources: Sequence[Source]
) -> dict[str, str]:
    """``base`` with our index variables, and without index variables that would outrank them."""
    env = {k: v for k, v in base.items() if k not in (*PIP_VARS, *UV_VARS, *UV_COMPETING)}
    env.update(tool_env(tool, sources))
    return env


# rendering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    out: str
    err: str


def render(selection: Selection, fmt: str, *, reveal: bool) -> Rendered:
    """The text for stdout and stderr; tokens only when ``reveal`` (stdout is no terminal)."""
    env = tool_env(selection.tool, selection.used, reveal=reveal)
    for value in env.values():
        if "\n" in value or "\r" in value:  # check_endpoint makes this impossible; be sure
            raise ValueError("an index URL with a line break")
    notes = [*selection.warnings()]
    if fmt == "shell":
        out = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    elif fmt == "dotenv":
        out = "".join(f"{k}='{v}'\n" for k, v in env.items())
    elif fmt == "github":
        out = _github_env(env)
        # Workflow commands are read from the step's stdout and stderr alike; stdout is
        # the env file here, so the masks go to stderr, ahead of any later step's log.
        notes = [
            f"::add-mask::{form if reveal else MASK}"
            for s in selection.used
            for form in _forms(s.token)
        ] + notes
    elif fmt == "json":
        import json

        out = json.dumps(_json_doc(selection, env, reveal), indent=2) + "\n"
    else:
        raise UsageError(f"--format {fmt!r}: one of {', '.join(FORMATS)}.")
    return Rendered(out, "".join(n + "\n" for n in notes))


def _forms(token: str) -> list[str]:
    """A token as the runner may meet it: raw and percent-encoded (inside a URL)."""
    return list(dict.fromkeys([token, quote(token, safe="")]))


def _github_env(env: Mapping[str, str]) -> str:
    """``$GITHUB_ENV`` lines in the heredoc form, with a delimiter no value contains."""
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return "".join(f"{k}<<{delimiter}\n{v}\n{delimiter}\n" for k, v in env.items())


def _json_doc(selection: Selection, env: Mapping[str, str], reveal: bool) -> dict[str, Any]:
    used = [s.region for s in selection.used]
    regions = []
    for source in selection.sources:
        regions.append(
            {
                "region": source.region,
                "healthy": source.healthy,
                "used": source.region in used,
                "simple_url": source.simple_url,
                "index_url": source.index_url(reveal) if source.region in used else None,
                "token": (source.token if reveal else MASK) if source.region in used else None,
                "round_trip_s": (
                    round(source.round_trip_s, 4) if source.round_trip_s is not None else None
                ),
                "expires_at": source.expiration.isoformat() if source.expiration else None,
                "error": source.reason or None,
            }
        )
    return {
        "ok": True,
        "tool": selection.tool,
        "nearest": selection.nearest,
        "env": dict(env),
        "regions": regions,
    }


def write_env(selection: Selection, fmt: str, out: TextIO, err: TextIO) -> int:
    """Print the selection; tokens only to a stdout that is no terminal (github: no pipe)."""
    reveal = not _is_terminal(out)
    if fmt == "github" and reveal and not _is_regular_file(out):
        reveal = False  # only the env file may hold them: a pipe is likely the step's log
    rendered = render(selection, fmt, reveal=reveal)
    if fmt == "github" and _is_terminal(err):
        rendered = replace(rendered, err=render(selection, fmt, reveal=False).err)
    err.write(rendered.err)
    err.flush()
    out.write(rendered.out)
    out.flush()
    if not reveal:
        err.write(_masked_hint(fmt, selection.tool))
    return 0


def _masked_hint(fmt: str, tool: str | None) -> str:
    command = f"codeartifact-multiregion env --tool {tool}"
    if fmt == "github":
        return (
            f"note: tokens masked: stdout is not a file. In a workflow step run "
            f'`{command} --format github >> "$GITHUB_ENV"`.\n'
        )
    if fmt == "shell":
        return f'note: tokens masked on a terminal. Load the variables with: eval "$({command})"\n'
    return (
        f"note: tokens masked on a terminal. Redirect stdout to the reader, e.g. "
        f"`{command} --format {fmt} | ...`.\n"
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _is_regular_file(stream: TextIO) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


# exec ----------------------------------------------------------------------------------

Runner = Callable[[Sequence[str], Mapping[str, str]], int]


def run_child(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``argv`` with ``env`` and our streams; its exit code (128+N for signal N)."""
    try:
        proc = subprocess.Popen(list(argv), env=dict(env))
    except FileNotFoundError:
        raise UsageError(f"{printable(argv[0])}: command not found.") from None
    except PermissionError:
        raise UsageError(f"{printable(argv[0])}: not executable.") from None
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:  # the child got the same SIGINT; let it finish its way
            continue
    return 128 - code if code < 0 else code


def run_with_failover(
    selection: Selection,
    argv: Sequence[str],
    err: TextIO,
    *,
    base_env: Mapping[str, str] | None = None,
    runner: Runner = run_child,
    timeout: float = DEFAULT_TIMEOUT,
    fetch: Fetch = http_status,
) -> int:
    """Run ``argv`` against the first healthy region; again with the next while regions die.

    A failure while the region still answers is the command's own (a missing package, a
    failing test): it is returned at once, not retried elsewhere. Each region runs at
    most once; the exit code is the last run's.
    """
    if not argv:
        raise UsageError(
            "exec: no command given. Usage: codeartifact-multiregion exec "
            "[--tool pip|uv] -- COMMAND [ARGS...]"
        )
    base = os.environ if base_env is None else base_env
    healthy = selection.healthy
    code = 1
    for i, source in enumerate(healthy):
        code = runner(argv, child_env(base, selection.tool, healthy[i:]))
        if code == 0 or i + 1 == len(healthy):
            return code
        again = probe(
            source.region, str(source.simple_url), source.token, timeout=timeout, fetch=fetch
        )
        if again.healthy:
            return code
        err.write(
            f"{source.region} no longer answers ({again.error}); running the command "
            f"again with {healthy[i + 1].region}\n"
        )
        err.flush()
    return code


def run_command(args: Any, out: TextIO, err: TextIO) -> int:
    """The ``env`` and ``exec`` commands over parsed arguments (see cli.py)."""
    from .config import load_config

    if getattr(args, "format", None) == "json":
        args.json = True  # errors, too, then come as one JSON document on stdout
    if args.project and args.config:
        raise UsageError(
            "--project and --config: give one (a project directory, or a codeartifact.toml file)."
        )
    timeout = args.probe_timeout
    if not 0 < timeout <= 60:
        raise UsageError(f"--probe-timeout {timeout:g}: seconds from 0 to 60.")
    config = load_config(args.config or args.project, args.region)
    if args.command == "env":
        fmt = "json" if args.json else args.format
        if args.json and args.format not in (None, "json"):
            raise UsageError("--json is --format json: drop one of them.")
        selection = select(config, args.tool, nearest=args.nearest, timeout=timeout)
        return write_env(selection, fmt or "shell", out, err)
    argv = [a for a in args.argv]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise UsageError(
            "exec: no command given. Usage: codeartifact-multiregion exec "
            "[--tool pip|uv] -- COMMAND [ARGS...]"
        )
    selection = select(config, args.tool, nearest=args.nearest, timeout=timeout)
    for line in selection.warnings(healthy_only=True):
        err.write(line + "\n")
    return run_with_failover(selection, argv, err, timeout=timeout)
