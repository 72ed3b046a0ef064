"""What to run to explain a red cell or a slowdown: the exact `nox -s bisect` command, and the stored
result when a bisect already ran.

    nox -s bisect -- FEATURE --good ROW --bad ROW          (README: "Bisecting across releases";
    nox -s bisect -- 'BENCHMARK' --good ROW --bad ROW       python -m harness.bisection --help)

* A new failure: a cell whose status is fail, error, crash or timeout (an expected one reads
  known-failure, so it is not here). Good end: the nearest row of the run (in the matrix's order; on a
  tie, the earlier row) where the feature passed.
* A slowdown: a cross-row comparison (harness.perf.Comparison, kind "rows") whose verdict is `slower`,
  not covered by a known [[slowdown]], with a ratio above 1 + SLOWDOWN. Good end: the nearest row where
  the benchmark was fast: the reference row or a row whose comparison is not `slower`. The target is the
  benchmark's test name, which the bisect accepts (it names one benchmark of the suites).

A bisect's result explains the cell `<row>/<target>` (harness.bisection.result.links); a hint carries that
link when one is stored. Pure functions over the summary and the PerfReport (or its to_json() dict).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from harness.repro import NEW_FAILURES

SLOWDOWN = 0.10   # a cross-row slowdown above 10 % gets a bisect command


@dataclass(frozen=True)
class Hint:
    kind: str            # "failure" or "slowdown"
    target: str          # the feature id, or the benchmark's test name
    row: str             # the bad row
    good: str            # the good row ("" when no row of the run passes / is fast)
    what: str            # "fail", "error", ... or "1.32x of torch-2.3"
    command: str         # the bisect command ("" without a good row)
    link: dict | None = None   # {"href", "text"} of a stored result (bisection.result.links)

    @property
    def anchor(self) -> str:
        """Where the report shows what it explains: the grid cell, or the benchmark's row."""
        if self.kind == "failure":
            return f"cell-{self.row}-{self.target}"
        from harness.perf import anchor

        return anchor(self.target, self.row)


def command(target: str, good: str, bad: str) -> str:
    """`nox -s bisect -- TARGET --good GOOD --bad BAD`, each word quoted for a POSIX shell."""
    return " ".join(["nox", "-s", "bisect", "--", shlex.quote(target), "--good", shlex.quote(good),
                     "--bad", shlex.quote(bad)])


def nearest(rows: list[str], bad: str, good: set[str]) -> str:
    """The row of `good` nearest to `bad` in `rows` (on a tie, the earlier one); "" when there is none."""
    where = rows.index(bad)
    candidates = sorted((abs(i - where), i > where, name) for i, name in enumerate(rows)
                        if name in good and name != bad)
    return candidates[0][2] if candidates else ""


def failure_hints(summary: dict, bisects: dict[str, dict] | None = None) -> list[Hint]:
    """A Hint for every new failure of `summary`, rows in order, features sorted."""
    rows = [row["name"] for row in summary.get("rows", [])]
    bisects = bisects or {}
    out = []
    for row in summary.get("rows", []):
        for fid, cell in sorted((row.get("features") or {}).items()):
            status = cell.get("status") if isinstance(cell, dict) else None
            if status not in NEW_FAILURES:
                continue
            passing = {r["name"] for r in summary["rows"]
                       if (r.get("features") or {}).get(fid, {}).get("status") == "pass"}
            good = nearest(rows, row["name"], passing)
            out.append(Hint("failure", fid, row["name"], good, str(status),
                            command(fid, good, row["name"]) if good else "", bisects.get(f"{row['name']}/{fid}")))
    return out


def _field(obj, name: str):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def slowdown_hints(perf, bisects: dict[str, dict] | None = None,
                   features: dict[str, list[str]] | None = None) -> list[Hint]:
    """A Hint for every cross-row slowdown above SLOWDOWN in `perf` (a PerfReport or its to_json()),
    largest first. `features` ({feature id: [benchmarks]}, perf_table.feature_benchmarks) lets a bisect
    stored under the benchmark's feature id count as its result too."""
    if perf is None:
        return []
    rows = list(_field(perf, "rows") or [])
    cross = list(_field(perf, "cross_row") or [])
    owner = {bench: fid for fid, names in (features or {}).items() for bench in names}
    bisects = bisects or {}
    slow = {(_field(c, "benchmark"), _field(c, "row")) for c in cross if _field(c, "verdict") == "slower"}
    out: list[tuple[float, Hint]] = []
    for c in cross:
        bench, row, ratio = _field(c, "benchmark"), _field(c, "row"), float(_field(c, "ratio"))
        if _field(c, "verdict") != "slower" or _field(c, "expected") or ratio <= 1 + SLOWDOWN or row not in rows:
            continue
        measured = {_field(o, "row") for o in cross if _field(o, "benchmark") == bench} | {_field(c, "base")}
        fast = {r for r in measured if (bench, r) not in slow}
        good = nearest(rows, row, fast)
        link = bisects.get(f"{row}/{bench}") or (bisects.get(f"{row}/{owner[bench]}") if bench in owner else None)
        out.append((ratio, Hint("slowdown", bench, row, good, f"{ratio:.2f}x of {_field(c, 'base')}",
                                command(bench, good, row) if good else "", link)))
    return [hint for _, hint in sorted(out, key=lambda pair: -pair[0])]  # the largest slowdown first


def hints(summary: dict, perf=None, bisects: dict[str, dict] | None = None,
          features: dict[str, list[str]] | None = None) -> list[Hint]:
    """failure_hints, then slowdown_hints: what the report's "Next steps" box lists."""
    return failure_hints(summary, bisects) + slowdown_hints(perf, bisects, features)
