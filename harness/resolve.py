"""The installability map: which torch releases install beside which domain-library releases.

Every pair (a torch minor release, one release of torchvision, torchaudio or torchtext) is
one question to the resolver: `uv pip compile` for a target interpreter and platform, from
package metadata only; nothing is downloaded beyond metadata and nothing is installed. The
torch side is `torch==2.3.*`, so the resolver also picks the patch release that fits.

A domain release pins one torch (torchvision 0.18.1 needs torch==2.3.1), so pairs rather than
whole four-package combinations carry the information: 16 torch minors x 59 domain releases
(944 pairs) in late 2026. Most of them are settled by one probe per release: asked with
`torch<2.0`, the resolver states the release's own torch requirement ("torchvision==0.23.0
depends on torch==2.8.0"), and a minor none of whose releases meets it cannot resolve. The
rest (about 90 pairs, and every pair of a release without a stated bound) go to the resolver;
`--exhaustive` sends every pair. Answers are cached in a JSON file keyed by the requirement set
and target, so a repeat asks only about releases published since (measured here: cold 67 s,
warm under a second, for the whole map).

    python -m harness.resolve                # writes reports/resolve.json and reports/resolve.html
    nox -s resolve -- --jobs 8 --refresh     # the same through nox
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re

import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from harness import fsio, isolate, settings
from harness.status import BROKEN, Status, first_line

MAP_FILE = "resolve.json"
MAP_PAGE = "resolve.html"
TORCH_FROM = "2.0"
# The first release of each domain library that pairs with torch 2.0.
LIBRARIES = {"torchvision": "0.15", "torchaudio": "2.0", "torchtext": "0.15"}
AREAS = {"torchvision": "vision", "torchaudio": "audio", "torchtext": "text"}
PYTHON = "3.11"
PLATFORM = "x86_64-manylinux_2_28"
INDEX_TTL_HOURS = 6.0  # release lists older than this are fetched again (new releases appear daily)
RESOLVE_TIMEOUT = 600  # a cold uv cache fetches the metadata of torch and its CUDA wheels
CACHE_FORMAT = 1
# The first link of uv's explanation of a conflict.
BECAUSE = re.compile(r"Because (?:only )?(\S+?) depends on (.+?)(?: and |, |$)")


class ResolveError(RuntimeError):
    """The package index could not be read (network, unknown package)."""


def default_cache() -> Path:
    return settings.current().resolve_cache


def default_index() -> str:
    """The index uv itself reads, so the release lists and the answers come from one place."""
    return settings.current().index


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _age_hours(stamp: str) -> float:
    try:
        then = dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return float("inf")
    return (dt.datetime.now(dt.timezone.utc) - then).total_seconds() / 3600


# ---------------------------------------------------------------- releases on the index

def releases_from_simple(page: dict) -> list[str]:
    """Final releases with at least one file that is not yanked (PEP 691 JSON), oldest first."""
    live: set[Version] = set()
    for entry in page.get("files", []):
        if entry.get("yanked"):
            continue
        name = entry.get("filename", "")
        try:
            if name.endswith(".whl"):
                version = parse_wheel_filename(name)[1]
            else:
                version = parse_sdist_filename(name)[1]
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if not (version.is_prerelease or version.is_devrelease or version.local):
            live.add(version)
    return [str(v) for v in sorted(live)]


def fetch_releases(package: str, index: str) -> list[str]:
    request = urllib.request.Request(f"{index}/{package}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
    except (OSError, ValueError) as exc:
        raise ResolveError(f"cannot list the releases of {package} on {index}: {exc}") from None
    return releases_from_simple(page)


def torch_minors(releases: list[str], start: str = TORCH_FROM) -> dict[str, str]:
    """Each torch minor from `start` on, with its newest patch release: {"2.3": "2.3.1"}."""
    newest: dict[tuple[int, int], Version] = {}
    for text in releases:
        v = Version(text)
        if v >= Version(start):
            key = (v.major, v.minor)
            newest[key] = max(v, newest.get(key, v))
    return {f"{a}.{b}": str(newest[(a, b)]) for a, b in sorted(newest)}


def _minor(version: str) -> str:
    try:
        v = Version(version)
    except InvalidVersion:
        return ""
    return f"{v.major}.{v.minor}"


def since(releases: list[str], start: str) -> list[str]:
    """Releases from `start` on, newest first (the map's row order)."""
    return [str(v) for v in sorted((Version(r) for r in releases if Version(r) >= Version(start)),
                                   reverse=True)]


# ---------------------------------------------------------------- asking the resolver

@dataclass(frozen=True)
class Target:
    python: str = PYTHON
    platform: str = PLATFORM
    index: str = settings.DEFAULT_INDEX

    def __str__(self) -> str:
        return f"python {self.python} {self.platform} {self.index}"


@dataclass(frozen=True)
class Pair:
    library: str
    version: str
    torch: str  # the minor, "2.3"
    newest: str  # its newest patch when asked: a new patch release is a new question

    @property
    def requirements(self) -> list[str]:
        return [f"torch=={self.torch}.*", f"{self.library}=={self.version}"]

    def key(self, target: Target) -> str:
        """The cache key: the requirement set, the newest torch it could pick, and the target."""
        return f"{' '.join(self.requirements)} (torch<={self.newest}) | {target}"


def uv_binary() -> str:
    from harness.install import uv_binary as find

    return find()


def clean_message(stderr: str) -> str:
    """The resolver's explanation on one line, without uv's decorations."""
    lines = []
    for line in stderr.splitlines():
        line = line.strip().lstrip("×╰─▶ ").strip()
        for prefix in ("error:", "cause:", "hint:"):
            line = line.removeprefix(prefix).strip()
        if line and not line.startswith(("Resolved", "Using", "warning:")):
            lines.append(line)
    return " ".join(lines)


def ask(requirements: list[str], target: Target) -> dict:
    """One resolution: {"status": "ok"|"conflict"|"error", "resolved": {...}, "message": ...}."""
    command = [uv_binary(), "pip", "compile", "--quiet", "--no-header", "--no-annotate",
               "--python-version", target.python, "--python-platform", target.platform,
               "--default-index", target.index, "-"]
    try:
        proc = isolate.run(command, RESOLVE_TIMEOUT, input="\n".join(requirements) + "\n")
    except isolate.CheckTimeout:
        return {"status": "error", "resolved": {}, "message": f"uv exceeded {RESOLVE_TIMEOUT} s"}
    except isolate.CheckCrashed as exc:
        return {"status": "error", "resolved": {}, "message": first_line(str(exc))}
    message = clean_message(proc.stderr)
    if proc.returncode == 0:
        resolved = {}
        for line in proc.stdout.splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and not name.startswith("#"):
                resolved[name.strip().lower()] = version.split(";")[0].strip()
        return {"status": "ok", "resolved": resolved, "message": ""}
    # Only the resolver's own verdict is an answer; a network failure is asked again next time.
    status = "conflict" if "No solution found" in proc.stderr else "error"
    return {"status": status, "resolved": {},
            "message": message or f"uv exited with status {proc.returncode}"}


# ---------------------------------------------------------------- the cache

class Cache:
    """One JSON file: the index's release lists (with a time to live) and every answer."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            data = fsio.read_json(self.path)
        except (OSError, json.JSONDecodeError):
            data = {}
        if data.get("format") != CACHE_FORMAT:
            data = {}
        self.releases: dict = data.get("releases", {})
        self.answers: dict = data.get("answers", {})

    def save(self) -> None:
        fsio.write_json(self.path, {"format": CACHE_FORMAT, "releases": self.releases,
                                    "answers": self.answers})

    def release_list(self, package: str, index: str, ttl_hours: float, refresh: bool) -> list[str]:
        entry = self.releases.get(f"{index} {package}")
        if entry and not refresh and _age_hours(entry.get("fetched")) < ttl_hours:
            return entry["versions"]
        versions = fetch_releases(package, index)
        self.releases[f"{index} {package}"] = {"fetched": now(), "versions": versions}
        return versions


# ---------------------------------------------------------------- the map

@dataclass(frozen=True)
class Options:
    target: Target = Target()
    torch_from: str = TORCH_FROM
    libraries: tuple[tuple[str, str], ...] = tuple(LIBRARIES.items())
    torch_minors: tuple[str, ...] = ()  # only these minors (default: all from torch_from)
    jobs: int = 4
    refresh: bool = False
    exhaustive: bool = False  # ask about every pair, even those the probe already rules out
    index_ttl_hours: float = INDEX_TTL_HOURS


def probe_requirements(library: str, version: str, torch_from: str) -> list[str]:
    """A question whose conflict makes the resolver state the release's own torch requirement."""
    return [f"torch<{torch_from}", f"{library}=={version}"]


def torch_requirement(answer: dict, library: str, version: str) -> Requirement | None:
    """From a probe's conflict ('Because torchvision==0.23.0 depends on torch==2.8.0 and you
    require torch<2.0'), the torch requirement of that release; None when it says something else."""
    if answer["status"] != "conflict":
        return None
    found = BECAUSE.search(answer["message"])
    if not found:
        return None
    try:
        subject, needs = Requirement(found.group(1)), Requirement(found.group(2))
    except InvalidRequirement:
        return None
    if (canonicalize_name(subject.name) != library or not subject.specifier.contains(version, True)
            or canonicalize_name(needs.name) != "torch"):
        return None
    return needs


def build_map(options: Options, cache: Cache, asker=ask, log=print) -> dict:
    """Every pair's answer: from the cache, from the release's own torch requirement where no
    release of that torch minor can meet it, else from the resolver."""
    started = time.monotonic()
    target = options.target

    def releases(package: str) -> list[str]:
        return cache.release_list(package, target.index, options.index_ttl_hours, options.refresh)

    torch_releases = releases("torch")
    torch = torch_minors(torch_releases, options.torch_from)
    if options.torch_minors:
        torch = {m: p for m, p in torch.items() if m in options.torch_minors}
    in_minor = {m: [v for v in torch_releases if _minor(v) == m] for m in torch}
    libraries = {lib: since(releases(lib), start) for lib, start in options.libraries}
    pairs = [Pair(lib, version, minor, newest) for lib, versions in libraries.items()
             for version in versions for minor, newest in torch.items()]
    log(f"resolve: {len(pairs)} pairs ({len(torch)} torch minors x "
        f"{sum(len(v) for v in libraries.values())} domain releases)")
    fresh: dict[str, dict] = {}  # this run's answers, errors included (never cached)

    def answer_all(questions: dict[str, list[str]], what: str) -> None:
        todo = {k: reqs for k, reqs in questions.items() if options.refresh or k not in cache.answers}
        if not todo:
            return
        log(f"  asking uv about {len(todo)} {what} ({len(questions) - len(todo)} cached), "
            f"{options.jobs} at once")
        try:
            with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
                answers = pool.map(lambda reqs: asker(reqs, target), todo.values())
                for done, (key, answer) in enumerate(zip(todo, answers, strict=True), 1):
                    fresh[key] = answer
                    if answer["status"] == "error":
                        log(f"  {' '.join(todo[key])}: resolver error: {answer['message'][:300]}")
                    else:
                        cache.answers[key] = {**answer, "checked": now()}
                    if done % 100 == 0:
                        log(f"  {done}/{len(todo)}")
                        cache.save()  # an interrupted cold run keeps what it learnt
        finally:
            cache.save()

    def answer(key: str) -> dict | None:
        return fresh.get(key) or cache.answers.get(key)

    # One probe per release: most releases pin one torch, which rules out every other minor.
    needs: dict[tuple[str, str], Requirement | None] = {}
    if not options.exhaustive:
        probes = {f"probe {lib}=={v} torch<{options.torch_from} | {target}":
                  probe_requirements(lib, v, options.torch_from)
                  for lib, versions in libraries.items() for v in versions}
        answer_all(probes, "releases' torch requirements")
        for key, (_, lib_req) in probes.items():
            lib, _, version = lib_req.partition("==")
            probe = answer(key)
            needs[(lib, version)] = torch_requirement(probe, lib, version) if probe else None

    def ruled_out(pair: Pair) -> str:
        req = needs.get((pair.library, pair.version))
        if req is None or any(req.specifier.contains(v, True) for v in in_minor[pair.torch]):
            return ""
        return (f"Because {pair.library}=={pair.version} depends on {req} and no torch "
                f"{pair.torch} release satisfies it, the requirements are unsatisfiable "
                f"(the release's torch requirement as the resolver stated it for torch<{options.torch_from}).")

    derived = {p: ruled_out(p) for p in pairs}
    answer_all({p.key(target): p.requirements for p in pairs if not derived[p]}, "pairs")
    entries = []
    for pair in pairs:
        found = ({"status": "conflict", "resolved": {}, "message": derived[pair]} if derived[pair]
                 else answer(pair.key(target)))
        entries.append({"library": pair.library, "version": pair.version, "torch": pair.torch,
                        "requirements": pair.requirements, "status": found["status"],
                        "resolved": {k: v for k, v in found["resolved"].items()
                                     if k in ("torch", pair.library)},
                        "message": found["message"], "derived": bool(derived[pair])})
    errors = sum(1 for a in fresh.values() if a["status"] == "error")
    return {
        "generated": now(), "python": target.python, "platform": target.platform,
        "index": target.index, "uv": _uv_version(),
        "seconds": round(time.monotonic() - started, 1), "asked": len(fresh), "errors": errors,
        "derived": sum(1 for d in derived.values() if d),
        "torch": [{"minor": m, "newest": p} for m, p in torch.items()],
        "libraries": libraries, "pairs": entries,
    }


def _uv_version() -> str:
    try:
        return isolate.run([uv_binary(), "--version"], 30).stdout.strip()
    except (OSError, isolate.CheckTimeout, isolate.CheckCrashed):
        return "uv"


# ---------------------------------------------------------------- reading the map beside the rows

OUTCOMES = ("works", "known", "breaks", "install-failed", "not-run")


def reason(pair: dict) -> str:
    """The first link of the resolver's chain: 'torchvision==0.23.0 depends on torch==2.8.0'."""
    if pair["status"] == "ok":
        return ""
    found = BECAUSE.search(pair["message"])
    if found:
        return f"{found.group(1)} depends on {found.group(2)}"
    text = pair["message"].removeprefix("No solution found when resolving dependencies").strip(" :")
    return text if len(text) <= 240 else text[:239] + "…"


def _public(version: str) -> str:
    try:
        return Version(version).public
    except InvalidVersion:
        return version


def _row_outcome(row: dict, area: str) -> tuple[str, list[str]]:
    """How a tested row's checks of one library's area came out."""
    if row.get("install", {}).get("status") != "ok":
        return "install-failed", [str(row.get("install", {}).get("message", ""))[:300]]
    cells = {fid: c["status"] for fid, c in row.get("features", {}).items()
             if fid.split(".")[0] == area}
    broken = [f"{fid}: {st}" for fid, st in sorted(cells.items()) if st in {b.value for b in BROKEN}]
    known = [f"{fid}: {st}" for fid, st in sorted(cells.items()) if st == Status.KNOWN_FAILURE.value]
    if broken:
        return "breaks", broken + known
    if known:
        return "known", known
    return ("works", []) if cells else ("not-run", [])


def tested_pairs(summary: dict) -> dict[tuple[str, str, str], list[dict]]:
    """(library, version, torch minor) -> what the matrix rows that installed that pair saw."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for row in summary.get("rows", []):
        versions = dict(row.get("installed") or {})
        if not versions.get("torch"):  # not installed: the exact pins say what was meant
            versions = {k: v for k, v in (row.get("pins") or {}).items() if re.fullmatch(r"[\d.]+", v)}
        minor = _minor(versions.get("torch", ""))
        if not minor:
            continue
        for lib, area in AREAS.items():
            if versions.get(lib):
                outcome, detail = _row_outcome(row, area)
                out.setdefault((lib, _public(versions[lib]), minor), []).append(
                    {"row": row["name"], "outcome": outcome, "detail": detail,
                     "torch": _public(versions["torch"])})
    return out


CASES_FILE = "cases.json"  # written by `nox -s cases` (harness/cases.py) beside the map


def case_pairs(corpus: dict | None) -> dict[tuple[str, str, str], list[dict]]:
    """Pairs the corpus of real breakages shows broken: (library, version, torch minor) -> entries
    linked to the upstream report. Only rows that pin torch and domain libraries alone count (a
    row with extras, such as numpy or onnxscript, breaks because of the extra, not the pair)."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for case in (corpus or {}).get("cases", []):
        rows = [{**r, "name": f"{case['name']}/{r['name']}"} for r in case.get("rows", []) if not r.get("extra")]
        for key, entries in tested_pairs({"rows": rows}).items():
            broken = [{**e, "case": case["name"], "link": case.get("link", "")} for e in entries
                      if e["outcome"] == "breaks"]
            if broken:
                out.setdefault(key, []).extend(broken)
    return out


def load_cases(reports_dir: Path | str) -> dict | None:
    try:
        return fsio.read_json(Path(reports_dir) / CASES_FILE)
    except (OSError, json.JSONDecodeError):
        return None


def view(data: dict, summary: dict | None = None, corpus: dict | None = None) -> dict:
    """What the report's partial draws: per library, a release x torch-minor grid. Compact (it
    goes into summary.json): a cell holds its status, the torch the resolver picked, the reason
    only where the release's own torch requirement (`needs`) does not explain it, and the rows
    that tested the pair."""
    columns = [c["minor"] for c in data["torch"]]
    pairs = {(p["library"], p["version"], p["torch"]): p for p in data["pairs"]}
    tested = tested_pairs(summary) if summary else {}
    for key, entries in case_pairs(corpus).items():
        tested.setdefault(key, []).extend(entries)
    counts = {"ok": 0, "conflict": 0, "error": 0, "missing": 0, "tested": 0, **{o: 0 for o in OUTCOMES}}
    libraries = []
    for lib, versions in data["libraries"].items():
        releases = []
        for version in versions:
            found = [pairs.get((lib, version, minor)) for minor in columns]
            whys = [reason(p) if p else "" for p in found]
            needs = next((why.partition(" depends on ")[2] for why in whys
                          if re.match(rf"{lib}\b", why.partition(" depends on ")[0])
                          and " depends on " in why), "")
            cells = []
            for minor, pair, why in zip(columns, found, whys, strict=True):
                cell = {"status": pair["status"] if pair else "missing"}
                if pair and pair["resolved"].get("torch"):
                    cell["resolved"] = pair["resolved"]["torch"]
                if why and not (needs and why.endswith(f" depends on {needs}")):
                    cell["why"] = why
                rows = tested.pop((lib, version, minor), [])
                if rows:
                    cell["tested"] = rows
                counts[cell["status"]] += 1
                counts["tested"] += bool(rows)
                for t in rows:
                    counts[t["outcome"]] += 1
                cells.append(cell)
            releases.append({"version": version, "needs": needs, "cells": cells})
        libraries.append({"name": lib, "releases": releases})
    unmapped = [{"library": lib, "version": version, "minor": minor, **t}
                for (lib, version, minor), rows in sorted(tested.items()) for t in rows]
    return {"generated": data.get("generated"), "python": data.get("python"),
            "platform": data.get("platform"), "index": data.get("index"), "uv": data.get("uv"),
            "columns": data["torch"], "libraries": libraries, "counts": counts,
            "unmapped": unmapped}


def load_map(reports_dir: Path | str, summary: dict | None = None) -> dict | None:
    """The map `nox -s resolve` wrote under `reports_dir`, drawn beside `summary`'s rows; None
    when there is none (or it is unreadable: the report goes on without it)."""
    path = Path(reports_dir) / MAP_FILE
    try:
        data = fsio.read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        print(f"warning: {path} is unreadable ({exc}); the report leaves the map out", file=sys.stderr)
        return None
    return view(data, summary, load_cases(reports_dir))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Installability map</title>
<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: 4px 6px; }</style>
</head><body>
<h1>PyTorch release compatibility: installability map</h1>
{% include "resolve.html.j2" %}
</body></html>
"""


def render_page(resolve_view: dict) -> str:
    from harness.report import environment

    return environment().from_string(PAGE).render(s={"resolve": resolve_view})


# ---------------------------------------------------------------- command line

def _library(text: str) -> tuple[str, str]:
    name, _, start = text.partition("=")
    if name not in LIBRARIES:
        raise argparse.ArgumentTypeError(f"{name!r}: one of {', '.join(LIBRARIES)}")
    return name, start or LIBRARIES[name]


def parser() -> argparse.ArgumentParser:

    p = argparse.ArgumentParser(prog="python -m harness.resolve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", type=Path, default=settings.current().reports,
                   help=f"writes {MAP_FILE} and {MAP_PAGE} here")
    p.add_argument("--cache", type=Path, default=None,
                   help="answers and release lists (default: $HARNESS_RESOLVE_CACHE or "
                        "~/.cache/torch-harness/resolve-cache.json)")
    p.add_argument("--python", default=PYTHON, help="target interpreter version")
    p.add_argument("--platform", default=PLATFORM, help="target platform (uv's --python-platform)")
    p.add_argument("--index", default=None, help="package index (default: uv's, else PyPI)")
    p.add_argument("--torch-from", default=TORCH_FROM, help="first torch minor")
    p.add_argument("--torch", nargs="+", default=[], metavar="MINOR", help="only these torch minors")
    p.add_argument("--library", dest="libraries", action="append", type=_library, metavar="NAME[=FIRST]",
                   help="a domain library and its first release (default: all three)")
    p.add_argument("--jobs", type=int, default=min(8, 2 * (os.cpu_count() or 1)),
                   help="resolutions at once (they wait on the index more than on the CPU)")
    p.add_argument("--refresh", action="store_true", help="ask again about every pair")
    p.add_argument("--exhaustive", action="store_true",
                   help="ask about every pair, also those a release's own torch requirement rules out")
    p.add_argument("--index-ttl-hours", type=float, default=INDEX_TTL_HOURS,
                   help="re-read the release lists when older than this")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = Options(target=Target(args.python, args.platform, (args.index or default_index()).rstrip("/")),
                      torch_from=args.torch_from,
                      libraries=tuple(args.libraries or LIBRARIES.items()),
                      torch_minors=tuple(args.torch), jobs=args.jobs, refresh=args.refresh,
                      exhaustive=args.exhaustive,
                      index_ttl_hours=args.index_ttl_hours)
    cache = Cache(args.cache or default_cache())
    try:
        data = build_map(options, cache)
    except ResolveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    fsio.write_json(args.reports / MAP_FILE, data)
    summary = None
    try:
        summary = fsio.read_json(args.reports / "summary.json")
    except (OSError, json.JSONDecodeError):
        pass
    drawn = view(data, summary, load_cases(args.reports))
    fsio.write_text(args.reports / MAP_PAGE, render_page(drawn))
    c = drawn["counts"]
    print(f"resolve: {c['ok']} pairs resolve, {c['conflict']} do not, {c['error']} could not be asked; "
          f"{data['asked']} asked in {data['seconds']} s (cache {cache.path})")
    print(f"map: {args.reports / MAP_PAGE} and {args.reports / MAP_FILE}")
    return 1 if data["errors"] else 0


if __name__ == "__main__":
    with isolate.guard():
        sys.exit(main())
