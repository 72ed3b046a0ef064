"""`python -m harness plan --tag TAG [--rows A,B]`: the rows of one CI run as a GitHub Actions matrix.

    python -m harness plan --tag nightly              every row session tagged `nightly`
    python -m harness plan --tag ci --rows torch-2.3  only these rows (comma-separated), tag or not

Prints {"include": [{"row": "torch-2.3", "session": "matrix(torch-2.3)"}, ...]} and, under
GitHub Actions ($GITHUB_OUTPUT set), writes `matrix`, `rows` and `run-id` there. Every row job of
the run gets the same run id ($HARNESS_RUN_ID, else a new one), so the folders they upload merge
into one run. Exit 2 when nothing matches (an empty strategy.matrix would fail less clearly).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import isolate, settings, summary
from harness.commands import CommandError

SESSION = re.compile(r"^matrix\((?P<row>[^()]+)\)$")
NOX_LIST_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Plan:
    include: list[dict[str, str]]   # [{"row": NAME, "session": "matrix(NAME)"}], the matrix's order
    run_id: str

    @property
    def matrix(self) -> str:
        """The strategy matrix as compact JSON."""
        return json.dumps({"include": self.include}, separators=(",", ":"))

    @property
    def rows(self) -> list[str]:
        return [item["row"] for item in self.include]


def nox_sessions(noxfile: Path = settings.ROOT / "noxfile.py") -> list[dict]:
    """What `nox -l --json -s matrix` says about the row sessions (loading validates the matrix).

    Raises CommandError with nox's message when nox fails (a malformed matrix)."""
    proc = isolate.run([sys.executable, "-m", "nox", "-f", str(noxfile), "-l", "--json", "-s", "matrix"],
                       NOX_LIST_TIMEOUT_S, cwd=noxfile.parent)
    if proc.returncode != 0:
        raise CommandError(f"nox -l failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return checked(json.loads(proc.stdout), "nox -l --json")


def checked(data: object, source: object) -> list[dict]:
    """`data` (parsed `nox -l --json` output) when it is a list of session objects, each with a
    string `session`. Raises CommandError naming `source` and the first entry that is not."""
    if not isinstance(data, list):
        raise CommandError(f"{source}: not a list of nox sessions (a {type(data).__name__})")
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("session"), str):
            raise CommandError(f"{source}: entry {i} is not a nox session object with a 'session' name: {entry!r}")
    return data


def select(sessions: list[dict], tag: str | None, rows: list[str]) -> list[dict[str, str]]:
    """The matrix's `include` list: row sessions with `tag` (None: all), or exactly the `rows` named.

    Raises CommandError naming rows that no session has, or when nothing matches."""
    include = []
    for entry in sessions:
        found = SESSION.match(entry.get("session", ""))
        if entry.get("name") != "matrix" or not found:
            continue
        row = found["row"]
        if (row in rows) if rows else (tag is None or tag in entry.get("tags", [])):
            include.append({"row": row, "session": entry["session"]})
    unknown = sorted(set(rows) - {item["row"] for item in include})
    if unknown:
        raise CommandError(f"no matrix row named {', '.join(unknown)}")
    if not include:
        raise CommandError(f"no matrix row is tagged {tag!r}")
    return include


def run(sessions: list[dict], tag: str | None, rows: list[str], env: settings.Settings) -> Plan:
    """The plan for `sessions` (`nox -l --json` output); writes the step outputs to
    `env.github_output` when set. Raises CommandError as `select` does, OSError when the output
    file cannot be written."""
    plan = Plan(select(sessions, tag, rows), env.run_id or summary.new_run_id())
    if env.github_output:
        with open(env.github_output, "a", encoding="utf-8") as out:
            out.write(f"matrix={plan.matrix}\nrows={','.join(plan.rows)}\nrun-id={plan.run_id}\n")
    return plan


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", default=None, help="only row sessions with this tag (matrix.toml `tags`)")
    p.add_argument("--rows", default="", help="comma-separated row names; overrides --tag")
    p.add_argument("--nox-json", type=Path, default=None, help="read this `nox -l --json` output instead")


def main(args: argparse.Namespace) -> int:
    try:
        sessions = checked(json.loads(args.nox_json.read_text()), args.nox_json) if args.nox_json else nox_sessions()
    except json.JSONDecodeError as exc:
        raise CommandError(f"{args.nox_json or 'nox -l --json'}: not JSON ({exc})") from exc
    plan = run(sessions, args.tag, [r.strip() for r in args.rows.split(",") if r.strip()], settings.current())
    print(plan.matrix)
    print(f"run {plan.run_id}: {', '.join(plan.rows)}", file=sys.stderr)
    return 0
