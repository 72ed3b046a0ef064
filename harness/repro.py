"""Reproduction bundles: for every new failure of a run, what an upstream issue needs, in one folder.

`write_bundles(run_dir, summary)` (called by the report once expectations are applied) writes, for each
cell whose status is `fail`, `error`, `crash` or `timeout` (a `known-failure` is not new), the folder
`<run>/repro/<feature>--<row>/`:

    requirements.lock   the row's lock (uv pip compile of its pins and the suites' requirements)
    repro.py            the check as a standalone script (harness/repro_script.py), no import of the harness
    environment.txt     Python, platform, the row's versions, CUDA builds, the freeze (torch.__config__.show()
                        is added by `nox -s repro`, which runs in the rebuilt environment)
    README.md           written to be pasted into an upstream issue
    bundle.json         what `nox -s repro` needs: the test, the failure's first line, the Python version

and records the folder in the cell (`cell["repro"] = "repro/<feature>--<row>/"`) for the report's link.
`nox -s repro -- FEATURE ROW` (harness/repro_cmd.py) rebuilds the environment from the lock, runs the script
and rewrites README.md with the outcome: the bundle says *verified* only when the failure's first line came back.
The texts are built by pure functions; files are written at the edge (`write_bundle`).
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import external, fsio, runs
from harness.collect import module_of
from harness.status import Status, first_line

REPRO = "repro"
NEW_FAILURES = {Status.FAIL.value, Status.ERROR.value, Status.CRASH.value, Status.TIMEOUT.value}
SHOWN_VERSIONS = ("torch", "torchvision", "torchaudio", "torchtext", "torchcodec", "torchdata", "numpy",
                  "onnx", "onnxruntime")


@dataclass(frozen=True)
class Target:
    """One new failure: a feature's cell in one row."""

    feature: str
    row: str
    status: str
    message: str     # the cell's message (its first line is what must come back)
    test: str        # the failing check, relative to the suites ("" when no single check failed)

    @property
    def folder(self) -> str:
        """`repro/<feature>--<row>/`, relative to the run folder (path separators in a name become _)."""
        return f"{REPRO}/{self.feature.replace('/', '_')}--{self.row.replace('/', '_')}/"


@dataclass(frozen=True)
class Verification:
    """What `nox -s repro` found: the first line it expected and the one it got, and the time it took (s)."""

    reproduced: bool
    expected: str
    got: str
    returncode: int | None
    install_s: float
    run_s: float
    when: str
    note: str = ""
    files_sha256: str = ""  # of repro.py and requirements.lock as they were run: a new script is unverified


def files_digest(folder: Path) -> str:
    """sha256 over the bundle's repro.py and requirements.lock ("" for a missing one)."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("repro.py", "requirements.lock"):
        path = folder / name
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def targets(summary: dict) -> list[Target]:
    """Every new failure of `summary` (expectations applied), rows in order, features sorted."""
    found = []
    for row in summary.get("rows", []):
        for fid, cell in sorted(row.get("features", {}).items()):
            if cell.get("status") in NEW_FAILURES:
                found.append(Target(fid, row["name"], cell["status"], cell.get("message", ""), cell.get("test", "")))
    return found


def last_good(summary: dict, history: list[dict], target: Target) -> str:
    """Where this feature last passed: another row of this run, else this row in the newest earlier run
    (`history` oldest first); "" when nowhere."""
    for row in summary.get("rows", []):
        if row["name"] != target.row and row.get("features", {}).get(target.feature, {}).get("status") == "pass":
            return f"row `{row['name']}` of this run ({_versions(row.get('installed') or {})}) passes this check"
    for run in reversed(history):
        for row in run.get("rows", []):
            if row.get("name") == target.row and \
                    row.get("features", {}).get(target.feature, {}).get("status") == "pass":
                return f"this row passed it in run `{run.get('run_id')}` ({_versions(row.get('installed') or {})})"
    return ""


def environment_text(env: dict, torch_config: str = "") -> str:
    """environment.txt from the row's env.json (python, platform, installed, cuda_builds, freeze)."""
    lines = [f"python: {env.get('python', '?')}", f"platform: {env.get('platform', '?')}", "", "versions:"]
    lines += [f"  {k}=={v}" for k, v in sorted((env.get("installed") or {}).items())]
    if env.get("cuda_builds"):
        lines += ["", "CUDA builds:"] + [f"  {k}: {v}" for k, v in sorted(env["cuda_builds"].items())]
    lines += ["", "torch.__config__.show():"]
    lines += ["  " + line for line in torch_config.splitlines()] if torch_config.strip() else [
        "  (recorded by `nox -s repro`, in the environment it rebuilds from requirements.lock)"]
    lines += ["", "pip freeze:"] + [f"  {line}" for line in env.get("freeze", [])]
    return "\n".join(lines) + "\n"


def readme_text(target: Target, description: str, docstring: str, env: dict, run_id: str, good: str,
                notes: tuple[str, ...] = (), verification: Verification | None = None,
                timing: dict | None = None, *, locked: bool = True, external: bool = False) -> str:
    """README.md of a bundle: expected, happened, versions, last good, the commands; the status line says
    *verified* only when `verification` reproduced the failure's first line. `locked`: the bundle holds the
    row's requirements.lock (a `harness here` row installed nothing, so it has none); `external`: the check
    is a team project's own test (harness.external), not one of the harness's suites."""
    line = first_line(target.message) or target.status
    installed = env.get("installed") or {}
    python = env.get("python", "3")
    if verification is None and not locked:
        status = ("**Status: not verifiable from this bundle.** The row checked the environment it ran in and "
                  "installed nothing, so there is no `requirements.lock` to rebuild it from: run `repro.py` with "
                  "that environment's Python (its pip freeze is in `environment.txt`).")
    elif verification is None:
        status = (f"**Status: not yet verified.** Run `nox -s repro -- {target.feature} {target.row}` in the "
                  f"harness to rebuild the environment from `requirements.lock` and check that it reproduces.")
    elif verification.reproduced:
        status = (f"**Status: verified** ({verification.when}): an environment rebuilt from `requirements.lock` "
                  f"(install {verification.install_s:.0f} s) ran `repro.py` in {verification.run_s:.0f} s and "
                  + ("ran at least half the slowdown slower than the reference figure." if timing else
                     "failed with the same first line."))
    else:
        status = (f"**Status: did not reproduce** ({verification.when}): an environment rebuilt from "
                  f"`requirements.lock` ran `repro.py`, which ended with `{verification.got or '(no output)'}` "
                  f"(exit {verification.returncode}){'; ' + verification.note if verification.note else ''}.")
    parts = [
        f"# `{target.feature}` {target.status}s with {_versions(installed) or target.row}: {line}", "",
        status, "",
        "## What was expected", "",
        description or target.feature,
    ]
    if target.test:
        parts += ["", f"The check `{target.test}`" + (f": {docstring}" if docstring else ".")]
    parts += ["", "## What happened", "", f"Status `{target.status}`:", "", "```", target.message.strip() or line,
              "```"]
    if timing:
        parts += ["", f"The benchmark's figure (CPU time, seconds): {timing['value_s']:.6g} in this run against "
                      f"{timing['base_value_s']:.6g} before it; {timing['ratio']:.2f}x for {timing['base']}, "
                      f"confirmed across the night's series. `repro.py` prints the median and minimum of its "
                      f"rounds; timings depend on the "
                      f"machine, so compare them with the same script in the reference environment."]
    parts += ["", "## Versions", "", "| | |", "| --- | --- |", f"| Python | {python} |",
              f"| platform | {env.get('platform', '?')} |"]
    parts += [f"| {k} | {installed[k]} |" for k in SHOWN_VERSIONS if installed.get(k)]
    parts += ["", "The whole environment (pip freeze, CUDA builds, `torch.__config__.show()`) is in "
                  "`environment.txt`; the exact lock in `requirements.lock`.", "", "## Last good", "",
              (good[0].upper() + good[1:] + ".") if good else "No row of this run and no earlier run of this row "
                                                             "passed this check.", "",
              "## Reproduce", ""]
    if target.test:
        outcome = "prints the benchmark's figure" if timing else "exit 1, the failure's first line printed last"
        setup = [f"uv venv --python {python} venv", "uv pip sync --python venv/bin/python requirements.lock"]
        parts += ["```sh", *(setup if locked else []),
                  f"{'venv/bin/python' if locked else 'python'} repro.py   # {outcome}"
                  + ("" if locked else " (the environment's own python)"), "```", ""]
        parts += [("`repro.py` is the project's own test with its fixtures inlined from its conftest, seeded as "
                   "in the run; it imports what the test imports.") if external else
                  ("`repro.py` is the harness's check with its model or data builder, its comparison and its "
                   "tolerance (with the reason) inlined, seeded as in the run; it imports nothing of the harness.")]
    else:
        parts += [f"No single check to run ({line}), so there is no script: install `requirements.lock` and "
                  f"import the libraries."]
    parts += [f"- note: {note}" for note in notes]
    parts += ["", f"Found by the compatibility harness, run `{run_id}`, row `{target.row}`. In the harness: "
                  f"`nox -s repro -- {target.feature} {target.row}`."]
    return "\n".join(parts) + "\n"


def _versions(installed: dict) -> str:
    return ", ".join(f"{k} {installed[k]}" for k in SHOWN_VERSIONS[:4] if installed.get(k))


def test_docstring(test_id: str, suites: Path) -> str:
    """The check's docstring, on one line ("" when it has none or the module is unreadable)."""
    import ast

    path, _, rest = test_id.partition("::")
    name = rest.partition("[")[0].split("::")[-1]
    try:
        tree = ast.parse((suites / module_of(path)).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return " ".join((ast.get_docstring(node) or "").split())
    return ""


def write_bundle(run_dir: Path, target: Target, summary: dict, history: list[dict], suites: Path,
                 timing: dict | None = None) -> Path:
    """Write one bundle (see the module docstring); returns its folder. A check the generator cannot inline
    gets a bundle without repro.py, its README saying why."""
    from harness.repro_script import ReproError, standalone_script

    folder = run_dir / target.folder
    row_dir = run_dir / "rows" / target.row
    env = fsio.read_json(row_dir / "env.json") if (row_dir / "env.json").exists() else {}
    folder.mkdir(parents=True, exist_ok=True)
    if (row_dir / "requirements.lock").exists():
        shutil.copyfile(row_dir / "requirements.lock", folder / "requirements.lock")
    notes: tuple[str, ...] = ()
    if not (row_dir / "requirements.lock").exists():
        notes = ("no requirements.lock: the row installed nothing (`nox -s here` checks the environment it runs in); "
                 "environment.txt's pip freeze lists that environment",)
    if target.test:
        header = f"{target.feature} {target.status}s on row {target.row} (run {summary.get('run_id')}):\n" \
                 f"    {first_line(target.message)}"
        test_id, root = target.test, suites
        project = _external_project(run_dir, target.feature)
        if project is not None:  # a team's module: inlined from its own project, as pytest ran it there
            test_id, root = target.test.removeprefix(f"ext/{project.name}/"), project.path
            notes += (f"the check is {project.name}'s own test, inlined from its folder {project.path.name}/; it "
                      f"imports what the project's tests import, so run it with the project installed in the venv "
                      f"(as the row did) or from the project's folder",)
        try:
            script = standalone_script(test_id, root, summary.get("depth", "quick"), header)
            fsio.write_text(folder / "repro.py", script.text)
            notes += script.notes
        except (ReproError, SyntaxError, OSError, ValueError) as exc:
            notes += (f"no standalone script: {exc}",)
            print(f"warning: {target.folder}: no standalone script: {exc}", file=sys.stderr)
    description = (summary.get("features", {}).get(target.feature) or {}).get("description", "")
    fsio.write_text(folder / "environment.txt", environment_text(env))
    bundle = {**asdict(target), "run_id": summary.get("run_id"), "notes": list(notes), "description": description,
              "docstring": test_docstring(target.test, suites), "last_good": last_good(summary, history, target),
              "env": {k: v for k, v in env.items() if k != "freeze"}, "timing": timing,
              "locked": (folder / "requirements.lock").exists(), "external": external.is_external(target.feature)}
    fsio.write_json(folder / "bundle.json", bundle)
    fsio.write_text(folder / "README.md", readme(bundle, read_verification(folder, target)))
    return folder


def _external_project(run_dir: Path, feature: str):
    """The team project (harness.external.External) an `ext.<name>.<module>` feature of this run came from,
    as the run's run.json recorded it; None for the harness's own features or a project the run did not name."""
    if not external.is_external(feature):
        return None
    name = feature.split(".")[1]
    projects = external.run_externals(runs.read_json(run_dir / runs.RUN_META, None))
    return next((p for p in projects if p.name == name), None)


def readme(bundle: dict, verification: Verification | None = None) -> str:
    """README.md from a bundle.json's contents (and the verification, if one ran)."""
    target = Target(*(bundle[k] for k in ("feature", "row", "status", "message", "test")))
    return readme_text(target, bundle.get("description", ""), bundle.get("docstring", ""), bundle.get("env", {}),
                       str(bundle.get("run_id")), bundle.get("last_good", ""), tuple(bundle.get("notes", ())),
                       verification, bundle.get("timing"), locked=bundle.get("locked", True),
                       external=bundle.get("external", False))


VERIFICATION = "verification.json"


def read_verification(folder: Path, target: Target) -> Verification | None:
    """The verification a previous `nox -s repro` left, if it checked this same failure's first line with the
    same script and lock."""
    try:
        found = Verification(**fsio.read_json(folder / VERIFICATION))
    except (OSError, ValueError, TypeError):
        return None
    same = found.expected == first_line(target.message) and found.files_sha256 == files_digest(folder)
    return found if same else None


def regression_targets(summary: dict, regressions) -> list[tuple[Target, dict]]:
    """(target, timing) for each confirmed benchmark regression (harness.perf.Comparison): the feature whose
    check is the benchmark, and the figures it was judged on (seconds; `ratio` new over base)."""
    found = []
    for c in regressions:
        row = next((r for r in summary.get("rows", []) if r["name"] == c.row), None)
        if row is None:
            continue
        test = str(((row.get("benchmarks") or {}).get(c.benchmark) or {}).get("fullname", ""))
        feature = next((fid for fid, cell in sorted(row.get("features", {}).items()) if cell.get("test") == test),
                       c.benchmark)
        found.append((Target(feature, c.row, "regression", c.describe(), test),
                      {"ratio": c.ratio, "value_s": c.value_s, "base_value_s": c.base_value_s, "base": c.base}))
    return found


def write_bundles(run_dir: Path, summary: dict, history: list[dict] | tuple = (), regressions=(),
                  suites: Path | None = None) -> list[Path]:
    """A bundle for every new failure of `summary` and every confirmed regression (harness.perf.Comparison),
    each recorded in its cell (`repro`); returns the folders."""
    from harness import settings

    suites = suites or settings.current().suites
    folders = []
    timed = regression_targets(summary, regressions)
    timings = {t.folder: timing for t, timing in timed}
    found = targets(summary) + [t for t, _ in timed]
    wanted = {t.folder.rstrip("/").rpartition("/")[2] for t in found}
    for stale in sorted((run_dir / REPRO).glob("*")) if (run_dir / REPRO).is_dir() else ():
        if stale.is_dir() and stale.name not in wanted:  # a failure that is no longer new (or fixed)
            shutil.rmtree(stale)
    for target in found:
        folders.append(write_bundle(run_dir, target, summary, list(history), suites, timings.get(target.folder)))
        row = next(r for r in summary["rows"] if r["name"] == target.row)
        if target.feature in row["features"]:
            row["features"][target.feature]["repro"] = target.folder
    return folders
