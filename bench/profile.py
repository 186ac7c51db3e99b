"""Where a publish spends its wall time, over the same emulated WAN as bench/run.py.

``python bench/profile.py [--large-mb 52] [--regions 3] [--files 2]`` runs three views of
one publish each (a new version each, same links):

1. a phase timeline: a driver process stamps its own start, the imports, the engine's
   calls (resolve, index reads, uploads, per thread) and the engine's events;
2. ``-X importtime``: the heaviest imports of the CLI's publish path;
3. pyinstrument (main thread, condensed) of the CLI run, saved under bench/results/.

The timeline answers "how many round trips, and what runs before the first byte";
pyinstrument answers "what is the CPU doing" (it samples the main thread only; the
uploads run in worker threads, which the timeline covers).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PY, ROOT, World, compiled, run

RESULTS = Path(__file__).resolve().parent / "results"

# Runs in a fresh interpreter: argv = the CLI's own. It runs the real CLI (``cli.main``) and
# times the engine's calls by wrapping them as each module is first imported, so the CLI's
# lazy imports happen exactly as in a plain run.
DRIVER = r"""
import time
T0 = time.perf_counter()
import importlib.abc, inspect, json, sys, threading
spans, lock = [], threading.Lock()
def stamp(label, start, end=None):
    with lock:
        spans.append((threading.current_thread().name, label, round((start - T0) * 1e3),
                      round(((end or time.perf_counter()) - T0) * 1e3)))
def region_of(name, a):
    for x in a:
        for obj in (x, getattr(x, "endpoint", None), getattr(x, "target", None)):
            region = getattr(obj, "region", None)
            if isinstance(region, str):
                return region
    return ""
def wrap(owner, name, label):
    orig = getattr(owner, name, None)
    if orig is None:  # the engine moved on: time what is there
        return
    def timed(*a, **k):
        s = time.perf_counter()
        try:
            return orig(*a, **k)
        finally:
            what = label
            if name == "_call" and len(a) > 1:
                what += " " + a[1]
            elif name == "call" and len(a) > 2:
                what += " " + a[1] + " " + a[2]
            stamp((what + " " + region_of(name, a)).rstrip(), s)
    static = isinstance(inspect.getattr_static(owner, name), staticmethod)
    setattr(owner, name, staticmethod(timed) if static else timed)
P = "codeartifact_multiregion."
WRAPS = {
    P + "aws.resolver": lambda m: (wrap(m.Resolver, "resolve", "resolve"),
                          wrap(m.Resolver, "_new_client", "botocore client"),
                          wrap(m.Resolver, "_new_session", "botocore session"),
                          wrap(m, "_call", "control plane (botocore)")),
    P + "network.index": lambda m: (wrap(m.Index, "listing", "GET index"),
                            wrap(m.Index, "_post", "POST upload")),
    P + "operations.artifacts": lambda m: (wrap(m, "_load", "read+hash one artifact"),
                                wrap(m, "find_release", "check file names")),
    P + "operations.engine": lambda m: wrap(m, "open_session", "resolve all + open indexes"),
    P + "network.transport": lambda m: wrap(m.Transport, "warm", "start connecting"),
}
IMPORTED = {}
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in WRAPS:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return None
        run_module = spec.loader.exec_module
        def exec_module(module, name=name, run_module=run_module):
            s = time.perf_counter()
            run_module(module)
            IMPORTED[name] = round((time.perf_counter() - T0) * 1e3)
            WRAPS[name](module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Hook())
events = []
from codeartifact_multiregion.kit import cli
from codeartifact_multiregion.kit.progress import make_renderer
import codeartifact_multiregion.kit.progress as progress
class Sink:
    def __init__(self, *a, **k): pass
    def __enter__(self): return self
    def __exit__(self, *a): pass
    def __call__(self, e):
        events.append((round((time.perf_counter() - T0) * 1e3), e.kind, e.region, e.filename))
progress.make_renderer = lambda *a, **k: Sink()
s = time.perf_counter()
code = cli.main(sys.argv[1:])
stamp("cli.main", s)
print(json.dumps({"ok": code == 0, "spans": spans, "events": events, "imported": IMPORTED,
                  "cpu_ms": round(time.process_time() * 1e3),
                  "total_ms": round((time.perf_counter() - T0) * 1e3)}))
"""


def timeline(world: World, files: list[Path], regions: list[str], env: dict[str, str]) -> str:
    result = run(
        [
            PY,
            "-c",
            DRIVER,
            "publish",
            *map(str, files),
            "--project",
            str(world.project(regions)),
            "-q",
        ],
        env,
    )
    data = json.loads(result.out.strip().splitlines()[-1])
    lines = [
        f"wall {result.wall * 1e3:.0f} ms (process spawn to exit); driver total "
        f"{data['total_ms']} ms, CPU {data['cpu_ms']} ms; ok={data['ok']}",
        "",
        f"{'start':>6} {'end':>6} {'ms':>5}  thread / span",
    ]
    for thread, label, start, end in sorted(data["spans"], key=lambda s: s[2]):
        lines.append(f"{start:6d} {end:6d} {end - start:5d}  {thread[:22]:22} {label}")
    lines += [
        "",
        "modules imported by (ms since start): "
        + ", ".join(
            f"{name.rsplit('.', 1)[-1]} {t}"
            for name, t in sorted(data["imported"].items(), key=lambda kv: kv[1])
        ),
    ]
    lines += [
        "",
        "events (ms since start): "
        + ", ".join(
            f"{t} {kind}{' ' + region if region else ''}"
            for t, kind, region, _ in data["events"]
            if kind in ("resolved", "start", "verified")
        ),
    ]
    return "\n".join(lines)


def importtime(
    world: World, files: list[Path], regions: list[str], env: dict[str, str], top: int = 15
) -> str:
    argv = [
        PY,
        "-X",
        "importtime",
        "-m",
        "codeartifact_multiregion",
        "publish",
        *map(str, files),
        "--project",
        str(world.project(regions)),
        "-q",
    ]
    result = run(argv, env)
    rows = []
    for line in result.out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (.*)", line)
        if m:
            rows.append((int(m.group(2)), m.group(3).rstrip()))
    rows.sort(reverse=True)
    lines = [f"wall {result.wall * 1e3:.0f} ms with -X importtime; cumulative import ms:"]
    lines += [f"{us / 1e3:7.0f}  {name}" for us, name in rows[:top]]
    return "\n".join(lines)


MAIN = "import sys; from codeartifact_multiregion.kit.cli import main; sys.exit(main())"


def pyinstrument(
    world: World, files: list[Path], regions: list[str], tag: str, env: dict[str, str]
) -> str:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pyinstrument-{tag}.txt"
    # The CLI's ``main`` rather than its console script: whatever the script's exit does,
    # pyinstrument gets to write its report.
    argv = [
        PY,
        "-m",
        "pyinstrument",
        "-r",
        "text",
        "-o",
        str(out),
        "-c",
        MAIN,
        "publish",
        *map(str, files),
        "--project",
        str(world.project(regions)),
        "-q",
    ]
    result = run(argv, env)
    if result.rc:
        return f"pyinstrument failed: {result.out[-500:]}"
    return f"(full report: {out.relative_to(RESULTS.parent.parent)})\n" + out.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--files", type=int, default=2, help="wheels + an sdist when >= 2")
    parser.add_argument("--payload-kb", type=int, default=0, help="each wheel's payload")
    parser.add_argument("--mbit", type=float, default=50.0)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile another checkout's src/ (a before/after)",
    )
    args = parser.parse_args()
    tag = f"{args.regions}r-{args.files}f-{args.payload_kb}kb"
    if args.baseline_src is not None:
        tag += "-baseline"
    stamp = int(time.time()) % 100000
    src = (args.baseline_src or ROOT / "src").resolve()
    compiled(src)
    with World(max(args.regions, 3), mbit=args.mbit) as world:
        regions = world.regions[: args.regions]
        if args.regions == 1:
            regions = [world.slowest]

        def release(i: int) -> list[Path]:
            return world.release(f"{stamp}.{i}", files=args.files, payload=args.payload_kb * 1024)

        env = world.env if args.baseline_src is None else {**world.env, "PYTHONPATH": str(src)}
        sections = [
            ("phase timeline", timeline(world, release(1), regions, env)),
            ("imports", importtime(world, release(2), regions, env)),
            ("pyinstrument", pyinstrument(world, release(3), regions, tag, env)),
        ]
    text = "\n\n".join(f"== {title} ({tag}) ==\n{body}" for title, body in sections)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"profile-{tag}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
