"""Reading the map beside the rows: what the report draws (`view`, compact: it rides along in
summary.json), the outcome of the pairs the matrix and the corpus of real breakages tested, and
the standalone page. Pure but for `load_map`, which reads the map and the corpus (harness.cases.read_result).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from harness import fsio
from harness.cases import read_result
from harness.resolve.client import BECAUSE
from harness.resolve.model import AnswerStatus, Outcome, migrate
from harness.resolve.pairs import minor_of
from harness.status import BROKEN, Status

MAP_FILE = "resolve.json"
MAP_PAGE = "resolve.html"
AREAS = {"torchvision": "vision", "torchaudio": "audio", "torchtext": "text"}
MISSING = "missing"  # a cell of the grid without an answer
OUTCOMES = tuple(o.value for o in Outcome)


def reason(pair: dict) -> str:
    """The first link of the resolver's chain: 'torchvision==0.23.0 depends on torch==2.8.0'."""
    if pair["status"] == AnswerStatus.OK:
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


def _row_outcome(row: dict, area: str) -> tuple[Outcome, list[str]]:
    """How a tested row's checks of one library's area came out."""
    if row.get("install", {}).get("status") != "ok":
        return Outcome.INSTALL_FAILED, [str(row.get("install", {}).get("message", ""))[:300]]
    cells = {fid: c["status"] for fid, c in row.get("features", {}).items()
             if fid.split(".")[0] == area}
    broken = [f"{fid}: {st}" for fid, st in sorted(cells.items()) if st in {b.value for b in BROKEN}]
    known = [f"{fid}: {st}" for fid, st in sorted(cells.items()) if st == Status.KNOWN_FAILURE.value]
    if broken:
        return Outcome.BREAKS, broken + known
    if known:
        return Outcome.KNOWN, known
    return (Outcome.WORKS, []) if cells else (Outcome.NOT_RUN, [])


def tested_pairs(summary: dict) -> dict[tuple[str, str, str], list[dict]]:
    """(library, version, torch minor) -> what the matrix rows that installed that pair saw."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for row in summary.get("rows", []):
        versions = dict(row.get("installed") or {})
        if not versions.get("torch"):  # not installed: the exact pins say what was meant
            versions = {k: v for k, v in (row.get("pins") or {}).items() if re.fullmatch(r"[\d.]+", v)}
        minor = minor_of(versions.get("torch", ""))
        if not minor:
            continue
        for lib, area in AREAS.items():
            if versions.get(lib):
                outcome, detail = _row_outcome(row, area)
                out.setdefault((lib, _public(versions[lib]), minor), []).append(
                    {"row": row["name"], "outcome": outcome.value, "detail": detail,
                     "torch": _public(versions["torch"])})
    return out


def case_pairs(corpus: dict | None) -> dict[tuple[str, str, str], list[dict]]:
    """Pairs the corpus of real breakages shows broken: (library, version, torch minor) -> entries
    linked to the upstream report. Only rows that pin torch and domain libraries alone count (a
    row with extras, such as numpy or onnxscript, breaks because of the extra, not the pair)."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for case in (corpus or {}).get("cases", []):
        rows = [{**r, "name": f"{case['name']}/{r['name']}"} for r in case.get("rows", []) if not r.get("extra")]
        for key, entries in tested_pairs({"rows": rows}).items():
            broken = [{**e, "case": case["name"], "link": case.get("link", "")} for e in entries
                      if e["outcome"] == Outcome.BREAKS]
            if broken:
                out.setdefault(key, []).extend(broken)
    return out


def view(data: dict, summary: dict | None = None, corpus: dict | None = None) -> dict:
    """What the report's partial draws: per library, a release x torch-minor grid. Compact (it
    goes into summary.json): a cell holds its status, the torch the resolver picked, the reason
    only where the release's own torch requirement (`needs`) does not explain it, and the rows
    that tested the pair."""
    data = migrate(data)
    columns = [c["minor"] for c in data["torch"]]
    pairs = {(p["library"], p["version"], p["torch"]): p for p in data["pairs"]}
    tested = tested_pairs(summary) if summary else {}
    for key, entries in case_pairs(corpus).items():
        tested.setdefault(key, []).extend(entries)
    counts = {"ok": 0, "conflict": 0, "error": 0, "missing": 0, "tested": 0, **{o.value: 0 for o in Outcome}}
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
                cell: dict[str, Any] = {"status": AnswerStatus(pair["status"]).value if pair else MISSING}
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
    try:
        return view(data, summary, read_result(reports_dir))
    except (ValueError, KeyError, TypeError) as exc:
        print(f"warning: {path} is not a map this harness reads ({exc}); the report leaves it out",
              file=sys.stderr)
        return None


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
    """The standalone map page (the report's own partial, resolve.html.j2)."""
    from harness.report import environment

    return environment().from_string(PAGE).render(s={"resolve": resolve_view})
