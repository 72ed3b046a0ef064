"""Bisect a feature, or a benchmark, between two rows to the first release that changed it.

    python -m harness.bisect FEATURE_OR_BENCHMARK --good ROW_OR_PINS --bad ROW_OR_PINS
    nox -s bisect -- text.datasets.penntreebank --good torch-2.3 --bad torchdata=0.10.1

ROW_OR_PINS is a row of the matrix or pins such as `torch=2.8.0,torchvision=0.23.0`; pins given
on one side only change the other side's row. The candidates are the index's releases between
the two ends, either of one package (the others held at the good row's pins where the resolver
allows; `--package`) or of the release train (each torch release with the domain-library
releases the resolver pairs with it; `--train`). Each candidate is resolved and installed in its
own uv environment like a matrix row, only the tests of the feature (or the one benchmark) run
there, and a binary search finds the first bad release. A candidate that cannot be resolved or
installed is skipped (as `git bisect skip`), a release that both passes and fails is reported
as flaky, and the result goes to `<run>/bisect/<feature>--<row>.json` beside the grid it explains.

The search itself (`search`) is pure: it sees candidates 0 (the good end) .. n-1 (the bad end)
and a probe that answers good, bad, skip or flaky; everything else here is the I/O around it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil

import sys
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from harness import external, fsio, isolate, releases, settings, stats
from harness import summary as summ
from harness.collect import BENCHMARKS, INSTALL, RESULTS, read_records
from harness.install import create_venv, install_row
from harness.matrix import PACKAGES, MatrixError, Row, load_matrix
from harness.registry import RegistryError, load_registry
from harness.status import Status, first_line

ROOT = Path(__file__).resolve().parent.parent
USAGE_ERROR, NO_CHANGE = 2, 1


# ---- the search (pure) ------------------------------------------------------------------------

class Verdict(str, Enum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"     # cannot be told: not installable, or the check could not run there
    FLAKY = "flaky"   # both good and bad on the same release

    def __str__(self) -> str:
        return self.value


BOUNDARY = "boundary"                # last good and first bad are adjacent candidates
FLAKY = "flaky"                      # a release gave both answers: no boundary is claimed
SKIPPED = "skipped"                  # only skipped candidates lie between: first bad is one of suspects
GOOD_END_BAD = "good-end-is-bad"     # the ends do not bracket a change
BAD_END_GOOD = "bad-end-is-good"
END_UNTESTABLE = "end-untestable"    # an end could not be installed or checked


@dataclass(frozen=True)
class SearchResult:
    outcome: str
    last_good: int | None = None
    first_bad: int | None = None
    flaky: int | None = None
    suspects: tuple[int, ...] = ()
    probes: tuple[tuple[int, Verdict], ...] = ()


def next_probe(lo: int, hi: int, skipped: set[int]) -> int | None:
    """The untested, unskipped candidate nearest the middle of (lo, hi); the lower one on a tie."""
    pool = [i for i in range(lo + 1, hi) if i not in skipped]
    if not pool:
        return None
    middle = (lo + hi) / 2
    return min(pool, key=lambda i: (abs(i - middle), i))


def search(n: int, probe: Callable[[int], Verdict], *, confirm: int = 1) -> SearchResult:
    """Binary search for the first bad candidate; 0 must be good and n-1 bad.

    Once the boundary is bracketed, each side of it is probed `confirm` more times: a side that
    answers differently is flaky, and a flaky release is reported instead of a boundary.
    """
    if n < 2:
        raise ValueError("a bisect needs a good and a bad end")
    log: list[tuple[int, Verdict]] = []

    def ask(i: int) -> Verdict:
        verdict = probe(i)
        log.append((i, verdict))
        return verdict

    for end, wanted, wrong in ((0, Verdict.GOOD, GOOD_END_BAD), (n - 1, Verdict.BAD, BAD_END_GOOD)):
        verdict = ask(end)
        if verdict is Verdict.FLAKY:
            return SearchResult(FLAKY, flaky=end, probes=tuple(log))
        if verdict is Verdict.SKIP:
            return SearchResult(END_UNTESTABLE, probes=tuple(log))
        if verdict is not wanted:
            return SearchResult(wrong, probes=tuple(log))
    lo, hi, skipped = 0, n - 1, set()
    while (m := next_probe(lo, hi, skipped)) is not None:
        verdict = ask(m)
        if verdict is Verdict.GOOD:
            lo = m
        elif verdict is Verdict.BAD:
            hi = m
        elif verdict is Verdict.SKIP:
            skipped.add(m)
        else:
            return SearchResult(FLAKY, lo, hi, flaky=m, probes=tuple(log))
    for _ in range(confirm):
        for i, wanted in ((lo, Verdict.GOOD), (hi, Verdict.BAD)):
            if ask(i) is not wanted:
                return SearchResult(FLAKY, lo, hi, flaky=i, probes=tuple(log))
    if hi - lo > 1:
        return SearchResult(SKIPPED, lo, hi, suspects=tuple(range(lo + 1, hi + 1)), probes=tuple(log))
    return SearchResult(BOUNDARY, lo, hi, probes=tuple(log))


# ---- verdicts from statuses and timings (pure) ------------------------------------------------

GOOD_STATUSES = {Status.PASS}
BAD_STATUSES = {Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.ABSENT}


def verdict_of(status: Status) -> Verdict:
    """A feature's raw status (no expectations applied) as an answer to 'is this release good?'."""
    if status in GOOD_STATUSES:
        return Verdict.GOOD
    if status in BAD_STATUSES:
        return Verdict.BAD
    return Verdict.SKIP  # install-failed, a missing harness prerequisite, n/a


def classify(verdicts: list[Verdict]) -> Verdict:
    """One answer for a release from all its runs: mixed good and bad is flaky."""
    answers = set(verdicts) - {Verdict.SKIP}
    if not answers:
        return Verdict.SKIP
    if len(answers) > 1 or Verdict.FLAKY in answers:
        return Verdict.FLAKY
    return answers.pop()


@dataclass(frozen=True)
class SlowdownRule:
    """A release is bad for a benchmark when it is slower than the good end with confidence:
    the ratio of process medians (new / good) has p < alpha and is at least 1 + min_effect."""

    alpha: float = 0.01
    min_effect: float = 0.10

    def slower(self, estimate: stats.Estimate) -> bool:
        return estimate.p_value < self.alpha and estimate.ratio >= 1.0 + self.min_effect


def compare(base: list[list[float]], new: list[list[float]]) -> stats.Estimate:
    """new / base with a 95 % interval; each element is the rounds of one process."""
    return stats.compare_processes(base, new)


def describe_estimate(e: stats.Estimate) -> str:
    return f"x{e.ratio:.3f} (95% CI {e.low:.3f}-{e.high:.3f}, p={e.p_value:.2g})"


# ---- the two ends and the candidates ----------------------------------------------------------

class BisectError(ValueError):
    """A usage problem: the message says what to change."""


def requirement_map(row: Row) -> dict[str, str]:
    """The row's requirements by canonical package name, pins first."""
    reqs: dict[str, str] = {}
    for text in row.requirements():
        reqs[canonicalize_name(Requirement(text).name)] = text
    return reqs


def parse_pins(text: str) -> dict[str, str]:
    """`torch=2.8.0,torchvision==0.23.0 numpy<2` as requirements by canonical name."""
    reqs = {}
    for item in filter(None, re.split(r"[,\s]+(?=[A-Za-z])", text.strip())):
        item = item.strip().rstrip(",")
        match = re.fullmatch(r"([A-Za-z0-9._-]+)=([^=<>!~].*)", item)
        if match:  # the short form pkg=version
            item = f"{match[1]}=={match[2]}"
        try:
            req = Requirement(item)
        except InvalidRequirement as exc:
            raise BisectError(f"{text!r}: {item!r} is neither a row nor a pin ({exc})") from None
        reqs[canonicalize_name(req.name)] = str(req)
    if not reqs:
        raise BisectError(f"{text!r}: no pins")
    return reqs


def make_row(name: str, reqs: dict[str, str], python: str = "3.11") -> Row:
    """A row from requirements: torch-family ones become pins (as the report shows them)."""
    pins, extra = {}, []
    for pkg, text in reqs.items():
        req = Requirement(text)
        if pkg in PACKAGES and not req.marker and not req.extras:
            spec = str(req.specifier)
            pins[pkg] = req.url or (spec[2:] if re.fullmatch(r"==[^,*]+", spec) else spec)
        else:
            extra.append(text)
    return Row(name=name, pins=pins, extra=tuple(extra), python=python)


def end_rows(good: str, bad: str, matrix_rows: dict[str, Row]) -> tuple[Row, Row]:
    """The good and bad rows: matrix rows, or pins laid over the other side's row (over the good
    side's pins when neither is a row), so `--bad torchdata=0.10.1` changes just that."""
    rows = {side: matrix_rows.get(spec) for side, spec in (("good", good), ("bad", bad))}
    if rows["good"] is None and rows["bad"] is None:
        rows["good"] = make_row("good", parse_pins(good))
    for side, spec, other in (("good", good, "bad"), ("bad", bad, "good")):
        if rows[side] is None:
            base = rows[other]
            rows[side] = make_row(side, {**requirement_map(base), **parse_pins(spec)}, base.python)
    return rows["good"], rows["bad"]


def row_packages(row: Row) -> set[str]:
    return set(requirement_map(row))


def choose_mode(good: Row, bad: Row, good_v: dict[str, str], bad_v: dict[str, str],
                package: str | None, train: bool) -> tuple[str, str]:
    """('package', name) or ('train', 'torch') from what differs between the resolved ends."""
    if train:
        if good_v.get("torch") == bad_v.get("torch") or "torch" not in good_v or "torch" not in bad_v:
            raise BisectError("--train needs two different torch releases at the ends")
        return "train", "torch"
    if package:
        name = canonicalize_name(package)
        if not good_v.get(name) or not bad_v.get(name):
            raise BisectError(f"--package {package}: not installed at both ends")
        if good_v[name] == bad_v[name]:
            raise BisectError(f"--package {package}: {good_v[name]} at both ends, nothing to bisect")
        return "package", name
    named = row_packages(good) | row_packages(bad)
    differ = sorted(p for p in named if good_v.get(p) != bad_v.get(p) and good_v.get(p) and bad_v.get(p))
    if "torch" in differ:
        return "train", "torch"
    if len(differ) == 1:
        return "package", differ[0]
    if not differ:
        raise BisectError("the two ends resolve to the same releases of the row's packages")
    raise BisectError(f"several packages differ ({', '.join(differ)}): choose one with --package, "
                      "or --train")


def window(name: str, a: str, b: str) -> str:
    low, high = sorted((Version(a), Version(b)))
    return f"{name}>={low},<={high}"


@dataclass(frozen=True)
class Plan:
    mode: str                      # "package" or "train"
    subject: str                   # the package whose releases are bisected
    good: Row
    bad: Row
    good_versions: dict[str, str]  # resolved ends, by canonical name
    bad_versions: dict[str, str]

    def shown(self) -> list[str]:
        """The packages a candidate is described by: the row's own, not the suites' helpers."""
        return sorted(set(PACKAGES) | {self.subject} | row_packages(self.good) | row_packages(self.bad))

    def describe(self) -> str:
        g, b = self.good_versions[self.subject], self.bad_versions[self.subject]
        if self.mode == "train":
            return (f"the release train: torch {g} -> {b}, each with the domain-library releases "
                    "the resolver pairs with it")
        return f"one package: {self.subject} {g} -> {b}, the others held at {self.good.name}'s pins"

    def requirements(self, version: str, level: int) -> dict[str, str]:
        """A candidate's requirements. Level 0 holds the other packages at the good row's pins;
        1 lets those that differ between the ends move within the ends' range; 2 frees the other
        torch-family pins too (they pin each other exactly, so the resolver pairs them)."""
        reqs = requirement_map(self.good)
        reqs[self.subject] = f"{self.subject}=={version}"
        both = set(self.good_versions) & set(self.bad_versions)
        family = set(PACKAGES) - {self.subject}
        for name in list(reqs):
            if name == self.subject:
                continue
            differs = self.good_versions.get(name) != self.bad_versions.get(name)
            if self.mode == "train" and name in family:
                if name in both:
                    reqs[name] = window(name, self.good_versions[name], self.bad_versions[name])
                else:
                    del reqs[name]  # at one end only: not part of the train
            elif level >= 1 and differs and name in both:
                reqs[name] = window(name, self.good_versions[name], self.bad_versions[name])
            if level >= 2 and name in family and name in reqs:
                reqs[name] = name
        return reqs

    def notes(self) -> list[str]:
        """What the candidates leave out of the ends' rows, said once in the output."""
        out = []
        good, bad = requirement_map(self.good), requirement_map(self.bad)
        if self.mode == "train":
            for name in sorted(set(PACKAGES) & set(good) - {"torch"}):
                if not (self.good_versions.get(name) and self.bad_versions.get(name)):
                    out.append(f"{name} is in one end only: left out of the candidates")
        only_bad = sorted(set(bad) - set(good) - {self.subject})
        if only_bad:
            out.append(f"only in the bad row, not carried into the candidates: {', '.join(only_bad)}")
        return out


# ---- candidates: resolve, build, run (I/O) ----------------------------------------------------

@dataclass
class Candidate:
    index: int
    version: str
    row: Row | None = None
    level: int = 0
    versions: dict[str, str] = field(default_factory=dict)  # resolved
    end: bool = False           # the good or the bad row itself
    skip: str = ""              # why it cannot be a candidate (resolution, no wheel, install)
    built: bool = False
    install_seconds: float = 0.0
    venv: Path | None = None
    tests: dict[str, list[str]] | None = None  # node id -> feature ids of the selected tests
    runs: list[dict] = field(default_factory=list)  # one per run: verdict, status, message, ...
    rounds: list[list[float]] = field(default_factory=list)  # benchmark: one list per process
    bench_verdict: Verdict | None = None

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.version}"

    def verdict(self) -> Verdict:
        if self.skip:
            return Verdict.SKIP
        if self.bench_verdict is not None:
            return self.bench_verdict
        return classify([Verdict(r["verdict"]) for r in self.runs])


def plan_candidates(plan: Plan, listing: list[releases.Release], python: str,
                    work: Path) -> list[Candidate]:
    """Every release from the good end to the bad end, resolved; unresolvable ones are skips."""
    g, b = plan.good_versions[plan.subject], plan.bad_versions[plan.subject]
    middle = [r for r in releases.between(listing, Version(g), Version(b))
              if r.version not in (Version(g), Version(b))]
    tags = releases.python_tags(python)
    out = [Candidate(0, g, plan.good, versions=plan.good_versions, end=True)]
    for r in middle:
        cand = Candidate(len(out), str(r.version))
        if not releases.installable(r, tags):
            cand.skip = f"no wheel of {plan.subject} {r.version} for Python {python} on this platform"
        else:
            tried: list[dict] = []
            for level in (0, 1, 2):
                reqs = plan.requirements(cand.version, level)
                if reqs in tried:
                    continue
                tried.append(reqs)
                res = releases.resolve(list(reqs.values()), python, work / cand.label)
                if res.ok:
                    cand.row = make_row(f"bisect-{plan.subject}-{cand.version}", reqs, python)
                    cand.level, cand.versions = level, res.versions
                    break
            else:
                cand.skip = first_line(res.message)
        out.append(cand)
    out.append(Candidate(len(out), b, plan.bad, versions=plan.bad_versions, end=True))
    return out


def moved(plan: Plan, cand: Candidate) -> dict[str, list[str]]:
    """Row packages whose resolved release differs from the good row's (the pairing)."""
    return {name: [plan.good_versions.get(name, ""), cand.versions.get(name, "")]
            for name in sorted(row_packages(plan.good) | set(PACKAGES))
            if name != plan.subject and cand.versions.get(name) != plan.good_versions.get(name)
            and (cand.versions.get(name) or plan.good_versions.get(name))}


def _run(cmd: list[str], timeout: float) -> isolate.Completed:
    env = settings.child_env()
    try:
        return isolate.run(cmd, timeout, cwd=ROOT, env=env)
    except isolate.CheckTimeout:
        return isolate.Completed(124, "", f"{cmd[:3]} exceeded {timeout} s")
    except isolate.CheckCrashed as exc:
        return isolate.Completed(1, "", str(exc))


@dataclass
class Target:
    """What is checked: a feature's tests, or one benchmark."""

    name: str
    feature: str                  # the registry feature (a benchmark's own feature id)
    benchmark: bool
    area: str | None              # suites/<area> to collect from (None: all suites)


class Prober:
    """Builds candidates on demand and answers the search's questions about them."""

    def __init__(self, target: Target, cands: list[Candidate], registry, args, out: Path):
        self.target, self.cands, self.registry, self.args, self.out = target, cands, registry, args, out
        self.rule = SlowdownRule(args.alpha, args.min_effect)
        self.rows_built = 0
        self.venvs = Path(args.venvs)

    # one question of the search
    def __call__(self, index: int) -> Verdict:
        cand = self.cands[index]
        if not cand.skip and not cand.built:
            self.build(cand)
        if cand.skip:
            self.say(cand, Verdict.SKIP, cand.skip)
            return Verdict.SKIP
        repeats = self.args.repeat if not cand.runs else 1
        for _ in range(repeats):
            self.run_once(cand)
        verdict = self.benchmark_verdict(cand) if self.target.benchmark else cand.verdict()
        last = cand.runs[-1]
        self.say(cand, verdict, last.get("message") or last.get("ratio", ""))
        return verdict

    def say(self, cand: Candidate, verdict: Verdict, detail: str) -> None:
        print(f"  [{cand.index}] {self.subject} {cand.version}: {verdict}"
              + (f" — {first_line(detail, 160)}" if detail else ""), flush=True)

    @property
    def subject(self) -> str:
        return self.args.subject

    def build(self, cand: Candidate) -> None:
        folder = self.out / cand.label
        reqs = "\n".join(cand.row.requirements())
        venv = self.venvs / f"{cand.row.name}-{hashlib.sha1(reqs.encode()).hexdigest()[:8]}"
        started = time.monotonic()
        failed = create_venv(venv, cand.row.python)
        if failed:
            cand.skip = "venv: " + first_line(failed.stderr)
            return
        result = install_row(cand.row, str(venv / "bin" / "python"), folder)
        cand.built, cand.install_seconds = True, round(time.monotonic() - started, 1)
        self.rows_built += 1
        cand.venv = venv
        if not result.ok:
            cand.skip = "install-failed: " + first_line(result.message)
        else:
            cand.versions = releases.parse_lock((folder / "requirements.lock").read_text(encoding="utf-8"))

    def tests(self, cand: Candidate) -> dict[str, list[str]]:
        """The tests that check the target here, collected in the candidate (parameters may differ)."""
        if cand.tests is not None:
            return cand.tests
        if self.args.ext:  # EXTERNAL HOOK: the project's module, as the row's records name it
            cand.tests = self.args.ext.tests()
            return cand.tests
        records_file = self.out / cand.label / "collect.jsonl"
        records_file.unlink(missing_ok=True)
        where = [str(settings.current().suites / s) for s in (self.args.suites or [self.target.area or "."])]
        _run([str(cand.venv / "bin" / "python"), "-m", "pytest", *where, "--collect-only", "-q",
              "-p", "no:cacheprovider", f"--depth={self.args.depth}",
              f"--harness-results={records_file}"], timeout=600)
        collected: dict[str, list[str]] = {}
        for record in read_records(records_file):
            collected.update(record.get("collected", {}))
        if self.target.feature:
            chosen = {t: f for t, f in collected.items() if self.target.feature in f}
        else:
            chosen = {t: f for t, f in collected.items() if matches_benchmark(t, self.target.name)}
        if self.target.benchmark and len(chosen) > 1:
            raise BisectError(f"{self.target.name} names {len(chosen)} benchmarks here "
                              f"({', '.join(sorted(chosen))}): name one by its node id")
        cand.tests = chosen
        return chosen

    def run_once(self, cand: Candidate) -> None:
        n = len(cand.runs) + 1
        run_dir = self.out / cand.label / f"run-{n}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        shutil.copy(self.out / cand.label / INSTALL, run_dir / INSTALL)
        tests = self.tests(cand)
        if not tests:
            cand.runs.append({"run": n, "verdict": "skip", "status": "",
                              "message": "no test of this target was collected in this release"})
            return
        feature = self.target.feature or next(iter(tests.values()))[0]
        extra = ["--", *self.args.pytest_args] if self.args.pytest_args else []
        _run([str(cand.venv / "bin" / "python"), "-m", "harness", "run-suites", "--out", str(run_dir),
              "--depth", self.args.depth, "--timeout", str(self.args.timeout),
              *(self.args.ext.run_suites_args() if self.args.ext else ["--suites", *tests]),  # EXTERNAL HOOK
              *extra], timeout=self.args.timeout + 120)
        row = summ.build_row(run_dir, self.registry, [])
        cell = row["features"].get(feature)
        if cell is None:
            errors = [r for r in read_records(run_dir / RESULTS) if "collect_error" in r]
            cell = ({"status": "error", "message": errors[0]["message"]} if errors else
                    {"status": "skipped", "message": "the feature did not report in this release"})
        status = Status(cell["status"])
        record = {"run": n, "status": status.value, "message": cell.get("message", ""),
                  "verdict": verdict_of(status).value, "dir": str(run_dir.relative_to(self.out.parent)),
                  "seconds": row["suites"].get("seconds")}
        if self.target.benchmark:
            rounds = benchmark_rounds(run_dir / BENCHMARKS, next(iter(tests)))
            if rounds and status == Status.PASS:
                cand.rounds.append(rounds)
            elif status == Status.PASS:
                record.update(verdict="skip", message="no rounds recorded")
        cand.runs.append(record)

    def benchmark_verdict(self, cand: Candidate) -> Verdict:
        """Good end: the baseline. Others: slower than the good end with confidence, or not."""
        while len(cand.rounds) < self.args.processes and cand.runs[-1]["status"] == "pass" \
                and cand.runs[-1]["verdict"] != "skip":
            self.run_once(cand)
        if not cand.rounds:
            return Verdict.SKIP  # the check itself did not pass here: nothing to time
        base = self.cands[0].rounds
        if cand.index == 0:
            cand.bench_verdict = Verdict.GOOD
            return Verdict.GOOD
        if not base:
            return Verdict.SKIP
        estimate = compare(base, cand.rounds)
        verdict = Verdict.BAD if self.rule.slower(estimate) else Verdict.GOOD
        cand.runs[-1]["ratio"] = describe_estimate(estimate)
        previous, cand.bench_verdict = cand.bench_verdict, verdict
        return Verdict.FLAKY if previous not in (None, verdict) else verdict


def matches_benchmark(nodeid: str, name: str) -> bool:
    """A benchmark named by its node id, its tail (`file::test[param]`) or its test name."""
    return nodeid == name or nodeid.endswith(("/" + name, "::" + name)) \
        or nodeid.split("::")[-1] == name


def benchmark_rounds(path: Path, nodeid: str) -> list[float]:
    """The raw rounds pytest-benchmark stored for `nodeid` (saved with --benchmark-save-data)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    for bench in data.get("benchmarks", []):
        if bench.get("fullname") == nodeid or nodeid.endswith("::" + bench.get("name", "\0")):
            return list(bench.get("stats", {}).get("data") or [])
    return []


# ---- the result ---------------------------------------------------------------------------------

def cand_json(plan: Plan, cand: Candidate) -> dict:
    return {"index": cand.index, "version": cand.version,
            "row": cand.row.name if cand.row else None,
            "requirements": cand.row.requirements() if cand.row else [],
            "held": "end" if cand.end else ("held", "moved within the ends' range", "freed")[cand.level],
            "versions": {p: cand.versions[p] for p in plan.shown() if cand.versions.get(p)},
            "moved": moved(plan, cand), "built": cand.built, "install_seconds": cand.install_seconds,
            "skip": cand.skip, "verdict": (cand.verdict().value if (cand.runs or cand.skip)
                                           else "untested"),
            "runs": cand.runs}


def summarize(plan: Plan, target: Target, cands: list[Candidate], result: SearchResult) -> dict:
    """last good, first bad, the failure's first line (or the ratio), as JSON."""
    def who(i):
        if i is None:
            return None
        c = cands[i]
        return {"index": i, "version": c.version, "versions": cand_json(plan, c)["versions"],
                "row": c.row.name if c.row else None}

    out = {"outcome": result.outcome, "last_good": who(result.last_good),
           "first_bad": who(result.first_bad), "flaky": who(result.flaky),
           "suspects": [who(i) for i in result.suspects], "failure": "", "ratio": None}
    if result.first_bad is not None and result.outcome in (BOUNDARY, SKIPPED):
        bad = cands[result.first_bad]
        failing = [r for r in bad.runs if r["verdict"] == "bad"]
        out["failure"] = first_line(failing[0]["message"]) if failing else ""
        if target.benchmark and result.last_good is not None and cands[result.last_good].rounds:
            e = compare(cands[result.last_good].rounds, bad.rounds)
            out["ratio"] = {"ratio": e.ratio, "low": e.low, "high": e.high, "p_value": e.p_value,
                            "against": "last good"}
            out["failure"] = f"{target.name}: {describe_estimate(e)} against the last good release"
    ends = (cands[0], cands[-1])
    if result.outcome == GOOD_END_BAD:
        failing = [r for r in ends[0].runs if r["verdict"] == "bad"]
        out["failure"] = "the good end: " + (first_line(failing[0]["message"]) if failing else "?")
    elif result.outcome == BAD_END_GOOD and target.benchmark and ends[0].rounds and ends[1].rounds:
        e = compare(ends[0].rounds, ends[1].rounds)
        out["ratio"] = {"ratio": e.ratio, "low": e.low, "high": e.high, "p_value": e.p_value,
                        "against": "good end"}
        out["failure"] = f"the bad end against the good end: {describe_estimate(e)}"
    elif result.outcome == END_UNTESTABLE:
        out["failure"] = "; ".join(f"{c.version}: {c.skip or (c.runs[-1]['message'] if c.runs else '')}"
                                   for c in ends if c.verdict() is Verdict.SKIP)
    if result.flaky is not None:
        runs = cands[result.flaky].runs
        out["failure"] = "; ".join(f"run {r['run']}: {r['status']}"
                                   + (f" {first_line(r['message'], 120)}" if r['message'] else "")
                                   for r in runs)
    return out


def headline(plan: Plan, summary: dict) -> list[str]:
    s = plan.subject

    def v(who):
        if not who:
            return "-"
        extra = ", ".join(f"{k} {val}" for k, val in who["versions"].items() if k != s)
        return f"{s} {who['version']}" + (f" ({extra})" if extra else "")

    outcome = summary["outcome"]
    lines = []
    if outcome == BOUNDARY:
        lines += [f"last good: {v(summary['last_good'])}", f"first bad: {v(summary['first_bad'])}"]
    elif outcome == SKIPPED:
        lines += [f"last good: {v(summary['last_good'])}",
                  "first bad: one of " + ", ".join(v(w) for w in summary["suspects"])
                  + " (the ones between could not be tested)"]
    elif outcome == FLAKY:
        lines.append(f"flaky: {v(summary['flaky'])} both passes and fails; no boundary is claimed")
    elif outcome == GOOD_END_BAD:
        lines.append("the good end is not good: nothing to bisect")
    elif outcome == BAD_END_GOOD:
        lines.append("the bad end is not bad: nothing to bisect")
    else:
        lines.append("an end could not be installed or checked")
    if summary["failure"]:
        lines.append(("ratio: " if summary.get("ratio") else "failure: ") + summary["failure"])
    return lines


def result_dir(args) -> Path:
    """The run whose grid this explains (--run, else the newest), or reports/ without runs."""
    reports = Path(args.reports)
    if args.run:
        return summ.runs_dir(reports) / args.run
    named = summ.runs_dir(reports) / (settings.current().run_id or "-")
    if (named / summ.RUN_META).exists():  # a pipeline that names its run
        return named
    latest = summ.latest_run(reports)
    return latest if latest else reports


def links(run_dir: Path, page_dir: Path | None = None) -> dict[str, dict]:
    """Bisect results stored in a run, keyed "<row>/<feature>" for the grid cell each explains:
    {"file": path relative to run_dir, "href": the same relative to page_dir (where the page
    that links it is written), "text": one line for the cell}."""
    found = {}
    for path in sorted((run_dir / "bisect").glob("*.json")):
        try:
            data = fsio.read_json(path)
            key = f"{data['explains']['row']}/{data['explains']['feature']}"
        except (OSError, ValueError, KeyError, TypeError):
            continue
        r = data.get("result", {})
        bad = r.get("first_bad") or {}
        text = {BOUNDARY: f"first bad: {data.get('subject')} {bad.get('version')}",
                FLAKY: "bisect: flaky"}.get(r.get("outcome"), f"bisect: {r.get('outcome')}")
        href = os.path.relpath(path, page_dir or run_dir).replace(os.sep, "/")
        found[key] = {"file": path.relative_to(run_dir).as_posix(), "href": href, "text": text}
    return found


# ---- command line -------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness.bisect",
                                description="Find the first release that breaks a feature or slows a benchmark.")
    p.add_argument("target", help="a feature id, or a benchmark (bench feature id, test name or node id)")
    p.add_argument("--good", required=True, help="a matrix row or pins (torch=2.8.0,torchvision=0.23.0)")
    p.add_argument("--bad", required=True, help="a matrix row or pins; pins of one side change the other row")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--package", help="bisect this package's releases, the others held")
    mode.add_argument("--train", action="store_true", help="bisect torch releases with their paired libraries")
    p.add_argument("--with", dest="with_", default="", metavar="PINS",
                   help="requirements added to both ends, e.g. portalocker or numpy<2")
    p.add_argument("--matrix", default=None, help="default: $HARNESS_MATRIX or matrix.toml")
    p.add_argument("--depth", choices=("quick", "full"), default="quick")
    p.add_argument("--suites", nargs="+", default=[], help="where to collect from (default: the feature's area)")
    p.add_argument("--timeout", type=float, default=1800.0, help="bound on one candidate's tests, s")
    p.add_argument("--repeat", type=int, default=1, help="runs of the tests per candidate")
    p.add_argument("--confirm", type=int, default=1, help="extra runs on each side of the boundary")
    p.add_argument("--processes", type=int, default=5, help="benchmark: processes per candidate")
    p.add_argument("--alpha", type=float, default=SlowdownRule.alpha)
    p.add_argument("--min-effect", type=float, default=SlowdownRule.min_effect)
    p.add_argument("--python", default=None, help="Python of the candidates (default: the good row's)")
    p.add_argument("--venvs", default=str(ROOT / ".nox" / "bisect-rows"),
                   help="where the candidates' venvs live (kept: a repeat reuses them)")
    p.add_argument("--reports", default=str(settings.current().reports))
    p.add_argument("--run", default=None, help="run whose grid this explains (default: the newest)")
    p.add_argument("--row", default=None, help="grid row this explains (default: the bad row)")
    p.add_argument("--list", action="store_true", help="only list the candidates and their pairings")
    p.add_argument("--external", action="append", default=[], metavar="PATH",  # EXTERNAL HOOK
                   help="the project of an ext.<name>.* target (default: the matrix's [[external]], then the run's)")
    p.epilog = "Arguments after a lone -- go to pytest (e.g. -- -k split)."
    return p


def resolve_ends(good: Row, bad: Row, python: str, work: Path) -> tuple[dict, dict]:
    versions = []
    for row in (good, bad):
        res = releases.resolve(row.requirements(), python, work / f"end-{row.name}")
        if not res.ok:
            raise BisectError(f"{row.name} cannot be resolved: {first_line(res.message)}")
        versions.append(res.versions)
    return versions[0], versions[1]


def target_of(name: str, registry) -> Target:
    feature = registry.get(name)
    if feature is not None:
        return Target(name, name, feature.area == "bench", feature.area)
    if re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", name):
        raise BisectError(f"{name}: not a feature of the registry")
    area = name.split("/")[0] if "/" in name.split("::")[0] else None
    return Target(name, "", True, area)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1:]
    started, t0 = summ.now(), time.monotonic()
    work = None
    try:
        registry = load_registry()
        loaded = load_matrix(args.matrix)
        # EXTERNAL HOOK: an ext.<name>.<module> feature runs its project's module (harness.external.BisectTarget)
        args.ext = external.bisect_target(args.target, args.external, loaded.externals + external.run_externals(
            summ.read_intact(result_dir(args) / summ.RUN_META)))
        target = Target(args.target, args.target, False, None) if args.ext else target_of(args.target, registry)
        matrix = {r.name: r for r in loaded.rows}
        good, bad = end_rows(args.good, args.bad, matrix)
        if args.with_:
            added = parse_pins(args.with_)
            good, bad = (make_row(r.name, {**requirement_map(r), **added}, r.python) for r in (good, bad))
        python = args.python or good.python
        out_root = result_dir(args) / "bisect"
        slug = f"{args.target.replace('/', '_').replace('::', '.')}--{args.row or bad.name}"
        work = out_root / slug
        if work.exists():
            shutil.rmtree(work)
        good_v, bad_v = resolve_ends(good, bad, python, work)
        mode, subject = choose_mode(good, bad, good_v, bad_v, args.package, args.train)
        listing = releases.fetch_releases(subject)
    except (BisectError, MatrixError, RegistryError, OSError) as exc:
        if work is not None and work.exists():
            shutil.rmtree(work)  # a usage error leaves nothing behind
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    args.subject = subject
    plan = Plan(mode, subject, good, bad, good_v, bad_v)
    print(f"bisect {args.target} ({'benchmark' if target.benchmark else 'feature'}): {plan.describe()}")
    cands = plan_candidates(plan, listing, python, work)
    for note in plan.notes():
        print(f"note: {note}")
    print(f"candidates ({len(cands)}), from the good end to the bad end:")
    for c in cands:
        pairs = ", ".join(f"{k} {v}" for k, v in cand_json(plan, c)["versions"].items() if k != subject)
        note = f"  skip: {c.skip}" if c.skip else (f"  [{('held', 'moved', 'freed')[c.level]}]" if c.level else "")
        print(f"  [{c.index}] {subject} {c.version}" + (f"  ({pairs})" if pairs else "") + note)
    if args.list:
        return 0
    prober = Prober(target, cands, registry, args, work)
    try:
        result = search(len(cands), prober, confirm=args.confirm)
    except BisectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    summary = summarize(plan, target, cands, result)
    seconds = round(time.monotonic() - t0, 1)
    data = {
        "target": args.target, "kind": "benchmark" if target.benchmark else "feature",
        "feature": target.feature or None, "mode": mode, "subject": subject,
        "description": plan.describe(), "notes": plan.notes(),
        "explains": {"row": args.row or (bad.name if bad.name in matrix else None),
                     "feature": target.feature or args.target},
        "good": {"spec": args.good, "row": good.name, "requirements": good.requirements(),
                 "versions": {p: good_v[p] for p in plan.shown() if good_v.get(p)}},
        "bad": {"spec": args.bad, "row": bad.name, "requirements": bad.requirements(),
                "versions": {p: bad_v[p] for p in plan.shown() if bad_v.get(p)}},
        "result": summary,
        "candidates": [cand_json(plan, c) for c in cands],
        "probes": [[i, v.value] for i, v in result.probes],
        "rows_built": prober.rows_built,
        "started": started, "finished": summ.now(), "seconds": seconds,
        "command": ["python", "-m", "harness.bisect", *argv],
    }
    path = out_root / f"{slug}.json"
    fsio.write_json(path, data)
    print(f"mode: {mode} — {plan.describe()}")
    for line in headline(plan, summary):
        print(line)
    print(f"rows built: {prober.rows_built} of {len(cands)} candidates; {seconds} s; result: {path}")
    return 0 if result.outcome in (BOUNDARY, FLAKY, SKIPPED) else NO_CHANGE


if __name__ == "__main__":
    with isolate.guard():
        sys.exit(main())
