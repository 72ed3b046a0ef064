"""Running a candidate: build its environment (uv, through harness/install.py), collect and run
the target's tests there through `python -m harness run-suites` (a child process, harness/isolate.py),
and answer the search's question from the feature's status or the benchmark's timings.
"""
from __future__ import annotations

import hashlib
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import isolate, settings, uv
from harness import summary as summ
from harness.benchfile import read_benchmarks
from harness.bisection.plan import BisectError, Candidate
from harness.bisection.search import (SlowdownRule, Verdict, compare, compare_pairs, describe_estimate,
                                      pair_logs, verdict_of)
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
        if self.target.benchmark and index > 0 and not self.args.unpaired:
            verdict = self.paired_verdict(cand)
        else:
            repeats = self.args.repeat if not cand.runs else 1
            for _ in range(repeats):
                self.run_once(cand)
            verdict = self.benchmark_verdict(cand) if self.target.benchmark else cand.verdict()
        last = cand.runs[-1] if cand.runs else {}
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
        """One more process of the candidate's tests, its record appended to cand.runs (and its
        rounds to cand.rounds when it passed and was timed)."""
        n = len(cand.runs) + 1
        record, timed = self.run_process(cand, self.out / cand.label / f"run-{n}", n)
        if timed is not None:
            cand.rounds.append(timed)
            cand.clock = record["clock"]
        cand.runs.append(record)

    def run_process(self, cand: Candidate, run_dir: Path, n: int) -> tuple[dict, list[float] | None]:
        """Run `cand`'s tests once in a fresh process writing to `run_dir` (emptied first): the
        run record ({run: n, status, message, verdict, dir, seconds, clock}) and, for a benchmark
        that passed and recorded rounds, those rounds (seconds), else None."""
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        shutil.copy(self.out / cand.label / INSTALL, run_dir / INSTALL)
        tests = self.tests(cand)
        if not tests:
            return {"run": n, "verdict": "skip", "status": "",
                    "message": "no test of this target was collected in this release"}, None
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
        rounds = None
        if self.target.benchmark:
            timed = benchmark_record(run_dir / BENCHMARKS, next(iter(tests)))
            if timed and status == Status.PASS:
                rounds, record["clock"] = list(timed["rounds"]), timed["clock"]
            elif status == Status.PASS:
                record.update(verdict="skip", message="no rounds recorded")
        return record, rounds

    def check_clock(self, cand: Candidate) -> None:
        """BisectError when `cand` was timed by another clock than the good end."""
        good = self.cands[0]
        if good.rounds and cand.clock and cand.clock != good.clock:
            raise BisectError(f"{self.target.name}: timed by {cand.clock} at {cand.version} but by "
                              f"{good.clock} at the good end: the clocks cannot be compared")

    def benchmark_verdict(self, cand: Candidate) -> Verdict:
        """Unpaired (`--unpaired`), and the good end in either mode. The good end is the
        baseline: GOOD once timed (in --processes processes when unpaired, in its --repeat runs
        when paired: the pairs time it afresh). Another candidate, unpaired: timed in its own
        --processes processes, BAD when slower than the good end's processes by the rule."""
        while self.args.unpaired and len(cand.rounds) < self.args.processes \
                and cand.runs[-1]["status"] == "pass" and cand.runs[-1]["verdict"] != "skip":
            self.run_once(cand)
        if not cand.rounds:
            return Verdict.SKIP  # the check itself did not pass here: nothing to time
        base = self.cands[0].rounds
        self.check_clock(cand)
        if cand.index == 0:
            cand.bench_verdict = Verdict.GOOD
            return Verdict.GOOD
        if not base:
            return Verdict.SKIP
        estimate = compare(base, cand.rounds)
        cand.runs[-1]["ratio"] = describe_estimate(estimate)
        return self.settle(cand, Verdict.BAD if self.rule.slower(estimate) else Verdict.GOOD)

    def settle(self, cand: Candidate, verdict: Verdict) -> Verdict:
        """The candidate's verdict, FLAKY when an earlier probe of it answered otherwise."""
        previous, cand.bench_verdict = cand.bench_verdict, verdict
        return Verdict.FLAKY if previous not in (None, verdict) else verdict

    def paired_verdict(self, cand: Candidate) -> Verdict:
        """A candidate other than the good end, timed in interleaved pairs: a fresh good-end
        process and a candidate process back to back, the good end first in even pairs and the
        candidate first in odd ones (as harness/calibrate.py interleaves an A/B), so the drift of
        the machine and an order effect cancel. The first probe runs --processes pairs (or
        --repeat, if more), a later probe one more; BAD when candidate / good end over all the
        complete pairs is slower by the rule. A candidate process that does not pass (or records
        no rounds) ends the pairs: under 2 complete pairs the candidate is a SKIP, as unpaired.
        Raises BisectError when a process is timed by another clock than the good end."""
        good = self.cands[0]
        if not good.rounds:
            return Verdict.SKIP  # the good end was not timed: nothing to pair with
        done = sum(1 for r in cand.runs if "pair" in r)
        more = max(self.args.repeat if not cand.runs else 1, self.args.processes - len(cand.pairs))
        for k in range(done, done + more):
            if not self.run_pair(cand, k):
                break
        # The good end failing its own check in a pair is news: said with the verdict, never hidden.
        failed = [r["left_out"] for r in cand.runs if "left_out" in r]
        flaky = (f"; the good end failed in {len(failed)} of its pair processes, its check is flaky here "
                 f"({failed[-1]})") if failed else ""
        if len(cand.pairs) < 2:
            if cand.runs and cand.runs[-1]["verdict"] == "good":
                cand.runs[-1]["message"] = (f"{len(cand.pairs)} complete pair(s) with the good end: "
                                            f"too few to judge{flaky}")
            return Verdict.SKIP
        estimate = compare_pairs(cand.pairs)
        cand.runs[-1]["ratio"] = f"{describe_estimate(estimate)}, {len(cand.pairs)} interleaved pairs{flaky}"
        return self.settle(cand, Verdict.BAD if self.rule.slower(estimate) else Verdict.GOOD)

    def run_pair(self, cand: Candidate, k: int) -> bool:
        """Pair k of `cand` with the good end (order by k's parity); its record goes to cand.runs
        (the good end's process in it under `good_end`, its own folder under the good end's),
        a complete pair to cand.pairs. False when the candidate's process did not pass or time."""
        good, n = self.cands[0], len(cand.runs) + 1
        first = "good end" if k % 2 == 0 else "candidate"
        good_dir = self.out / good.label / f"pair-{cand.label}-{n}"
        base: tuple[dict, list[float] | None] | None = None
        if first == "good end":
            base = self.run_process(good, good_dir, n)
        record, timed = self.run_process(cand, self.out / cand.label / f"run-{n}", n)
        record.update(pair=k + 1, first=first)
        cand.runs.append(record)
        if timed is None:
            if base is not None:
                record["good_end"] = _side(base[0])
            return False
        cand.rounds.append(timed)
        cand.clock = record["clock"]
        self.check_clock(cand)
        if base is None:
            base = self.run_process(good, good_dir, n)
        record["good_end"] = _side(base[0])
        if base[1] is None:
            record["left_out"] = (f"pair {k + 1}: {base[0]['status'] or 'no test'}: "
                                  f"{first_line(base[0]['message']) or 'no rounds recorded'}")
            return True
        if base[0]["clock"] != good.clock:
            raise BisectError(f"{self.target.name}: timed by {base[0]['clock']} at the good end "
                              f"({good.version}) in pair {k + 1}, by {good.clock} before: the "
                              "clocks cannot be compared")
        cand.pairs.append((base[1], timed))
        record["pair_ratio"] = round(math.exp(pair_logs([(base[1], timed)])[0]), 4)
        return True


def _side(record: dict) -> dict:
    """The good end's process of a pair as its candidate's run record keeps it."""
    return {k: record[k] for k in ("status", "message", "dir", "seconds", "clock") if k in record}


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
