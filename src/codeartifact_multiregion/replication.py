"""Whole-repository replication: ``status --all``, ``sync --all`` and ``sync --event``.

CodeArtifact has no cross-region replication, and a repository is published to by many
tools, not only by this project. So the state of record is each region's repository as
CodeArtifact's API lists it (``repository.py``): every package, every version with its
status and origin, every file with its SHA-256. Work goes package by package (a pool of
them at a time), so memory holds one package's listing and one file's bytes per worker,
never the repository.

The rules, the same for the whole repository and for one event's version:

- the source of a file is the primary where it holds it, else the first region that
  does (for an event: the event's region), and a file moves only if its bytes there
  have the listed SHA-256;
- a version cached from an upstream (origin EXTERNAL) is copied only when asked
  (``include_external``); versions Deleted, Disposed or Unfinished are never copied;
- a file name whose bytes differ between regions is a conflict wherever it differs or
  is missing: never copied, never overwritten;
- once every file of a version is in a region (uploaded and verified), the version gets
  the source's status there (Published, Unlisted or Archived), if it has not already.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .artifacts import select_artifacts
from .aws import Resolver
from .config import Config, Target
from .engine import (
    Session,
    block_upstream,
    open_session,
    parallel,
    target_report,
    upload,
    verify,
)
from .errors import CodeArtifactError
from .eventbridge import VersionEvent
from .events import Emitter, EventSink
from .index import Index
from .report import (
    FAILED,
    IDENTICAL,
    PLANNED,
    UPLOADED,
    FileResult,
    Outcome,
    Report,
    TargetReport,
)
from .repository import SETTABLE, AssetInfo, Refused, Repository, RepositoryError
from .retry import RetryPolicy
from .scratch import private_dir
from .secrets import redact
from .status import PRESENT, FileState, version_key
from .text import printable

NEVER_COPIED = frozenset({"Deleted", "Disposed", "Unfinished"})
SET, STATUS_PLANNED, STATUS_FAILED = "set", "planned", "failed"


# --- the matrix ----------------------------------------------------------------------


@dataclass
class VersionCells:
    """One version across regions: its status and origin in each, and its files."""

    version: str
    status: dict[str, str | None] = field(default_factory=dict)  # None: not in the region
    origin: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileState] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # filename -> listed size

    def source(self, order: Sequence[str]) -> str | None:
        """The region whose status and origin count: the first in ``order`` holding it."""
        return next((r for r in order if self.status.get(r) is not None), None)

    def skip_reason(self, order: Sequence[str], include_external: bool) -> str | None:
        """Why this version is not replicated (None: it is)."""
        src = self.source(order)
        if src is None:
            return "in no region"
        status = self.status[src]
        if status in NEVER_COPIED:
            return f"{status} in {src}: never copied"
        if self.origin.get(src) == "EXTERNAL" and not include_external:
            return (
                f"origin EXTERNAL in {src} (cached from an upstream); --include-external copies it"
            )
        return None


@dataclass
class Cell:
    """One drifted cell: a file missing or different, or a status other than the source's."""

    version: str
    region: str
    kind: str  # missing | different | status
    filename: str | None = None
    detail: str = ""


@dataclass
class PackageMatrix:
    """Every version of one package across regions, as the regions' APIs list them."""

    package: str
    regions: list[str]
    versions: dict[str, VersionCells] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)

    def ordered(self) -> list[VersionCells]:
        return sorted(self.versions.values(), key=lambda v: version_key(v.version), reverse=True)

    def drift(self, include_external: bool) -> list[Cell]:
        cells: list[Cell] = []
        readable = [r for r in self.regions if r not in self.errors]
        for version in self.ordered():
            if version.skip_reason(self.regions, include_external):
                continue
            src = version.source(self.regions)
            for name, file in sorted(version.files.items()):
                for region in readable:
                    state = file.state(region, self.regions)
                    if state != PRESENT:
                        cells.append(Cell(version.version, region, state, name))
            wanted = version.status.get(src) if src else None
            for region in readable:
                have = version.status.get(region)
                if have is not None and have != wanted:
                    cells.append(
                        Cell(
                            version.version,
                            region,
                            "status",
                            None,
                            f"{have}, not {wanted} as in {src}",
                        )
                    )
        return cells

    def ok(self, include_external: bool) -> bool:
        return not self.errors and not self.refused and not self.drift(include_external)

    def to_dict(self, include_external: bool) -> dict[str, Any]:
        versions = []
        for version in self.ordered():
            src = version.source(self.regions)
            reason = version.skip_reason(self.regions, include_external)
            versions.append(
                {
                    "version": version.version,
                    "origin": version.origin.get(src) if src else None,
                    "source_region": src,
                    "replicated": reason is None,
                    "skipped": reason,
                    "status": {r: version.status.get(r) for r in self.regions},
                    "files": [
                        {
                            "filename": name,
                            "regions": {
                                r: {
                                    "state": "unknown"
                                    if r in self.errors
                                    else file.state(r, self.regions),
                                    "sha256": file.shas.get(r),
                                }
                                for r in self.regions
                            },
                        }
                        for name, file in sorted(version.files.items())
                    ],
                }
            )
        return {
            "project": self.package,
            "ok": self.ok(include_external),
            "regions": self.regions,
            "versions": versions,
            "errors": self.errors,
            "rejected": self.refused,
        }

    def summary(self, include_external: bool) -> str:
        """One line: in sync, or which versions drift where."""
        if self.errors:
            return "UNREADABLE in " + ", ".join(self.errors)
        by_version: dict[str, dict[str, set[str]]] = {}
        for cell in self.drift(include_external):
            kinds = by_version.setdefault(cell.version, {})
            kinds.setdefault(cell.kind, set()).add(cell.region)
        parts = []
        for version, kinds in by_version.items():
            said = [
                f"{kind}: {', '.join(r for r in self.regions if r in regions)}"
                for kind, regions in sorted(kinds.items())
            ]
            parts.append(f"{version} ({'; '.join(said)})")
        skipped = [
            v.version for v in self.ordered() if v.skip_reason(self.regions, include_external)
        ]
        text = "; ".join(parts) if parts else "in sync"
        if self.refused:
            text += f"; {sum(len(v) for v in self.refused.values())} entries refused"
        if skipped:
            text += f" (not replicated: {', '.join(skipped)})"
        return text


def read_package(
    repos: Sequence[Repository], package: str, only_version: str | None = None
) -> PackageMatrix:
    """One package (or one version of it) in every region, read in parallel."""
    matrix = PackageMatrix(package, [r.region for r in repos])

    def read(repo: Repository) -> tuple[list[tuple[Any, list[AssetInfo]]], Refused, str | None]:
        refused = Refused()
        try:
            if only_version is None:
                versions = repo.versions(package, refused)
            else:
                one = repo.version(package, only_version, refused)
                versions = [one] if one is not None else []
            found = [
                (
                    v,
                    []
                    if v.status in ("Deleted", "Disposed")
                    else repo.assets(package, v.version, refused),
                )
                for v in versions
                if v.status != "Deleted"
            ]
            return found, refused, None
        except RepositoryError as exc:
            return [], refused, str(exc)

    for repo, (found, refused, error) in zip(repos, parallel(read, repos, len(repos))):
        if refused.entries:
            matrix.refused[repo.region] = refused.entries
        if error is not None:
            matrix.errors[repo.region] = error
            continue
        for info, assets in found:
            cells = matrix.versions.setdefault(info.version, VersionCells(info.version))
            cells.status[repo.region] = info.status
            cells.origin[repo.region] = info.origin
            for asset in assets:
                state = cells.files.setdefault(asset.name, FileState(asset.name, info.version, {}))
                state.shas[repo.region] = asset.sha256
                cells.sizes.setdefault(asset.name, asset.size)
    for cells in matrix.versions.values():
        for file in cells.files.values():
            for region in matrix.regions:
                file.shas.setdefault(region, None)
    return matrix


# --- status --all --------------------------------------------------------------------


@dataclass
class RepositoryStatus:
    """``status --all``: every package's matrix; exit 0 only when nothing drifts."""

    repository: str
    regions: list[str]
    include_external: bool = False
    packages: list[PackageMatrix] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.errors
            and not self.refused
            and all(p.ok(self.include_external) for p in self.packages)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "ok": self.ok,
            "regions": self.regions,
            "include_external": self.include_external,
            "packages": [p.to_dict(self.include_external) for p in self.packages],
            "errors": self.errors,
            "rejected": self.refused,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        regions = self.regions
        lines = [
            f"{self.repository}: {len(self.packages)} package(s) across {len(regions)} "
            f"region(s) (primary: {regions[0]}):"
        ]
        width = max([len(p.package) for p in self.packages] + [8])
        drifted: list[tuple[str, Cell]] = []
        for package in self.packages:
            lines.append(
                f"  {package.package.ljust(width)}  {package.summary(self.include_external)}"
            )
            drifted += [(package.package, c) for c in package.drift(self.include_external)]
        if not self.packages and not self.errors:
            lines.append("  (no packages in any region)")
        if drifted:
            lines.append("drifted cells:")
            for name, cell in drifted:
                what = cell.filename or "status"
                state = cell.kind.upper() + (f": {cell.detail}" if cell.detail else "")
                lines.append(f"  {name} {cell.version}  {what}  {cell.region}  {state}")
        for package in self.packages:
            for region, error in package.errors.items():
                lines.append(f"  {package.package}: {region}: UNREADABLE: {error}")
            for region, entries in package.refused.items():
                lines.append(f"  {package.package}: {region}: REFUSED: " + "; ".join(entries[:5]))
        for region, error in self.errors.items():
            lines.append(f"  {region}: UNREADABLE: {error}")
        for region, entries in self.refused.items():
            lines.append(
                f"  {region}: REFUSED {len(entries)} package entr"
                f"{'y' if len(entries) == 1 else 'ies'}: " + "; ".join(entries[:5])
            )
        problems = []
        if drifted:
            problems.append(
                f"{len(drifted)} cell(s) missing, different or of another status "
                f"in {len({n for n, _ in drifted})} package(s)"
            )
        unreadable = set(self.errors) | {r for p in self.packages for r in p.errors}
        if unreadable:
            problems.append(f"{len(unreadable)} region(s) unreadable")
        if self.refused or any(p.refused for p in self.packages):
            problems.append("entries refused")
        lines.append("in sync" if self.ok else "DRIFT: " + ", ".join(problems))
        return printable(redact("\n".join(lines)), keep_newlines=True)


# --- sync reports --------------------------------------------------------------------


@dataclass
class StatusChange:
    package: str
    version: str
    from_status: str | None
    to_status: str
    outcome: str  # set | planned | failed
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "from": self.from_status,
            "to": self.to_status,
            "outcome": self.outcome,
            "error": redact(self.error) if self.error else None,
        }


@dataclass
class PackageSummary:
    package: str
    versions: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (version, reason)


@dataclass
class ReplicationReport:
    """``sync --all`` / ``sync --event``: publish's report, plus statuses and packages."""

    report: Report
    mode: str  # all | event
    packages: list[PackageSummary] = field(default_factory=list)
    statuses: dict[str, list[StatusChange]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)
    event: VersionEvent | None = None
    skipped: str | None = None  # an event this configuration does not replicate

    @property
    def ok(self) -> bool:
        return (
            self.report.ok
            and not self.refused
            and all(c.outcome != STATUS_FAILED for cs in self.statuses.values() for c in cs)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def noop(self) -> bool:
        """Nothing was (or would be) copied or changed anywhere."""
        return (
            self.ok
            and not any(f.outcome != IDENTICAL for t in self.report.targets for f in t.files)
            and not any(self.statuses.values())
        )

    def to_dict(self) -> dict[str, Any]:
        doc = self.report.to_dict()
        doc["command"] = f"sync --{self.mode}"
        doc["ok"] = self.ok
        for entry in doc["targets"]:
            entry["status_changes"] = [c.to_dict() for c in self.statuses.get(entry["region"], [])]
        doc["packages"] = [
            {
                "package": p.package,
                "versions": p.versions,
                "skipped": [{"version": v, "reason": r} for v, r in p.skipped],
            }
            for p in self.packages
        ]
        doc["rejected"] = self.refused
        doc["noop"] = self.noop
        if self.mode == "event":
            doc["event"] = self.event.to_dict() if self.event else None
            doc["skipped"] = self.skipped
        return doc

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        return printable(redact("\n".join(self._lines())), keep_newlines=True)

    def _lines(self) -> list[str]:
        report = self.report
        if self.skipped:
            return [f"skipped: {self.skipped}"]
        verb = "Plan for" if report.dry_run else "Sync of"
        what = (
            f"{self.event.package} {self.event.version} from {self.event.region}"
            if self.event
            else f"every package ({len(self.packages)})"
        )
        lines = [f"{verb} {what} to {len(report.targets)} region(s):"]
        for target in report.targets:
            counts: dict[str, int] = {}
            for result in target.files:
                counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
            changes = self.statuses.get(target.region, [])
            mark = (
                "ok" if target.ok and all(c.outcome != STATUS_FAILED for c in changes) else "FAILED"
            )
            said = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no files"
            lines.append(
                f"  {target.region}  {target.domain}/{target.repository}  {mark}: "
                f"{said}, {len(changes)} status change(s)"
            )
            if target.error:
                lines.append(f"    error: {target.error}")
            for result in target.files:
                if result.outcome == IDENTICAL:
                    continue
                line = f"    {result.filename}  {result.outcome}"
                if result.source_region:
                    line += f" from {result.source_region}"
                if result.error:
                    line += f": {result.error}"
                lines.append(line)
            for change in changes:
                line = (
                    f"    status {change.package} {change.version}: "
                    f"{change.from_status or 'new'} -> {change.to_status}  {change.outcome}"
                )
                lines.append(line + (f": {change.error}" if change.error else ""))
        for summary in self.packages:
            for version, reason in summary.skipped:
                lines.append(f"  not replicated: {summary.package} {version}: {reason}")
        for region, entries in self.refused.items():
            lines.append(
                f"  {region}: REFUSED {len(entries)} entr"
                f"{'y' if len(entries) == 1 else 'ies'}: " + "; ".join(entries[:5])
            )
        totals = ", ".join(f"{n} {o}" for o, n in sorted(report.outcomes().items()))
        changed = sum(len(c) for c in self.statuses.values())
        skipped = any(summary.skipped for summary in self.packages)
        if self.noop and self.event is not None and not skipped:
            lines.append(
                f"no-op: every region already holds {self.event.package} "
                f"{self.event.version} as {self.event.region} does "
                f"in {report.elapsed_s:.1f}s"
            )
        else:
            status = "complete" if self.ok else "INCOMPLETE"
            lines.append(
                f"{status}: {totals or 'nothing to do'}, {changed} status change(s) "
                f"in {report.elapsed_s:.1f}s"
            )
        return lines


# --- the replicator ------------------------------------------------------------------


@dataclass
class _Run:
    """What one sync run shares across package workers."""

    session: Session
    repos: dict[str, Repository]
    indexes: dict[str, Index]
    order: list[str]  # regions to read, source preference first
    dests: list[str]  # regions to write
    report: ReplicationReport
    targets: dict[str, TargetReport]
    dry_run: bool
    tmp: Path
    lock: threading.Lock = field(default_factory=threading.Lock)


class Replicator:
    """Reads and replicates the whole repository, or one package version of it."""

    def __init__(
        self,
        config: Config,
        *,
        on_event: EventSink | None = None,
        policy: RetryPolicy | None = None,
        include_external: bool = False,
    ) -> None:
        self.config = config
        self.emit = Emitter(on_event)
        self.policy = policy
        self.include_external = include_external

    # reading ---------------------------------------------------------------

    def _open(self, config: Config) -> Session:
        """Resolve the targets with clients that keep a connection per package worker.

        ``--concurrency`` packages are worked on at once, each with at most one call to a
        region's control plane and one upload to its index in flight, so both pools (the
        index's and botocore's) are sized to it and no connection is dropped and re-made.
        """
        policy = self.policy or RetryPolicy.from_env()
        resolver = Resolver(config.token_duration, policy, max_connections=config.concurrency)
        return open_session(config, policy=policy, resolver=resolver, emit=self.emit)

    def _repos(self, session: Session) -> dict[str, Repository]:
        return {
            ix.region: Repository(ix.endpoint, session.resolver, ix.policy)
            for ix in session.indexes
        }

    def _packages(
        self, repos: Sequence[Repository]
    ) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
        """Every package any region holds (ListPackages in each, in parallel)."""

        def listing(repo: Repository) -> tuple[list[str], Refused, str | None]:
            refused = Refused()
            try:
                return repo.packages(refused), refused, None
            except RepositoryError as exc:
                return [], refused, str(exc)

        names: set[str] = set()
        errors: dict[str, str] = {}
        refused: dict[str, list[str]] = {}
        for repo, (found, bad, error) in zip(repos, parallel(listing, repos, len(repos))):
            names.update(found)
            if error is not None:
                errors[repo.region] = error
            if bad.entries:
                refused[repo.region] = bad.entries
        return sorted(names), errors, refused

    def status_all(self) -> RepositoryStatus:
        """The matrix of every package x version x region (no bytes are read)."""
        with self._open(self.config) as session:
            repos = list(self._repos(session).values())
            names, errors, refused = self._packages(repos)
            first = self.config.targets[0]
            result = RepositoryStatus(
                f"{first.domain}/{first.repository}",
                [r.region for r in repos],
                self.include_external,
                errors=errors,
                refused=refused,
            )
            readable = [r for r in repos if r.region not in errors]
            counter = _Counter(len(names))

            def one(name: str) -> PackageMatrix:
                matrix = read_package(readable, name)
                matrix.regions = result.regions
                for region, error in errors.items():
                    matrix.errors[region] = f"ListPackages failed: {error}"
                self.emit("package", message=name, done=counter.next(), total=len(names))
                return matrix

            result.packages = parallel(one, names, self.config.concurrency)
        return result

    # sync --all ------------------------------------------------------------

    def _full_config(self) -> Config:
        """Every configured region is read (a source); ``--region`` narrows the writes."""
        from .config import load_config

        full = load_config(self.config.path)
        if [t.region for t in full.targets] == self.config.regions:
            return self.config
        return replace(self.config, targets=full.targets)

    def sync_all(self, dry_run: bool = False) -> ReplicationReport:
        started = time.monotonic()
        dests = self.config.regions
        with self._open(self._full_config()) as session:
            repos = self._repos(session)
            names, errors, refused = self._packages(list(repos.values()))
            with private_dir() as tmp:
                run = self._start(session, repos, list(repos), dests, dry_run, Path(tmp))
                run.report.refused = refused
                for region, error in errors.items():
                    if region in run.targets:
                        run.targets[region].error = f"ListPackages failed: {error}"
                readable = [r for r in run.order if r not in errors]
                counter = _Counter(len(names))

                def one(name: str) -> PackageSummary:
                    summary = self._sync_package(run, name, readable, None)
                    self.emit("package", message=name, done=counter.next(), total=len(names))
                    return summary

                run.report.packages = parallel(one, names, self.config.concurrency)
        run.report.report.elapsed_s = time.monotonic() - started
        return run.report

    def _start(
        self,
        session: Session,
        repos: dict[str, Repository],
        order: list[str],
        dests: list[str],
        dry_run: bool,
        tmp: Path,
        event: VersionEvent | None = None,
    ) -> _Run:
        indexes = {ix.region: ix for ix in session.indexes}
        first = self.config.targets[0]
        report = Report(
            project=f"{first.domain}/{first.repository}",
            version=None,
            dry_run=dry_run,
            command="sync",
        )
        if event is not None:
            report.project = str(canonicalize_name(event.package))
            report.version = event.version
        report.targets = [target_report(indexes[r].endpoint) for r in dests]
        result = ReplicationReport(report, "event" if event else "all", event=event)
        result.statuses = {r: [] for r in dests}
        return _Run(
            session,
            repos,
            indexes,
            order,
            dests,
            result,
            {t.region: t for t in report.targets},
            dry_run,
            tmp,
        )

    def _sync_package(
        self, run: _Run, name: str, readable: list[str], only_version: str | None
    ) -> PackageSummary:
        """Read one package in every region and copy what each destination lacks."""
        matrix = read_package([run.repos[r] for r in readable], name, only_version)
        summary = PackageSummary(name, len(matrix.versions))
        with run.lock:
            for region, entries in matrix.refused.items():
                run.report.refused.setdefault(region, []).extend(f"{name}: {e}" for e in entries)
        broken = set(matrix.errors)
        for region in broken & set(run.dests):
            with run.lock:
                run.targets[region].files.append(
                    FileResult(
                        filename=f"{name} (package)",
                        sha256="",
                        outcome=FAILED,
                        error=f"could not read {name}: {matrix.errors[region]}",
                    )
                )
        if run.report.event is not None and run.report.event.region in broken:
            # The event's region is the one source: without it there is nothing to compare.
            for target in run.targets.values():
                target.error = (
                    f"could not read {name} in {run.report.event.region}: "
                    f"{matrix.errors[run.report.event.region]}"
                )
            return summary
        order = [r for r in run.order if r in readable and r not in broken]
        dests = [r for r in run.dests if r in order]
        local = {r: target_report(run.indexes[r].endpoint) for r in dests}
        copied: list[tuple[VersionCells, str, dict[str, list[FileResult]]]] = []
        for cells in matrix.ordered():
            reason = cells.skip_reason(order, self.include_external)
            if reason is not None:
                summary.skipped.append((cells.version, reason))
                continue
            copied.append(self._copy_version(run, name, cells, order, dests, local))
        if not run.dry_run:
            # One index read per region for the whole package, not one per version.
            parallel(
                lambda region: self._verify(run, name, region, local[region]), dests, len(dests)
            )
        for cells, src, results in copied:
            self._mirror_status(run, name, cells, src, results)
        with run.lock:
            for region, target in local.items():
                run.targets[region].files.extend(target.files)
                if target.error and not run.targets[region].error:
                    run.targets[region].error = target.error
                if target.origin:
                    run.targets[region].origin = target.origin
        return summary

    def _copy_version(
        self,
        run: _Run,
        package: str,
        cells: VersionCells,
        order: list[str],
        dests: list[str],
        local: dict[str, TargetReport],
    ) -> tuple[VersionCells, str, dict[str, list[FileResult]]]:
        """Copy the files of one version where they are missing; results per region."""
        src = cells.source(order)
        assert src is not None
        dests = [r for r in dests if r != src] if run.report.mode == "event" else dests
        files = {
            n: f for n, f in cells.files.items() if run.report.mode != "event" or f.shas.get(src)
        }
        results: dict[str, list[FileResult]] = {r: [] for r in dests}
        for name in sorted(files):
            for region, result in self._sync_file(run, package, cells, files[name], order, dests):
                results[region].append(result)
                local[region].files.append(result)
        return cells, src, results

    def _verify(self, run: _Run, package: str, region: str, target: TargetReport) -> None:
        """The index must list every uploaded file with its sha256; then origin controls."""
        uploaded = [r for r in target.files if r.outcome == UPLOADED]
        if not uploaded:
            return
        probe = target_report(run.indexes[region].endpoint)
        probe.files = uploaded
        verify(run.indexes[region], probe, package, self.emit)
        if probe.error:
            target.error = probe.error
        elif self.config.block_upstream:
            block_upstream(run.session, run.indexes[region], probe, package, self.emit)
            target.origin = probe.origin
            target.error = probe.error

    def _mirror_status(
        self,
        run: _Run,
        package: str,
        cells: VersionCells,
        src: str,
        results: dict[str, list[FileResult]],
    ) -> None:
        """Give each replica holding every file of the version the source's status."""
        wanted = cells.status[src]
        for region, held in results.items():
            if region == src or wanted not in SETTABLE:
                continue
            if not all(r.outcome in (UPLOADED, IDENTICAL, PLANNED) for r in held):
                continue  # a file is not there: its status waits for the next run
            have = cells.status.get(region) or ("Published" if held else None)
            if have is None or have == wanted:
                continue
            self._set_status(run, region, package, cells.version, have, wanted)

    def _set_status(
        self, run: _Run, region: str, package: str, version: str, have: str, wanted: str
    ) -> None:
        change = StatusChange(
            package, version, have, wanted, STATUS_PLANNED if run.dry_run else SET
        )
        if not run.dry_run:
            try:
                run.repos[region].set_status(package, version, wanted, have)
            except RepositoryError as exc:
                change.outcome, change.error = STATUS_FAILED, str(exc)
        with run.lock:
            run.report.statuses[region].append(change)
        self.emit(
            "status",
            region=region,
            filename=f"{package} {version}",
            outcome=FAILED if change.error else None,
            message=change.error or f"{have} -> {wanted} {change.outcome}",
        )

    def _sync_file(
        self,
        run: _Run,
        package: str,
        cells: VersionCells,
        file: FileState,
        order: list[str],
        dests: list[str],
    ) -> list[tuple[str, FileResult]]:
        holders = [r for r in order if file.shas.get(r)]
        reference = file.reference(order)
        out: list[tuple[str, FileResult]] = []

        def record(
            region: str, outcome: Outcome, error: str | None = None, src: str | None = None
        ) -> FileResult:
            result = FileResult(
                filename=file.filename,
                sha256=file.shas.get(region) or reference or "",
                outcome=outcome,
                error=error,
                source_region=src,
                bytes=cells.sizes.get(file.filename, 0),
            )
            out.append((region, result))
            if outcome != PLANNED or run.dry_run:
                self.emit(
                    "done",
                    region=region,
                    filename=file.filename,
                    outcome=outcome,
                    message=error or (f"from {src}" if src else ""),
                )
            return result

        lacking = file.settle(dests, order, record)
        if not lacking:
            return out
        # Archived files cannot be downloaded: take them from a region where they can be.
        sources = [r for r in holders if cells.status.get(r) != "Archived"]
        if not sources:
            for region in lacking:
                record(
                    region,
                    FAILED,
                    f"Archived in every region that holds it "
                    f"({', '.join(holders)}), so it cannot be downloaded: "
                    "restore it to Published there, sync, archive again",
                )
            return out
        src = sources[0]
        if run.dry_run:
            for region in lacking:
                record(region, PLANNED, None, src)
            return out
        asset = AssetInfo(file.filename, file.shas[src] or "", cells.sizes[file.filename])
        folder = Path(tempfile.mkdtemp(dir=run.tmp))
        path = folder / file.filename  # checked by dist_filename_error when it was listed
        try:
            try:
                run.repos[src].download(package, cells.version, asset, path)
                artifact = select_artifacts([path], folder)[0]
                if artifact.sha256 != asset.sha256:
                    raise RepositoryError(f"{file.filename} changed on disk while it was copied")
            except CodeArtifactError as exc:
                for region in lacking:
                    record(region, FAILED, f"could not copy from {src}: {exc}", src)
                return out
            pending = [record(region, PLANNED, None, src) for region in lacking]
            parallel(
                lambda pair: upload(run.indexes[pair[0]], artifact, pair[1], self.emit),
                list(zip(lacking, pending)),
                len(lacking),
            )
        finally:
            path.unlink(missing_ok=True)
            folder.rmdir()
        return out

    # sync --event ----------------------------------------------------------

    def sync_event(self, event: VersionEvent, dry_run: bool = False) -> ReplicationReport:
        """Replicate the one package version an event names, from its region to the others."""
        started = time.monotonic()
        full = self._full_config()
        source = next((t for t in full.targets if t.region == event.region), None)
        skipped = self._skip_reason(event, source)
        if skipped is None and source is not None:
            dests = [r for r in self.config.regions if r != event.region]
            targets: tuple[Target, ...] = (
                source,
                *(t for t in self.config.targets if t.region in dests),
            )
            config = replace(self.config, targets=targets)
            with self._open(config) as session:
                repos = self._repos(session)
                owner = session.indexes[0].endpoint.domain_owner
                if owner and owner != event.domain_owner:
                    skipped = (
                        f"the event is for domain {event.domain} owned by "
                        f"{event.domain_owner}; {event.region} is configured for "
                        f"account {owner}"
                    )
                else:
                    with private_dir() as tmp:
                        run = self._start(
                            session, repos, list(repos), dests, dry_run, Path(tmp), event
                        )
                        name = str(canonicalize_name(event.package))
                        summary = self._sync_package(run, name, list(repos), event.version)
                        if not summary.versions:
                            summary.skipped.append(
                                (event.version, f"not in {event.region} (deleted since?)")
                            )
                        run.report.packages = [summary]
                        run.report.report.elapsed_s = time.monotonic() - started
                        return run.report
        report = ReplicationReport(
            Report(project=event.package, version=event.version, dry_run=dry_run, command="sync"),
            "event",
            event=event,
            skipped=skipped,
        )
        report.report.elapsed_s = time.monotonic() - started
        return report

    def _skip_reason(self, event: VersionEvent, target: Target | None) -> str | None:
        """Why this configuration does not replicate the event (None: it does)."""
        if target is None:
            return (
                f"event from region {event.region}, which is not configured "
                f"({', '.join(self._full_config().regions)}); nothing to do"
            )
        if event.package_format != "pypi":
            return f"event for a {event.package_format} package, not pypi; nothing to do"
        if (event.domain, event.repository) != (target.domain, target.repository):
            return (
                f"event for {event.domain}/{event.repository}, but {event.region} is "
                f"configured for {target.domain}/{target.repository}; nothing to do"
            )
        if target.domain_owner and target.domain_owner != event.domain_owner:
            return (
                f"event for the domain owned by {event.domain_owner}, but "
                f"{event.region} is configured for {target.domain_owner}; nothing to do"
            )
        if not [r for r in self.config.regions if r != event.region]:
            return f"no configured region besides {event.region} to copy to; nothing to do"
        return None


class _Counter:
    """Packages finished so far, for progress (thread-safe)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._done = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._done += 1
            return self._done
