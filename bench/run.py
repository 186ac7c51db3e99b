"""``make bench``: our publisher against twine over an emulated WAN, with the results table.

Cases (see bench/README.md):
  1. 3 regions (RTT 20/80/150 ms, 50 Mbit): ours vs uv publish to the slowest region alone
     and to each region in turn, the seeds' recipe (AWS CLI token + endpoint, then twine)
     per region in turn, and twine (slowest alone, x3 sequential, x3 parallel processes);
     a tiny wheel + sdist and a 20 MiB wheel + sdist.
  2. scale: 1, 3, 5, 10 regions x 1, 5, 20 files, vs the slowest single region.
  3. memory: peak RSS publishing a 200 MB wheel to 3 regions.
  4. start-up: bench/poetry_startup.py (if present) and hatch with/without our plugin.
Methods are interleaved in a new random order every round, each run with a new version,
and medians are reported. ``--quick`` is a smoke run of a minute or two.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from harness import PY, ROOT, RTTS_MS, Run, World, median

BENCH = Path(__file__).resolve().parent
MB = 1_000_000
MIB = 1 << 20
# Issue 13: against uv publish (tokens handed to it for free) and the seeds' recipe.
GOALS = {
    "tiny_vs_uv_slowest": 1.6,
    "large_vs_uv_slowest": 1.10,
    "tiny_vs_uv_seq": 1.0,
    "tiny_vs_recipe": 0.3,
    "large_vs_recipe": 0.3,
    "scale_10x20": 1.3,
    "rss_mb": 100.0,
}


class Versions:
    """A new version for every run, so no index ever rejects a file as existing."""

    def __init__(self) -> None:
        self.n = 0
        self.stamp = int(time.time()) % 100000

    def __call__(self) -> str:
        self.n += 1
        return f"{self.stamp}.0.{self.n}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# case 1 ---------------------------------------------------------------------


def case_compare(
    world: World,
    versions: Versions,
    rounds: int,
    sizes: dict[str, int],
    baseline: Path | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    regions = world.regions[:3]
    slowest = max(regions, key=world.rtt)
    methods: dict[str, Callable[[list[Path]], Run]] = {
        "ours x3": lambda f: world.ours(f, regions),
        "twine slowest": lambda f: world.twine(f, slowest),
        "twine x3 seq": lambda f: world.twine_sequential(f, regions),
        "twine x3 par": lambda f: world.twine_parallel(f, regions),
        "uv slowest": lambda f: world.uv(f, slowest),
        "uv x3 seq": lambda f: world.uv_sequential(f, regions),
        "recipe x3 seq": lambda f: world.recipe(f, regions),
    }
    if baseline is not None:  # the publisher of another checkout, in the same rounds
        methods["ours before"] = lambda f: world.ours(f, regions, src=baseline)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, payload in sizes.items():
        times: dict[str, list[float]] = defaultdict(list)
        rss: dict[str, list[int]] = defaultdict(list)
        cpu: dict[str, list[float]] = defaultdict(list)
        for rnd in range(rounds):
            order = list(methods)
            random.shuffle(order)
            for name in order:
                files = world.release(versions(), files=2, payload=payload)
                result = methods[name](files)
                times[name].append(result.wall)
                rss[name].append(result.maxrss_kb)
                cpu[name].append(result.cpu_s)
                world.discard(files)
                world.clear()
            log(
                f"  [{label} round {rnd + 1}/{rounds}] "
                + ", ".join(f"{m} {times[m][-1]:.2f}s" for m in methods)
            )
        out[label] = {
            m: {
                "median_s": median(times[m]),
                "min_s": min(times[m]),
                "max_s": max(times[m]),
                "rss_mb": max(rss[m]) / 1024,
                "cpu_s": median(cpu[m]),
                "n": len(times[m]),
            }
            for m in methods
        }
    return out


# case 2 ---------------------------------------------------------------------


def case_scale(
    world: World,
    versions: Versions,
    rounds: int,
    region_counts: list[int],
    file_counts: list[int],
    payload: int,
) -> dict[str, dict[str, float]]:
    slowest = max(world.regions, key=world.rtt)

    def targets(n: int) -> list[str]:
        return [slowest] if n == 1 else world.regions[:n]

    times: dict[str, list[float]] = defaultdict(list)
    for rnd in range(rounds):
        combos = [(n, k) for n in region_counts for k in file_counts]
        combos += [(0, k) for k in file_counts]  # 0: twine to the slowest region alone
        random.shuffle(combos)
        for n, k in combos:
            files = world.release(versions(), files=k, payload=payload)
            result = world.twine(files, slowest) if n == 0 else world.ours(files, targets(n))
            times[f"{n}x{k}"].append(result.wall)
            world.discard(files)
            world.clear()
        log(f"  [scale round {rnd + 1}/{rounds}] done")
    return {
        key: {"median_s": median(v), "min_s": min(v), "max_s": max(v), "n": len(v)}
        for key, v in times.items()
    }


# case 3 ---------------------------------------------------------------------


def case_memory(
    world: World, versions: Versions, rounds: int, payload: int
) -> dict[str, dict[str, float]]:
    regions = world.regions[:3]
    slowest = max(regions, key=world.rtt)
    results: dict[str, list[Run]] = defaultdict(list)
    for _ in range(rounds):
        for name in random.sample(["ours x3", "twine slowest"], 2):
            files = world.release(versions(), files=1, payload=payload)
            size = files[0].stat().st_size
            run = world.ours(files, regions) if name == "ours x3" else world.twine(files, slowest)
            results[name].append(run)
            world.discard(files)
            world.clear()
            log(f"  [memory] {name}: {run.wall:.1f}s, peak RSS {run.maxrss_kb / 1024:.0f} MB")
    return {
        name: {
            "rss_mb": max(r.maxrss_kb for r in runs) / 1024,
            "median_s": median([r.wall for r in runs]),
            "file_mb": size / MB,
        }
        for name, runs in results.items()
    }


# case 4 ---------------------------------------------------------------------

HIDE_PLUGIN = (
    "import importlib.metadata as m, sys, types\n"
    "load = m.EntryPoint.load\n"
    "m.EntryPoint.load = lambda ep: types.ModuleType('hidden') "
    "if ep.value.startswith('hatch_codeartifact') else load(ep)\n"
    "from hatch.cli import main\n"
    "sys.argv = ['hatch', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)
WITH_PLUGIN = (
    "import sys\nfrom hatch.cli import main\nsys.argv = ['hatch', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)


def case_hatch(world: World, rounds: int) -> dict[str, dict[str, float]]:
    """hatch's own start-up with our plugin installed vs hidden (its entry point not loaded)."""
    try:
        import hatch  # noqa: F401
    except ImportError:
        return {}
    project = world.work / "hatch-project"
    world.aws.write_pyproject(project, regions=world.regions[:3], name="bench-pkg")
    env = {
        **world.env,
        "HATCH_DATA_DIR": str(world.work / "hatch-data"),
        "HATCH_CACHE_DIR": str(world.work / "hatch-cache"),
    }
    commands = {"hatch --version": ["--version"], "hatch version": ["version"]}
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for key, args in random.sample(list(commands.items()), len(commands)):
            for label, code in random.sample([("with", WITH_PLUGIN), ("without", HIDE_PLUGIN)], 2):
                started = time.perf_counter()
                proc = subprocess.run(
                    [PY, "-c", code, *args], cwd=project, env=env, capture_output=True, text=True
                )
                if proc.returncode:
                    log(f"  [hatch] {key} {label} failed: {proc.stderr[-500:]}")
                times[f"{key} ({label} plugin)"].append(time.perf_counter() - started)
    return {k: {"median_s": median(v), "n": len(v)} for k, v in times.items()}


def case_poetry(quick: bool) -> dict | None:
    """Run bench/poetry_startup.py (it keeps its own two poetry environments)."""
    script = BENCH / "poetry_startup.py"
    if not script.exists():
        return None
    argv = [PY, str(script), *(["--runs", "3"] if quick else [])]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=600)
    except subprocess.TimeoutExpired:
        return {"rc": -1, "stdout": "", "stderr": "timed out after 600 s"}
    return {
        "rc": proc.returncode,
        "stdout": proc.stdout.strip(),
        "stderr": proc.stderr.strip()[-2000:],
    }


# report ---------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "load": load,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def verdict(value: float, goal: float, strict: bool = False) -> str:
    return "met" if (value < goal if strict else value <= goal) else "**not met**"


def render(results: dict, args: argparse.Namespace) -> str:
    m = results["machine"]
    lines = [
        f"Ran on: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['os']}, "
        f"{m['date']}; `{results['command']}` ({results['elapsed_s']:.0f} s). Load average "
        f"at start {m['load']}, at end {results.get('load_end', '?')} (other work shares "
        "this machine: read ratios, not absolute seconds).",
        "",
    ]
    rtts = "/".join(str(r) for r in RTTS_MS[:3])
    if "compare" in results:
        lines += [
            f"### 1. Three regions (RTT {rtts} ms, {args.mbit:g} Mbit/s each way), "
            f"medians of {args.rounds} (tiny) and {args.large_rounds} (large) "
            "interleaved rounds; tokens handed to uv and twine for free",
            "",
            "| case | ours, 3 regions | uv publish to the slowest region alone | "
            "uv publish to 3 regions in turn | aws codeartifact get-authorization-token "
            "+ get-repository-endpoint + twine upload, 3 regions in turn |",
            "|---|---|---|---|---|",
        ]
        for label, r in results["compare"].items():
            ours = r["ours x3"]["median_s"]
            cells = [
                f"{r[k]['median_s']:.2f} s (ours {ours / r[k]['median_s']:.2f}x)"
                for k in ("uv slowest", "uv x3 seq", "recipe x3 seq")
            ]
            lines.append(f"| {label} | {ours:.2f} s | " + " | ".join(cells) + " |")
        if any("ours before" in r for r in results["compare"].values()):
            lines += [
                "",
                f"Before/after in the same rounds (before: `{args.baseline_src}`):",
                "",
                "| case | ours before | ours now | now / before | CPU s before / now |",
                "|---|---|---|---|---|",
            ]
            for label, r in results["compare"].items():
                b, n = r["ours before"], r["ours x3"]
                lines.append(
                    f"| {label} | {b['median_s']:.2f} s | {n['median_s']:.2f} s | "
                    f"{n['median_s'] / b['median_s']:.2f}x | {b['cpu_s']:.2f} / "
                    f"{n['cpu_s']:.2f} |"
                )
        lines += [
            "",
            "Beside them, twine (token for free):",
            "",
            "| case | twine slowest | twine x3 seq | twine x3 par | ours / twine slowest "
            "| peak RSS ours / twine | CPU s ours / uv x3 / twine x3 |",
            "|---|---|---|---|---|---|---|",
        ]
        goals = []
        for label, r in results["compare"].items():
            ours = r["ours x3"]["median_s"]
            slow, seq, par = (
                r[k]["median_s"] for k in ("twine slowest", "twine x3 seq", "twine x3 par")
            )
            lines.append(
                f"| {label} | {slow:.2f} s | {seq:.2f} s | {par:.2f} s | "
                f"{ours / slow:.2f}x | "
                f"{r['ours x3']['rss_mb']:.0f} / {r['twine slowest']['rss_mb']:.0f} MB | "
                f"{r['ours x3']['cpu_s']:.2f} / {r['uv x3 seq']['cpu_s']:.2f} / "
                f"{r['twine x3 seq']['cpu_s']:.2f} |"
            )
            kind = "tiny" if label.startswith("tiny") else "large"
            ratio = {
                k: ours / r[k]["median_s"] for k in ("uv slowest", "uv x3 seq", "recipe x3 seq")
            }
            goals.append(
                (
                    f"{label}: ours / uv publish to the slowest alone",
                    ratio["uv slowest"],
                    GOALS[f"{kind}_vs_uv_slowest"],
                )
            )
            if kind == "tiny":
                goals.append(
                    (
                        f"{label}: ours / uv publish to 3 regions in turn (faster)",
                        ratio["uv x3 seq"],
                        GOALS["tiny_vs_uv_seq"],
                    )
                )
            goals.append(
                (
                    f"{label}: ours / the seeds' recipe, 3 regions",
                    ratio["recipe x3 seq"],
                    GOALS[f"{kind}_vs_recipe"],
                )
            )
        lines += ["", "| goal | measured | target | |", "|---|---|---|---|"]
        lines += [
            f"| {g} | {v:.2f}x | {'<' if 'faster' in g else '<='} {t}x | "
            f"{verdict(v, t, strict='faster' in g)} |"
            for g, v, t in goals
        ]
        lines.append("")
    if "scale" in results:
        s = results["scale"]
        counts = sorted({int(k.split("x")[0]) for k in s} - {0})
        files = sorted({int(k.split("x")[1]) for k in s})
        lines += [
            f"### 2. Scale: regions x files ({args.scale_kb} KB wheels + sdist), "
            f"median of {args.scale_rounds} rounds",
            "",
            "Wall time; in brackets, the ratio to our publish to the slowest region "
            "(150 ms) alone. 1 region = the slowest one; N regions = the first N "
            f"(RTTs {', '.join(map(str, RTTS_MS))} ms).",
            "",
            "| files | "
            + " | ".join(f"{n} region{'s' * (n > 1)}" for n in counts)
            + " | twine, slowest alone |",
            "|---" * (len(counts) + 2) + "|",
        ]
        for k in files:
            base = s[f"1x{k}"]["median_s"]
            cells = [
                f"{s[f'{n}x{k}']['median_s']:.2f} s ({s[f'{n}x{k}']['median_s'] / base:.2f}x)"
                for n in counts
            ]
            cells.append(f"{s[f'0x{k}']['median_s']:.2f} s")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        big = f"{max(counts)}x{max(files)}"
        ratio = s[big]["median_s"] / s[f"1x{max(files)}"]["median_s"]
        lines += [
            "",
            f"Goal: {max(counts)} regions x {max(files)} files <= 1.3x the slowest "
            f"single region: {ratio:.2f}x, {verdict(ratio, GOALS['scale_10x20'])}.",
            "",
        ]
    if "memory" in results:
        mem = results["memory"]
        ours = mem.get("ours x3", {})
        lines += [
            f"### 3. Memory: a {ours.get('file_mb', 0):.0f} MB wheel "
            f"({args.memory_mbit:g} Mbit/s links)",
            "",
            "| run | peak RSS | wall |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v['rss_mb']:.0f} MB | {v['median_s']:.1f} s |" for k, v in mem.items()]
        rss = ours.get("rss_mb", float("nan"))
        lines += [
            "",
            f"Goal: peak RSS <= 100 MB: {rss:.0f} MB, {verdict(rss, GOALS['rss_mb'])}.",
            "",
        ]
    if results.get("hatch"):
        lines += ["### 4. Start-up", "", "| command | median |", "|---|---|"]
        lines += [f"| {k} | {v['median_s']:.2f} s |" for k, v in results["hatch"].items()]
        lines.append("")
    if results.get("poetry"):
        p = results["poetry"]
        lines += [
            "bench/poetry_startup.py:",
            "",
            "```",
            (p["stdout"] or p["stderr"] or f"exit {p['rc']}")[-3000:],
            "```",
            "",
        ]
    return "\n".join(lines)


def write_readme(table: str) -> None:
    readme = BENCH / "README.md"
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin not in text:
        text += f"\n## Results\n\n{begin}\n{end}\n"
    text = re.sub(
        re.escape(begin) + ".*?" + re.escape(end),
        lambda _: f"{begin}\n{table}\n{end}",
        text,
        flags=re.S,
    )
    readme.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a minute or two")
    parser.add_argument("--cases", default="1,2,3,4", help="which cases (default 1,2,3,4)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds for case 1")
    parser.add_argument("--mbit", type=float, default=50.0, help="each link, each way")
    parser.add_argument("--large-mb", type=float, default=None, help="case 1 large wheel")
    parser.add_argument("--memory-mb", type=float, default=None, help="case 3 wheel")
    parser.add_argument(
        "--memory-mbit",
        type=float,
        default=200.0,
        help="links for case 3 (memory does not depend on it; time does)",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run the publisher of another checkout's src/ in case 1 "
        "(a before/after in the same interleaved rounds)",
    )
    args = parser.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (1 if q else 5)
    args.large_rounds = 1 if q else 3
    args.scale_rounds = 1 if q else 3
    args.scale_kb = 256
    large = int((args.large_mb or (5 if q else 20)) * MIB)
    memory = int((args.memory_mb or (50 if q else 200)) * MB)
    cases = {c.strip() for c in args.cases.split(",")}
    random.seed(args.seed)
    started = time.monotonic()
    results: dict = {
        "machine": machine(),
        "command": "bench/run.py " + " ".join(argv or sys.argv[1:]),
    }
    versions = Versions()

    if cases & {"1", "2", "4"}:
        log(f"starting 10 local regions behind {args.mbit:g} Mbit/s links ...")
        with World(10, mbit=args.mbit) as world:
            if "1" in cases:
                log("case 1: 3 regions vs twine")
                results["compare"] = case_compare(
                    world, versions, args.rounds, {"tiny wheel + sdist": 0}, args.baseline_src
                )
                results["compare"].update(
                    case_compare(
                        world,
                        versions,
                        args.large_rounds,
                        {f"{large / MIB:g} MiB wheel + sdist": large},
                        args.baseline_src,
                    )
                )
            if "2" in cases:
                log("case 2: scale")
                results["scale"] = case_scale(
                    world,
                    versions,
                    args.scale_rounds,
                    [1, 3, 10] if q else [1, 3, 5, 10],
                    [1, 20] if q else [1, 5, 20],
                    args.scale_kb * 1024,
                )
            if "4" in cases:
                log("case 4: hatch start-up")
                results["hatch"] = case_hatch(world, 2 if q else 5)
    if "3" in cases:
        log(f"case 3: memory ({memory / MB:.0f} MB wheel, {args.memory_mbit:g} Mbit/s links)")
        with World(3, mbit=args.memory_mbit) as world:
            results["memory"] = case_memory(world, versions, 1, memory)
    if "4" in cases:
        log("case 4: poetry start-up (bench/poetry_startup.py)")
        results["poetry"] = case_poetry(q)
    results["elapsed_s"] = time.monotonic() - started
    results["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())

    table = render(results, args)
    print(table)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}{'-quick' if q else ''}.json").write_text(json.dumps(results, indent=2))
    if not args.no_readme:
        write_readme(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
