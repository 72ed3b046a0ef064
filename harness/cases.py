"""The corpus of real upstream breakages (`cases/*.toml`): the harness's acceptance test.

Each case names rows (the matrix schema), the suites to run, the status each named feature must
have in each row, and the upstream report. `nox -s cases [-- NAME...]` runs every case through
the real matrix machinery (a temporary matrix file, `nox -s matrix` in a subprocess, its own
reports folder under reports/cases/) and reads the run's summary.json:

- caught: every named feature has its expected status (and message, where one is given);
- missed: a named feature has another status (or did not run);
- disturbed: all named features as expected, but a feature the case does not name changed
  status against the case's good reference row.

Exit 0 when every case is caught, 1 otherwise, 2 for a malformed case (nothing written).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness import fsio, isolate, settings
from harness.expectations import https_link
from harness.matrix import SAFE_NAME, MatrixError, Row, check_rows
from harness.status import Status

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "cases"
SUITES_DIR = ROOT / "suites"
RESULT_FILE = "cases.json"
SCHEMA = 1
CASE_KEYS = {"title", "link", "suites", "k", "reference", "timeout", "row", "expect"}
EXPECT_KEYS = {"status", "message"}
CAUGHT, MISSED, DISTURBED = "caught", "missed", "disturbed"
USAGE_ERROR = 2
INSTALL_BOUND_S = 900.0  # resolving and installing one row (a cold torch download included)


class CaseError(MatrixError):
    """A problem in a case file: names the file, the entry and the field, like the matrix's errors."""

    def __init__(self, path: Path | str, entry: str | None, field: str | None, problem: str):
        super().__init__(path, None, None, problem)
        where = str(path) + (f": {entry}" if entry else "") + (f": field '{field}'" if field else "")
        self.args = (f"{where}: {problem}",)
        self.row = entry


@dataclass(frozen=True)
class Expect:
    status: str
    message: str = ""  # a regex on the feature's message; empty: any

    def holds(self, cell: dict | None) -> bool:
        return (cell is not None and cell.get("status") == self.status
                and (not self.message or re.search(self.message, cell.get("message", "")) is not None))

    def describe(self) -> str:
        return self.status + (f" /{self.message}/" if self.message else "")


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    title: str
    link: str
    rows: tuple[Row, ...]
    suites: tuple[str, ...]
    expect: dict[str, dict[str, Expect]]  # row -> feature pattern -> expectation
    reference: str
    k: str = ""
    timeout: float = 1800.0

    def matrix_toml(self) -> str:
        """The case's rows as a matrix file for `nox -s matrix` (HARNESS_MATRIX)."""
        def value(v) -> str:
            if isinstance(v, dict):
                return "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(x)}" for k, x in v.items()) + " }"
            return json.dumps(v)
        out = [f"# case {self.name}: {self.link}"]
        for row in self.rows:
            out += ["", "[[row]]", f"name = {value(row.name)}", f"pins = {value(row.pins)}",
                    f"extra = {value(list(row.extra))}", f"python = {value(row.python)}"]
        return "\n".join(out) + "\n"


def _check_expect(path: Path, row: str, raw: object, feature_ids: set[str] | None) -> dict[str, Expect]:
    entry = f"expect.{row}"
    if not isinstance(raw, dict) or not raw:
        raise CaseError(path, entry, None, "must be a non-empty table of feature = status")
    checked = {}
    statuses = {s.value for s in Status}
    for pattern, spec in raw.items():
        if isinstance(spec, str):
            spec = {"status": spec}
        if not isinstance(spec, dict):
            raise CaseError(path, entry, pattern, "must be a status or { status = ..., message = ... }")
        unknown = sorted(set(spec) - EXPECT_KEYS)
        if unknown:
            raise CaseError(path, entry, f"{pattern}.{unknown[0]}", "unknown key (allowed: message, status)")
        status, message = spec.get("status"), spec.get("message", "")
        if status not in statuses:
            raise CaseError(path, entry, pattern, f"status {status!r} is not one of {', '.join(sorted(statuses))}")
        if not isinstance(message, str):
            raise CaseError(path, entry, f"{pattern}.message", "must be a string (a regex)")
        try:
            re.compile(message)
        except re.error as exc:
            raise CaseError(path, entry, f"{pattern}.message", f"not a regex: {exc}") from None
        if feature_ids is not None and not fnmatch.filter(feature_ids, pattern):
            raise CaseError(path, entry, pattern, "names no feature of the registry (suites/*/features.toml)")
        checked[pattern] = Expect(status, message)
    return checked


def load_case(path: Path | str, feature_ids: set[str] | None = None, suites_dir: Path = SUITES_DIR) -> Case:
    """Read and validate one case; rows go through the matrix's own validation."""
    path = Path(path)
    if not SAFE_NAME.match(path.stem):
        raise CaseError(path, None, None, "the file name is not a safe case name")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(path, None, None, f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(path, None, None, f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - CASE_KEYS)
    if unknown:
        raise CaseError(path, None, unknown[0], f"unknown key (allowed: {', '.join(sorted(CASE_KEYS))})")
    for key in ("title", "link"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CaseError(path, None, key, "missing: every case needs a title and the link to its upstream report")
    if not https_link(data["link"]):
        raise CaseError(path, None, "link", f"{data['link']!r} is not an https:// link")
    rows = check_rows(path, data.get("row"))
    names = [r.name for r in rows]
    suites = data.get("suites")
    if not isinstance(suites, list) or not suites or not all(isinstance(s, str) and s for s in suites):
        raise CaseError(path, None, "suites", "must be a non-empty list of paths under suites/")
    for suite in suites:
        if ".." in Path(suite).parts or not (suites_dir / suite).exists():
            raise CaseError(path, None, "suites", f"{suite!r} is not a path under suites/")
    k = data.get("k", "")
    if not isinstance(k, str):
        raise CaseError(path, None, "k", "must be a pytest -k expression (a string)")
    timeout = data.get("timeout", 1800.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise CaseError(path, None, "timeout", "must be a positive number of seconds")
    reference = data.get("reference", names[0])
    if reference not in names:
        raise CaseError(path, None, "reference", f"{reference!r} is not a row of this case")
    expect = data.get("expect")
    if not isinstance(expect, dict):
        raise CaseError(path, None, "expect", "missing: a table [expect.ROW] per row")
    for row in expect:
        if row not in names:
            raise CaseError(path, f"expect.{row}", None, "names no row of this case")
    for row in names:
        if row not in expect:
            raise CaseError(path, f"expect.{row}", None, "missing: every row needs its expected statuses")
    return Case(name=path.stem, path=path, title=data["title"].strip(), link=data["link"], rows=rows,
                suites=tuple(suites), reference=reference, k=k, timeout=float(timeout),
                expect={row: _check_expect(path, row, expect[row], feature_ids) for row in names})


def load_cases(directory: Path = CASES_DIR, names: list[str] | None = None,
               feature_ids: set[str] | None = None) -> list[Case]:
    files = sorted(Path(directory).glob("*.toml"))
    known = {p.stem: p for p in files}
    for name in names or []:
        if name not in known:
            raise CaseError(Path(directory) / f"{name}.toml", None, None,
                            f"no such case (known: {', '.join(known) or 'none'})")
    cases = [load_case(p, feature_ids) for p in files if not names or p.stem in names]
    if not cases:
        raise CaseError(directory, None, None, "no cases (*.toml)")
    return cases


# ---------------------------------------------------------------- the verdict (pure)

@dataclass
class Result:
    case: str
    verdict: str
    problems: list[str] = field(default_factory=list)
    observed: dict[str, dict[str, dict]] = field(default_factory=dict)  # row -> feature -> cell


def _named(patterns, features) -> dict[str, list[str]]:
    return {p: sorted(fnmatch.filter(features, p)) for p in patterns}


def judge(case: Case, summary: dict | None) -> Result:
    """caught / missed / disturbed for one case from its run's summary (None: it did not run)."""
    rows = {r["name"]: r for r in (summary or {}).get("rows", [])}
    problems: list[str] = []
    disturbed: list[str] = []
    observed: dict[str, dict[str, dict]] = {}
    reference = rows.get(case.reference, {}).get("features", {})
    for row in case.rows:
        cells = rows.get(row.name, {}).get("features", {})
        if row.name not in rows:
            problems.append(f"{row.name}: the row did not run")
        named: set[str] = set()
        for pattern, want in case.expect[row.name].items():
            matched = _named([pattern], cells)[pattern]
            named.update(matched)
            if not matched and row.name in rows:
                problems.append(f"{row.name}: {pattern}: expected {want.describe()}, not run")
            for fid in matched:
                observed.setdefault(row.name, {})[fid] = cells[fid]
                if not want.holds(cells[fid]):
                    problems.append(f"{row.name}: {fid}: expected {want.describe()}, "
                                    f"got {cells[fid].get('status')}: {cells[fid].get('message', '')}")
        if row.name == case.reference:
            continue
        for fid in sorted(set(cells) & set(reference) - named):
            if cells[fid].get("status") != reference[fid].get("status"):
                disturbed.append(f"{row.name}: {fid}: {cells[fid].get('status')} "
                                 f"(reference {case.reference}: {reference[fid].get('status')}): "
                                 f"{cells[fid].get('message', '')}")
    if problems:
        return Result(case.name, MISSED, problems + disturbed, observed)
    if disturbed:
        return Result(case.name, DISTURBED, disturbed, observed)
    return Result(case.name, CAUGHT, [], observed)


def score(results: list[Result]) -> tuple[int, int]:
    return sum(r.verdict == CAUGHT for r in results), len(results)


# ---------------------------------------------------------------- running a case

def run_case(case: Case, reports: Path, depth: str = "quick") -> tuple[dict | None, float, int, Path]:
    """Run the case's rows with `nox -s matrix`; (summary or None, seconds, nox exit code, run dir)."""
    from harness.summary import new_run_id

    folder = reports / "cases" / case.name
    folder.mkdir(parents=True, exist_ok=True)
    matrix = folder / "matrix.toml"
    fsio.write_text(matrix, case.matrix_toml())
    run_id = new_run_id()
    env = settings.child_env({"HARNESS_MATRIX": str(matrix), "HARNESS_REPORTS": str(folder),
                              "HARNESS_RUN_ID": run_id})
    command = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "matrix", "--",
               "--depth", depth, "--timeout", str(case.timeout), "--suites", *case.suites]
    if case.k:
        command += ["-k", case.k]
    started = time.monotonic()
    bound = len(case.rows) * (case.timeout + INSTALL_BOUND_S)
    with open(folder / "nox.log", "w", encoding="utf-8") as log:
        proc = isolate.start(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            isolate.kill_tree(proc)
            code = proc.wait()
            log.write(f"\ncases: the run exceeded {bound:g} s; its process tree was killed\n")
        finally:
            if proc.poll() is None:
                isolate.kill_tree(proc)
    seconds = round(time.monotonic() - started, 1)
    run_dir = folder / "runs" / run_id
    try:
        summary = fsio.read_json(run_dir / "summary.json")
    except (OSError, json.JSONDecodeError):
        summary = None
    return summary, seconds, code, run_dir


def case_record(case: Case, result: Result, summary: dict | None, seconds: float, run_dir: Path | None,
                reports: Path) -> dict:
    rows = {r["name"]: r for r in (summary or {}).get("rows", [])}
    return {
        "name": case.name, "title": case.title, "link": case.link, "verdict": result.verdict,
        "problems": result.problems, "seconds": seconds, "suites": list(case.suites), "k": case.k,
        "reference": case.reference,
        "run": os.path.relpath(run_dir, reports) if run_dir else None,
        "rows": [{"name": row.name, "pins": row.pins, "extra": list(row.extra),
                  "installed": rows.get(row.name, {}).get("installed", {}),
                  "install": rows.get(row.name, {}).get("install", {}),
                  "features": rows.get(row.name, {}).get("features", {}),
                  "expected": {p: e.describe() for p, e in case.expect[row.name].items()}}
                 for row in case.rows],
    }


def read_result(reports: Path | str) -> dict | None:
    """The newest `nox -s cases` result, <reports>/cases.json (the one reader of that file), or None
    when it is absent, unreadable or not a JSON object."""
    try:
        data = fsio.read_json(Path(reports) / RESULT_FILE)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def corpus_score(reports: Path) -> dict | None:
    """The corpus's score for the report (from the newest `nox -s cases`), or None without one."""
    data = read_result(reports)
    if data is None:
        return None
    try:
        return {"caught": int(data["score"]["caught"]), "total": int(data["score"]["total"]),
                "started": str(data.get("started", "")), "selected": list(data.get("selected") or [])}
    except (ValueError, KeyError, TypeError):
        return None


def parser() -> argparse.ArgumentParser:

    p = argparse.ArgumentParser(prog="nox -s cases --", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="cases to run (file names under cases/ without .toml); default all")
    p.add_argument("--cases", type=Path, default=CASES_DIR, help="the corpus folder")
    p.add_argument("--reports", type=Path, default=settings.current().reports,
                   help=f"writes {RESULT_FILE} and cases/NAME/ here")
    p.add_argument("--depth", choices=("quick", "full"), default="quick")
    p.add_argument("--check", action="store_true", help="validate the cases and stop")
    return p


def check(argv: list[str]) -> str | None:
    """The one-line problem with the cases `argv` would run, or None. The noxfile asks before it
    builds anything, so that `nox -s cases` exits 2 on a malformed case, as `nox -s matrix` does."""
    args = parser().parse_args(argv)
    from harness.registry import RegistryError, load_registry

    try:
        load_cases(args.cases, args.names, set(load_registry()))
    except (MatrixError, RegistryError) as exc:
        return f"error: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from harness.registry import RegistryError, load_registry

    try:
        feature_ids = set(load_registry())
        cases = load_cases(args.cases, args.names, feature_ids)
    except (MatrixError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.check:
        for case in cases:
            print(f"{case.name}: {len(case.rows)} rows, suites {' '.join(case.suites)}: {case.link}")
        return 0
    with isolate.guard():
        return _run_all(cases, args)


def _run_all(cases: list[Case], args) -> int:
    started, clock = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    records, results = [], []
    for case in cases:
        print(f"case {case.name}: {case.title}", flush=True)
        summary, seconds, code, run_dir = run_case(case, args.reports, args.depth)
        result = judge(case, summary)
        if summary is None:
            result.problems.insert(0, f"no summary.json (nox exit {code}; see {run_dir.parent.parent / 'nox.log'})")
        results.append(result)
        records.append(case_record(case, result, summary, seconds, run_dir, args.reports))
        print(f"  {result.verdict} in {seconds:.0f} s  {case.link}", flush=True)
        for problem in result.problems:
            print(f"    {problem}", flush=True)
    caught, total = score(results)
    seconds = round(time.monotonic() - clock, 1)
    fsio.write_json(args.reports / RESULT_FILE, {
        "schema": SCHEMA, "started": started, "seconds": seconds, "depth": args.depth,
        "selected": args.names, "score": {"caught": caught, "total": total}, "cases": records})
    print(f"corpus: {caught}/{total} caught in {seconds:.0f} s ({args.reports / RESULT_FILE})")
    return 0 if caught == total else 1


if __name__ == "__main__":
    sys.exit(main())
