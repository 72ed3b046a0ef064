"""Running a candidate: build its environment (uv, through harness/install.py), collect and run
the target's tests there through `python -m harness run-suites` (a child process, harness/isolate.py),
and answer the search's question from the feature's status or the benchmark's timings.
"""
from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import isolate, settings, uv
from harness import summary as summ
from harness.benchfile import read_benchmarks
from harness.bisection.plan import BisectError, Candidate
from harness.bisection.search import SlowdownRule, Verdict, compare, describe_estimate, verdict_of
from harness.collect import BENCHMARKS, INSTALL, RESULTS, read_records
from harness.install import create_venv, install_row
from harness.status import Status, first_line


def _run(cmd: list[str], timeout: float) -> isolate.Completed:
    """A child process of the harness in the repository (status 124 on timeout, 1 on a crash)."""
    env = settings.child_env()
    try:
        return isolate.run(cmd, timeout, cwd=settings.ROOT, env=env)
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
        """Install the candidate's row in a venv of its own (kept under --venvs, by content)."""
        row = cand.row
        if row is None:  # plan_candidates gives every candidate that is not a skip a row
            raise BisectError(f"{cand.version}: no row to build")
        folder = self.out / cand.label
        reqs = "\n".join(row.requirements())
        venv = self.venvs / f"{row.name}-{hashlib.sha1(reqs.encode()).hexdigest()[:8]}"
        started = time.monotonic()
        failed = create_venv(venv, row.python)
        if failed:
            cand.skip = "venv: " + first_line(failed.stderr)
            return
        result = install_row(row, str(venv / "bin" / "python"), folder)
        cand.built, cand.install_seconds = True, round(time.monotonic() - started, 1)
        self.rows_built += 1
        cand.venv = venv
        if not result.ok:
            cand.skip = "install-failed: " + first_line(result.message)
        else:
            cand.versions = uv.parse_lock((folder / "requirements.lock").read_text(encoding="utf-8"))

    @staticmethod
    def python(cand: Candidate) -> str:
        """The interpreter of a built candidate's venv."""
        if cand.venv is None:
            raise BisectError(f"{cand.version}: not built")
        return str(cand.venv / "bin" / "python")

    def tests(self, cand: Candidate) -> dict[str, list[str]]:
        """The tests that check the target here, collected in the candidate (parameters may differ)."""
        if cand.tests is not None:
            return cand.tests
        if self.args.ext:  # an external project's module, as the row's records name it
            cand.tests = self.args.ext.tests()
            return cand.tests
        records_file = self.out / cand.label / "collect.jsonl"
        records_file.unlink(missing_ok=True)
        where = [str(settings.current().suites / s) for s in (self.args.suites or [self.target.area or "."])]
        _run([self.python(cand), "-m", "pytest", *where, "--collect-only", "-q",
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
        _run([self.python(cand), "-m", "harness", "run-suites", "--out", str(run_dir),
              "--depth", self.args.depth, "--timeout", str(self.args.timeout),
              *(self.args.ext.run_suites_args() if self.args.ext else ["--suites", *tests]), *extra],
             timeout=self.args.timeout + 120)
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
            timed = benchmark_record(run_dir / BENCHMARKS, next(iter(tests)))
            if timed and status == Status.PASS:
                cand.rounds.append(timed["rounds"])
                cand.clock = record["clock"] = timed["clock"]
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
        if base and cand.clock != self.cands[0].clock:
            raise BisectError(f"{self.target.name}: timed by {cand.clock} at {cand.version} but by "
                              f"{self.cands[0].clock} at the good end: the clocks cannot be compared")
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


def benchmark_record(path: Path, nodeid: str) -> dict | None:
    """The record of `nodeid` in a pytest-benchmark file, read as the nightly reads it
    (harness/benchfile.py: the rounds of one clock, CUDA events when the test kept them); None
    when the file or the benchmark is missing or unusable."""
    records, _ = read_benchmarks(path)
    for name, record in records.items():
        if record["fullname"] == nodeid or nodeid.endswith("::" + name):
            return record
    return None


def benchmark_rounds(path: Path, nodeid: str) -> list[float]:
    """The rounds (seconds) of `nodeid`'s record, [] without one; see benchmark_record."""
    record = benchmark_record(path, nodeid)
    return list(record["rounds"]) if record else []
