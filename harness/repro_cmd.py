"""`nox -s repro -- FEATURE ROW`: rebuild a bundle's environment from its lock and check that it reproduces.

    python -m harness.repro_cmd FEATURE ROW [--run RUN_ID] [--reports DIR] [--timeout S] [--keep]

Reads `<run>/repro/<FEATURE>--<ROW>/` (written by the report, harness/repro.py), creates a fresh uv venv
with the row's Python in a temporary folder, syncs it to `requirements.lock` (exactly the row's packages),
records `torch.__config__.show()` there into environment.txt, runs `repro.py` with no harness on the path,
and compares the last line it prints with the failure's first line (harness/status.py: normalise,
first_line). A crash reproduces when the script dies from the same signal, a timeout when it outruns
`--timeout`. The outcome goes to verification.json and README.md (*verified* only when it reproduced).

Exit status: 0 reproduced, 1 did not reproduce (or the environment could not be rebuilt), 2 usage error
(no such run or bundle, a bundle without a script).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from harness import fsio, isolate, repro, settings, summary
from harness.uv import binary as uv_binary
from harness.status import first_line

USAGE_ERROR = 2
INSTALL_TIMEOUT = 1800  # s: a cold CUDA torch is several GB
TORCH_CONFIG = "import torch; print(torch.__config__.show())"


# Beyond status.normalise: random names a failure may carry (temporary files, promise files), never the cause.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def same_line(expected: str, got: str) -> bool:
    """Whether two first lines (already normalised) name the same failure, random UUIDs aside."""
    return UUID.sub("<uuid>", expected) == UUID.sub("<uuid>", got)


def outcome(target: repro.Target, ran: isolate.Completed | None, problem: str = "",
            timing: dict | None = None) -> tuple[bool, str]:
    """(reproduced, what came back) for a run of the script: `ran` is None when it crashed or timed out,
    `problem` then says how (isolate's message). A regression (`timing`: ratio, base_value_s) reproduces when
    the fastest round is at least half the slowdown above the reference figure."""
    expected = first_line(target.message)
    if timing and ran is not None:
        figure = re.search(r"^benchmark: median (\S+) s, min (\S+) s", ran.stdout, re.MULTILINE)
        if ran.returncode != 0 or not figure:
            return False, first_line(ran.stdout.splitlines()[-1] if ran.stdout.strip() else ran.stderr)
        fastest = float(figure.group(2))
        bound = timing["base_value_s"] * (1 + (timing["ratio"] - 1) / 2)
        return fastest >= bound, f"fastest round {fastest:.6g} s (reproduces at >= {bound:.6g} s)"
    if ran is None:
        signal = re.search(r"\bSIG[A-Z]+\b", problem)
        if target.status == "crash":
            same = signal is not None and signal.group(0) in target.message
            return same, first_line(problem)
        return target.status == "timeout" and "exceeded" in problem, first_line(problem)
    lines = [line for line in ran.stdout.splitlines() if line.strip()]
    got = first_line(lines[-1]) if lines else ""
    return ran.returncode == 1 and same_line(expected, got), got


def _uv(args: list[str], timeout: float = INSTALL_TIMEOUT) -> isolate.Completed:
    try:
        return isolate.run([uv_binary(), *args], timeout)
    except (isolate.CheckTimeout, isolate.CheckCrashed) as exc:
        return isolate.Completed(1, "", str(exc))


def rebuild(venv: Path, python: str, lock: Path) -> str:
    """Create `venv` with `python` (a version, "3.11.7"; its minor if uv lacks that patch) and sync it to
    `lock`; returns "" or the problem, one line."""
    made = None
    for version in dict.fromkeys([python, ".".join(python.split(".")[:2])]) if python else [sys.executable]:
        made = _uv(["venv", "--quiet", "--python", version, str(venv)])
        if made.returncode == 0:
            break
    if made is None or made.returncode != 0:
        return f"cannot create a venv with Python {python}: {first_line(made.stderr if made else '')}"
    synced = _uv(["pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"), str(lock)])
    if synced.returncode != 0:
        return f"uv pip sync {lock.name} failed: {first_line(synced.stderr) or synced.returncode}"
    return ""


def verify(folder: Path, timeout: float, keep: Path | None = None) -> repro.Verification:
    """Rebuild the bundle's environment, run its script, and record the outcome in the bundle."""
    bundle = fsio.read_json(folder / "bundle.json")
    target = repro.Target(*(bundle[k] for k in ("feature", "row", "status", "message", "test")))
    env = settings.child_env()
    env.pop("PYTHONPATH", None)  # standalone: the script must not find the harness
    with tempfile.TemporaryDirectory(prefix="repro-") as scratch:
        venv = keep or Path(scratch) / "venv"
        started = time.monotonic()
        problem = rebuild(venv, bundle.get("env", {}).get("python", ""), folder / "requirements.lock")
        install_s = time.monotonic() - started
        ran, crashed, run_s, got, reproduced = None, "", 0.0, "", False
        if not problem:
            python = str(venv / "bin" / "python")
            try:
                config = isolate.run([python, "-c", TORCH_CONFIG], 120, env=env)
                if config.returncode == 0:
                    fsio.write_text(folder / "environment.txt", _with_config(folder, config.stdout))
            except (isolate.CheckTimeout, isolate.CheckCrashed):
                pass  # a torch that cannot say its configuration: the script shows why
            started = time.monotonic()
            try:
                ran = isolate.run([python, "repro.py"], timeout, cwd=folder, env=env)
                fsio.write_text(folder / "repro.log", ran.stdout + ran.stderr)
            except (isolate.CheckTimeout, isolate.CheckCrashed) as exc:
                crashed = str(exc)
                fsio.write_text(folder / "repro.log", crashed)
            run_s = time.monotonic() - started
            reproduced, got = outcome(target, ran, crashed, bundle.get("timing"))
    verification = repro.Verification(
        reproduced=reproduced, expected=first_line(target.message), got=got,
        returncode=ran.returncode if ran else None, install_s=round(install_s, 1), run_s=round(run_s, 1),
        when=summary.now(), note=problem or ("" if reproduced else "see repro.log"),
        files_sha256=repro.files_digest(folder))
    fsio.write_json(folder / repro.VERIFICATION, asdict(verification))
    fsio.write_text(folder / "README.md", repro.readme(bundle, verification))
    return verification


def _with_config(folder: Path, config: str) -> str:
    text = (folder / "environment.txt").read_text(encoding="utf-8")
    head, marker, tail = text.partition("torch.__config__.show():\n")
    if not marker:
        return text
    rest = tail.partition("\n\n")[2]
    return head + marker + "".join(f"  {line}\n" for line in config.splitlines()) + "\n" + rest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nox -s repro --", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("feature")
    p.add_argument("row")
    p.add_argument("--run", default=None, help="run id (default: the newest run)")
    p.add_argument("--reports", type=Path, default=settings.current().reports)
    p.add_argument("--timeout", type=float, default=1800.0, help="bound on the script's run, s")
    p.add_argument("--keep", type=Path, default=None, help="build the venv here and keep it (default: a "
                                                              "temporary folder, removed afterwards)")
    args = p.parse_args(argv)
    run_dir = summary.runs_dir(args.reports) / args.run if args.run else summary.latest_run(args.reports)
    if run_dir is None or not run_dir.is_dir():
        which = f" {args.run}" if args.run else ""
        print(f"error: no run{which} under {summary.runs_dir(args.reports)}", file=sys.stderr)
        return USAGE_ERROR
    target = repro.Target(args.feature, args.row, "", "", "")
    folder = run_dir / target.folder
    if not (folder / "bundle.json").is_file():
        print(f"error: {folder}: no bundle (the report writes one for each new failure: fail, error, crash, "
              f"timeout, and for each confirmed regression)", file=sys.stderr)
        return USAGE_ERROR
    if not (folder / "repro.py").is_file() or not (folder / "requirements.lock").is_file():
        missing = "repro.py" if not (folder / "repro.py").is_file() else "requirements.lock"
        print(f"error: {folder}: the bundle has no {missing} (its README.md says why)", file=sys.stderr)
        return USAGE_ERROR
    with isolate.guard():
        found = verify(folder, args.timeout, args.keep)
    total = found.install_s + found.run_s
    if found.reproduced:
        print(f"verified: {args.feature} on {args.row} reproduces ({found.expected}) in {total:.0f} s "
              f"(environment {found.install_s:.0f} s, script {found.run_s:.0f} s): {folder / 'README.md'}")
        return 0
    print(f"not reproduced: {args.feature} on {args.row}: expected {found.expected!r}, got {found.got!r}"
          f"{' (' + found.note + ')' if found.note else ''}; {folder / 'repro.log'}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
