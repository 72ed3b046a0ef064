"""External suites: a team's own pytest project, installed into each row and run there beside the harness.

An external project comes from `nox -s matrix -- --external PATH` (repeatable) or a top-level
`[[external]]` table of the matrix file (`path`, optional `install`, optional `name`). In each row it is
installed into the row's environment, constrained to what the row already holds (so it can never move
the row's torch), and its tests run in their OWN pytest invocation, with the project's rootdir, ini
file and conftest, after the harness's phases and under the same row bound. The harness plugin is
loaded into that pytest (`-p harness.plugin -p harness.external_plugin`), so the statuses, crash and
timeout handling, expectations and report cells are the same as for the harness's suites.

Each test module is a feature `ext.<name>.<module>` (`tests/test_audio_io.py` -> `ext.team.audio_io`);
a test that carries the project's own `@pytest.mark.feature("x.y")` is feature `ext.<name>.x.y`.

Files, per row: `<row>/external/<name>/` holds install.json, constraints.txt, results.jsonl (node ids
relative to the project), features.json (id -> description), junit.xml. `records(row_dir)` gives those
results with node ids prefixed `ext/<name>/`, as they join the row's own.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from harness import fsio, isolate
from harness.artefacts import InstallRecord, InstallStatus, TestResult
from harness.collect import RESULTS, read_records
from harness.matrix import CONTROL_OR_SPACE, MatrixError
from harness.registry import Feature
from harness.status import Status, first_line

KEYS = {"path", "install", "name"}
NO_SUITES = "none"                      # `--suites none`: only the external suites run
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FOLDER = "external"                     # <row>/external/<name>/
FEATURES = "features.json"
INSTALL = "install.json"
SKIP_DIRS = {".git", ".nox", ".tox", ".venv", "venv", "build", "dist", "node_modules", "__pycache__"}
INI_FILES = (("pytest.ini", ""), (".pytest.ini", ""), ("pyproject.toml", "[tool.pytest"),
             ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]"))
INSTALL_TIMEOUT = 900.0                 # s: the project and its own dependencies, from uv's cache


class ExternalError(MatrixError):
    """A malformed external entry; the text names the file (or the command line), the entry and the field."""

    def __init__(self, where: Path | str, entry: str, field: str | None, problem: str):
        text = f"{where}: external {entry}" + (f": field '{field}'" if field else "") + f": {problem}"
        ValueError.__init__(self, text)
        self.path, self.row, self.field, self.problem = str(where), entry, field, problem


@dataclass(frozen=True)
class External:
    """One external project. `path` is absolute; `install` are `uv pip install` arguments (empty: nothing
    to install); `select` are pytest targets inside the project (empty: the whole project)."""

    name: str
    path: Path
    install: tuple[str, ...] = ()
    select: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {**asdict(self), "path": str(self.path), "install": list(self.install), "select": list(self.select)}

    @classmethod
    def from_json(cls, data: dict) -> "External":
        return cls(data["name"], Path(data["path"]), tuple(data.get("install", ())), tuple(data.get("select", ())))


# ---- validation ---------------------------------------------------------------------------------

def _ident(text: str) -> str:
    """`Audio-IO` -> `audio_io`: a segment of a feature id."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "_"


def _install_args(where, entry: str, text: object, base: Path, project: Path) -> tuple[str, ...]:
    """The `install` field as uv arguments: `-e PATH`, requirement strings, or paths (relative to `base`)."""
    if text is None:  # default: the project itself, editable, when it is a package
        packaged = any((project / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg"))
        return ("-e", str(project)) if packaged else ()
    if not isinstance(text, str):
        raise ExternalError(where, entry, "install", "must be a string such as '-e PATH' or a requirement")
    if CONTROL_OR_SPACE.search(text.replace(" ", "")):
        raise ExternalError(where, entry, "install", f"{text!r} contains a control character")
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ExternalError(where, entry, "install", f"{text!r}: {exc}") from None
    args: list[str] = []
    for i, token in enumerate(tokens):
        if token in ("-e", "--editable"):
            if i + 1 == len(tokens) or tokens[i + 1].startswith("-"):
                raise ExternalError(where, entry, "install", f"{text!r}: {token} needs a path")
            args.append("-e")
            continue
        if token.startswith("-"):
            raise ExternalError(where, entry, "install", f"{text!r}: option {token} is not allowed "
                                "(only -e PATH, requirements and paths)")
        local = (base / os.path.expanduser(token))
        if args[-1:] == ["-e"] or token.startswith((".", "/", "~")):
            if not local.exists():
                raise ExternalError(where, entry, "install", f"{token!r}: no such path (relative to {base})")
            args.append(str(local.resolve()))
            continue
        try:
            Requirement(token)
        except InvalidRequirement as exc:
            raise ExternalError(where, entry, "install",
                                f"malformed requirement {token!r}: {first_line(str(exc))}") from None
        args.append(token)
    return tuple(args)


def check_entry(where: Path | str, index: int, raw: object, base: Path, seen: set[str]) -> External:
    """One `[[external]]` table (or `--external PATH`), validated; `base` resolves relative paths.

    Raises ExternalError naming `where`, the entry (`#N`) and the field."""
    entry = f"#{index + 1}"
    if not isinstance(raw, dict):
        raise ExternalError(where, entry, None, "must be a table ([[external]]) with a 'path'")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ExternalError(where, entry, unknown[0], f"unknown key (allowed: {', '.join(sorted(KEYS))})")
    given = raw.get("path")
    if not isinstance(given, str) or not given.strip():
        raise ExternalError(where, entry, "path", "missing: the folder of the project's tests")
    entry = f"#{index + 1} ({given})"
    path = (base / os.path.expanduser(given)).resolve()
    if not path.is_dir():
        raise ExternalError(where, entry, "path", f"no such folder ({path})")
    if not discover_modules(path):
        raise ExternalError(where, entry, "path", "no test modules (test_*.py or *_test.py) under it")
    name = raw.get("name", _ident(path.name))
    if not isinstance(name, str) or not NAME.match(name):
        raise ExternalError(where, entry, "name", f"{name!r} is not a name like 'team_models' (lower-case "
                            "letters, digits, '_'; a letter first; at most 40)" +
                            ("" if "name" in raw else ": it comes from the folder's name, so give one"))
    if name in seen:
        raise ExternalError(where, entry, "name", f"{name!r} is used twice: give each project its own name")
    seen.add(name)
    return External(name, path, _install_args(where, entry, raw.get("install"), base, path))


def check_externals(where: Path | str, raw: object, base: Path, seen: set[str] | None = None) -> tuple[External, ...]:
    """The matrix file's `[[external]]` tables (None: none), validated in order."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ExternalError(where, "#1", None, "must be an array of tables ([[external]])")
    seen = set() if seen is None else seen
    return tuple(check_entry(where, i, item, base, seen) for i, item in enumerate(raw))


def chosen(paths: tuple[str, ...], from_matrix: tuple[External, ...], suites: tuple[str, ...] = (),
           cwd: Path | None = None) -> tuple[External, ...]:
    """The externals of an invocation: the matrix file's, then each `--external PATH` (relative to `cwd`).

    Raises ExternalError for a bad path or a repeated name, and for `--suites none` with no external."""
    seen = {e.name for e in from_matrix}
    given = tuple(check_entry("command line --external", i, {"path": p}, cwd or Path.cwd(), seen)
                  for i, p in enumerate(paths))
    externals = from_matrix + given
    if NO_SUITES in suites and (len(suites) > 1 or not externals):
        raise ExternalError("command line --suites", "none", None, "'--suites none' runs only the external "
                            "suites: give --external PATH (or an [[external]] table) and no other --suites")
    return externals


# ---- modules and feature ids (pure) ---------------------------------------------------------

def discover_modules(path: Path) -> list[str]:
    """pytest's default test modules under `path` (test_*.py, *_test.py), relative POSIX paths, sorted."""
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for f in files:
            if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")):
                found.append(Path(folder, f).relative_to(path).as_posix())
    return sorted(found)


def module_feature(name: str, module: str) -> str:
    """`tests/io/test_audio.py` of project `team` -> `ext.team.io.audio` (a leading tests/ folder and the
    test_ prefix or _test suffix are dropped)."""
    parts = list(Path(module).with_suffix("").parts)
    if len(parts) > 1 and parts[0] in ("tests", "test"):
        parts = parts[1:]
    stem = parts[-1]
    parts[-1] = stem[5:] if stem.startswith("test_") else stem[:-5] if stem.endswith("_test") else stem
    return ".".join(["ext", name, *(_ident(p) for p in parts)])


def marker_feature(name: str, marker: str) -> str:
    """The project's own `@pytest.mark.feature("audio.io")` as `ext.<name>.audio.io`."""
    prefix = f"ext.{name}."
    body = marker[len(prefix):] if marker.startswith(prefix) else marker
    return prefix + ".".join(_ident(p) for p in body.split("."))


def is_external(feature: str) -> bool:
    return feature.startswith("ext.") and feature.count(".") >= 2


def prefix(name: str) -> str:
    """What a project's node ids gain in the row's records: `ext/<name>/`."""
    return f"ext/{name}/"


def prefixed(record: dict, name: str) -> dict:
    """One results.jsonl record of project `name` with its node ids as the row knows them."""
    p = prefix(name)
    out = dict(record)
    for key in ("test", "start", "collect_error"):
        if isinstance(out.get(key), str):
            out[key] = p + out[key]
    for key in ("collected", "not_applicable"):
        if isinstance(out.get(key), dict):
            out[key] = {p + k: v for k, v in out[key].items()}
    return out


def records(row_dir: Path) -> list[dict]:
    """Every external project's records of a row, node ids prefixed (see `prefixed`)."""
    out: list[dict] = []
    for folder in sorted(p for p in (Path(row_dir) / FOLDER).glob("*") if p.is_dir()):
        out += [prefixed(r, folder.name) for r in read_records(folder / RESULTS)]
    return out


def collected_features(run_dir: Path) -> dict[str, Feature]:
    """The ext.* features any row of a run collected (features.json), for the registry of its summary."""
    found: dict[str, Feature] = {}
    for path in sorted(Path(run_dir).glob(f"rows/*/{FOLDER}/*/{FEATURES}")):
        try:
            described = fsio.read_json(path)
        except (OSError, ValueError):
            continue
        for fid, text in (described if isinstance(described, dict) else {}).items():
            if is_external(fid):
                found.setdefault(fid, Feature(fid, str(text), f"ext.{path.parent.name}"))
    return found


def fallback_records(ext: External, status: Status, message: str) -> list[TestResult]:
    """One record per module when the project never reported (not installed, pytest could not start,
    the row's bound spent): each of its features gets `status` with `message`."""
    return [TestResult(module, [module_feature(ext.name, module)], status, message, time=time.time())
            for module in (ext.select or discover_modules(ext.path))]


# ---- in the row: install, then one pytest per project ---------------------------------------

def out_dir(row_out: Path, ext: External) -> Path:
    return Path(row_out) / FOLDER / ext.name


def ini_args(ext: External, out: Path) -> list[str]:
    """The project's own ini file is found from its folder; without one, an empty one of ours, so that
    pytest never climbs to an ini file above the project (the harness's own pyproject.toml)."""
    for name, marker in INI_FILES:
        f = ext.path / name
        if f.is_file() and (not marker or marker in f.read_text(encoding="utf-8", errors="replace")):
            return []
    fsio.write_text(out / "pytest.ini", "[pytest]\n")
    return ["-c", str(out / "pytest.ini")]


def pytest_command(ext: External, python: str, out: Path, *, mode: str, depth: str, workers: str) -> list[str]:
    """The project's own pytest, run in the project's folder: its rootdir, ini file (`testpaths` choose
    what runs unless `select` does) and conftest (confcutdir: nothing above it), the harness plugin loaded,
    xdist workers so a crash in one module leaves the others running."""
    targets = [str(ext.path / s) for s in ext.select]
    return [python, "-m", "pytest", *targets, f"--rootdir={ext.path}", f"--confcutdir={ext.path}",
            *ini_args(ext, out), "-p", "harness.plugin", "-p", "harness.external_plugin",
            f"--harness-external={ext.name}", "-p", "no:cacheprovider", "-p", "no:faulthandler",
            f"--depth={depth}", f"--harness-mode={mode}", f"--harness-results={out / RESULTS}",
            f"--junitxml={out / 'junit.xml'}", "--continue-on-collection-errors",
            "-n", workers, "--dist", "worksteal", "--max-worker-restart", "1000"]


def constraints(freeze: list[str]) -> str:
    """The row as uv constraints (`name==version` lines): installing the project cannot move the row."""
    return "".join(f"{line}\n" for line in freeze if "==" in line)


def install(ext: External, python: str, out: Path, freeze: list[str]) -> str:
    """Install the project into `python`'s environment, held to the row (`freeze`). Returns "" on success,
    else the installer's reason; writes install.json (artefacts.InstallRecord, `requirements`: what
    was installed)."""
    from harness.install import uv_binary

    started = time.monotonic()
    message = ""
    if ext.install:
        fsio.write_text(out / "constraints.txt", constraints(freeze))
        cmd = [uv_binary(), "pip", "install", "--quiet", "--python", python, "-c", str(out / "constraints.txt"),
               *ext.install]
        try:
            done = isolate.run(cmd, INSTALL_TIMEOUT)
            if done.returncode != 0:
                lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
                message = "install failed: " + (" ".join(lines[-20:]) or f"uv exited {done.returncode}")
        except (isolate.CheckTimeout, isolate.CheckCrashed) as exc:
            message = f"install failed: {first_line(str(exc))}"
    fsio.write_json(out / INSTALL, InstallRecord(InstallStatus.FAILED if message else InstallStatus.OK, message,
                                                 round(time.monotonic() - started, 1),
                                                 requirements=list(ext.install)).to_json())
    return message


def append_records(path: Path, items: list[TestResult]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r.to_json()) + "\n" for r in items)


def phase_name(ext: External) -> str:
    return f"ext:{ext.name}"


def _freeze() -> list[str]:
    import importlib.metadata

    return sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())


def _log_reason(log: Path, phase: str) -> str:
    """pytest's own complaint in the phase's part of pytest.log (a conftest that fails to import)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").rsplit(f"==== phase {phase}:", 1)[-1]
    except OSError:
        return "(no log)"
    lines = [ln.strip() for ln in text.splitlines()[1:] if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("E ", "ERROR", "ImportError", "INTERNALERROR")) or "Error:" in ln]
    return first_line(" ".join((errors or lines)[-3:])) or "(no output)"


def run_phases(run, deadline: float, start_phase) -> list[dict]:
    """Each external project of `run` (a runner.SuiteRun) in turn, in this (the row's) environment:
    install it, then its own pytest through `start_phase(phase, command, cwd) -> phase info`. A project that
    could not be installed or could not start, or that the row's bound left no time for, gets a record
    per module saying so. Returns the phase infos of the pytest runs."""
    import shutil
    import sys

    infos: list[dict] = []
    freeze = _freeze()
    for ext in run.externals:
        out = out_dir(run.out, ext)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        if time.monotonic() > deadline or any(i["timed_out"] for i in infos):
            append_records(out / RESULTS, fallback_records(
                ext, Status.TIMEOUT, f"the row's bound of {run.timeout:g} s was spent before {ext.name} ran"))
            continue
        problem = install(ext, sys.executable, out, freeze)
        if problem:
            append_records(out / RESULTS, fallback_records(ext, Status.INSTALL_FAILED, problem))
            continue
        command = pytest_command(ext, sys.executable, out, mode=run.mode, depth=run.depth, workers=run.workers)
        info = start_phase(phase_name(ext), command, ext.path)
        infos.append(info)
        if not info["timed_out"] and info["returncode"] >= 0 and not read_records(out / RESULTS):
            reason = _log_reason(run.out / "pytest.log", phase_name(ext))
            append_records(out / RESULTS, fallback_records(
                ext, Status.ERROR, f"pytest exited with status {info['returncode']} before running "
                              f"{ext.name}'s tests: {reason}"))
    return infos


# ---- bisect: a feature of an external project ---------------------------------------------------

@dataclass(frozen=True)
class BisectTarget:
    """What bisect needs for an `ext.<name>.<module>` feature: the project narrowed to that module
    (the whole project when the id is one of the project's own feature markers)."""

    feature: str
    external: External

    def tests(self) -> dict[str, list[str]]:
        """The node ids (as the row's records name them) bisect reports on, with their features."""
        return {prefix(self.external.name) + (s or "."): [self.feature] for s in (self.external.select or ("",))}

    def run_suites_args(self) -> list[str]:
        """`harness run-suites` arguments that run this project alone."""
        return ["--suites", NO_SUITES, *cli_args((self.external,))]


def bisect_target(feature: str, paths: list[str], known: tuple[External, ...]) -> BisectTarget | None:
    """None for a harness feature; for `ext.<name>.<...>`, the project named `name` among `--external
    PATH`s and `known` (the matrix file's, then the run's). Raises ExternalError when none is named so."""
    if not is_external(feature):
        return None
    name = feature.split(".")[1]
    given = tuple(check_entry("command line --external", i, {"path": p}, Path.cwd(), set())
                  for i, p in enumerate(paths))
    ext = next((e for e in (*given, *known) if e.name == name), None)
    if ext is None:
        raise ExternalError("command line", name, None, f"{feature}: no external project named {name!r}: give "
                            "--external PATH, or an [[external]] table in the matrix file")
    module = next((m for m in discover_modules(ext.path) if module_feature(name, m) == feature), None)
    return BisectTarget(feature, replace(ext, select=(module,) if module else ()))


def run_externals(meta: dict | None) -> tuple[External, ...]:
    """The externals a run recorded in its run.json."""
    try:
        return tuple(External.from_json(e) for e in (meta or {}).get("externals", []))
    except (KeyError, TypeError):
        return ()


def cli_args(externals: tuple[External, ...]) -> list[str]:
    """`harness run-suites` arguments naming the externals (JSON: paths may hold any character)."""
    return [a for e in externals for a in ("--external", json.dumps(e.to_json()))]
