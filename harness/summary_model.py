"""summary.json's model, its versions, and the JSON Schema that describes it (harness/schemas/).

Version 1 is every summary.json written before `schema_version` existed; some lack `complete`,
`missing_rows` or `mode`, and their `verdict` has no `status`. `migrate` brings any version up to
`SUMMARY_VERSION` (what the harness assumed for a missing field then), so nights of published
history stay readable; `Summary.from_json` reads through it. The dict form (`to_json`) is what the
report, perf and the templates read: its shape only ever gains keys.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any

from harness.artefacts import ArtefactError, InstallStatus, check_version
from harness.status import Status

SUMMARY_VERSION = 2
SCHEMA_FILE = "summary.schema.json"  # under harness/schemas/ (package data)
# Keys of a summary this module models; anything else (resolve, corpus, warnings, perf...) rides in `extra`.
TOP = ("complete", "missing_rows", "run_id", "started", "finished", "matrix", "depth", "mode", "features", "rows")


class VerdictStatus(StrEnum):
    """The run against its expectations: exit 0 as expected, exit 1 changed."""

    AS_EXPECTED = "as-expected"
    CHANGED = "changed"


@dataclass(frozen=True)
class Verdict:
    """Exit 1 for a change against expectations; `problems` say which cell and why."""

    exit_code: int
    problems: tuple[str, ...]

    @property
    def status(self) -> VerdictStatus:
        return VerdictStatus.AS_EXPECTED if self.exit_code == 0 else VerdictStatus.CHANGED

    def to_json(self) -> dict:
        """summary.json's `verdict`: {"status", "exit_code", "problems"}."""
        return {"status": self.status.value, "exit_code": self.exit_code, "problems": list(self.problems)}


@dataclass(frozen=True)
class RowInstall:
    """A row's install outcome as the summary keeps it (from install.json); `seconds` of wall time."""

    status: InstallStatus
    message: str = ""
    seconds: float | None = None

    def to_json(self) -> dict:
        return {"status": self.status.value, "message": self.message, "seconds": self.seconds}


@dataclass
class Row:
    """One row of a run: what it pinned and got, how its install and suites went, and every feature's cell
    ({"status", "message", "test"?, "measured"?, "headroom"?}). `suites` is the row's pytest.json, `timings`
    seconds by step, `benchmarks` harness.perf.load_benchmarks' dict, `damaged` its unreadable files."""

    name: str
    install: RowInstall
    pins: dict[str, str] = field(default_factory=dict)
    installed: dict[str, str] = field(default_factory=dict)
    cuda_builds: dict[str, str] = field(default_factory=dict)
    suites: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    features: dict[str, dict] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    benchmarks: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = {"name": self.name, "pins": self.pins, "installed": self.installed, "cuda_builds": self.cuda_builds,
                "install": self.install.to_json(), "suites": self.suites, "timings": self.timings,
                "features": self.features, "properties": self.properties, "benchmarks": self.benchmarks,
                "files": self.files}
        if self.damaged:
            data["damaged"] = self.damaged
        return data

    @classmethod
    def from_json(cls, data: Any, what: str) -> "Row":
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ArtefactError(f"{what}: a row needs a `name`")
        what = f"{what}: row {data['name']}"
        install = data.get("install") or {}
        try:
            status = InstallStatus(str(install.get("status")))
            for cell in (data.get("features") or {}).values():
                Status(cell["status"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArtefactError(f"{what}: bad status ({exc})") from None
        return cls(data["name"], RowInstall(status, install.get("message") or "", install.get("seconds")),
                   dict(data.get("pins") or {}), dict(data.get("installed") or {}),
                   dict(data.get("cuda_builds") or {}), dict(data.get("suites") or {}),
                   dict(data.get("timings") or {}), dict(data.get("features") or {}),
                   dict(data.get("properties") or {}), data.get("benchmarks") or {}, list(data.get("files") or []),
                   list(data.get("damaged") or []))


@dataclass
class Summary:
    """summary.json. `features` maps each feature id any row checked to {"description", "area"}; `complete`
    is whether every row the run listed (`missing_rows` are those that did not) has a result; `started` and
    `finished` are ISO 8601 UTC (harness.summary.now). `extra` holds what the report adds (verdict, warnings,
    resolve, corpus) and keys of later versions, kept as they are."""

    run_id: str
    rows: list[Row]
    features: dict[str, dict] = field(default_factory=dict)
    complete: bool = True
    missing_rows: list[str] = field(default_factory=list)
    started: str | None = None
    finished: str | None = None
    matrix: str | None = None
    depth: str = "quick"
    mode: str = "matrix"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"schema_version": SUMMARY_VERSION, "complete": self.complete, "missing_rows": self.missing_rows,
                "run_id": self.run_id, "started": self.started, "finished": self.finished, "matrix": self.matrix,
                "depth": self.depth, "mode": self.mode, "features": self.features,
                "rows": [row.to_json() for row in self.rows], **self.extra}

    @classmethod
    def from_json(cls, data: Any, what: str = "summary.json") -> "Summary":
        """Any version's summary.json as the current model. Raises ArtefactError naming `what` and the field."""
        data = migrate(data, what)
        if not isinstance(data.get("run_id"), str) or not isinstance(data.get("rows"), list):
            raise ArtefactError(f"{what}: needs `run_id` (a string) and `rows` (a list)")
        rows = [Row.from_json(row, what) for row in data["rows"]]
        extra = {k: v for k, v in data.items() if k not in TOP and k != "schema_version"}
        return cls(data["run_id"], rows, dict(data["features"]), bool(data["complete"]), list(data["missing_rows"]),
                   data.get("started"), data.get("finished"), data.get("matrix"), data["depth"], data["mode"], extra)


def migrate(data: Any, what: str = "summary.json") -> dict:
    """`data` (a summary.json of any version up to SUMMARY_VERSION) as the current version's dict; the
    input is left as it is. Raises ArtefactError for a newer version or a value that is not an object."""
    version = check_version(data, what, SUMMARY_VERSION)
    data = dict(data)
    if version == 1:  # before schema_version: fields added along the way, with what their absence meant
        missing = list(data.get("missing_rows") or [])
        data.setdefault("missing_rows", missing)
        data.setdefault("complete", not missing)
        data.setdefault("depth", "quick")
        data.setdefault("mode", "matrix")
        data.setdefault("features", {})
        data.setdefault("rows", [])
        data.setdefault("started", None)
        data.setdefault("finished", None)
        data.setdefault("matrix", None)
        verdict = data.get("verdict")
        if isinstance(verdict, dict) and "status" not in verdict and verdict.get("exit_code") in (0, 1):
            data["verdict"] = {**verdict, "status": Verdict(verdict["exit_code"], ()).status.value}
    data["schema_version"] = SUMMARY_VERSION
    return data


def summary_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the current summary.json, from harness/schemas/."""
    return json.loads(resources.files("harness").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8"))
