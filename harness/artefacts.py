"""Typed models of the files a row's session leaves in its folder, each with a `schema_version`.

    install.json    InstallRecord   (harness.install: the resolution and sync of the row)
    env.json        EnvRecord       (harness.runner: what the row's environment holds)
    pytest.json     PytestExit      (harness.runner: how the suites' pytest processes ended)
    results.jsonl   Collected | Start | CollectError | TestResult, one JSON object a line (harness.plugin)

Version 1 is every file written before versions existed (no `schema_version` field, fields the harness
added later missing); `from_json` reads any version up to the current one and returns the current model,
filling what an older file lacks with the value the harness assumed then. A file of a newer version than
this harness knows raises ArtefactError. summary.json's model is harness.summary_model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, ClassVar, Union

from harness.status import Status

CURRENT = 2  # the schema version every model below writes


class ArtefactError(ValueError):
    """An artefact this harness cannot read; the message names the artefact and the field."""


def check_version(data: Any, what: str, current: int = CURRENT) -> int:
    """The `schema_version` of `data` (1 when absent). Raises ArtefactError when `data` is not a JSON object,
    the version is not a positive integer, or it is newer than `current`."""
    if not isinstance(data, dict):
        raise ArtefactError(f"{what}: expected a JSON object, found {type(data).__name__}")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArtefactError(f"{what}: schema_version {version!r} is not a positive integer")
    if version > current:
        raise ArtefactError(f"{what}: schema_version {version} is newer than this harness reads ({current}); "
                            "update the harness")
    return version


def _enum(kind: type[Enum], value: Any, what: str):
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ArtefactError(f"{what}: {value!r} is not one of {allowed}") from None


class InstallStatus(StrEnum):
    """install.json's `status` (and each summary row's `install.status`)."""

    OK = "ok"
    FAILED = "install-failed"


@dataclass(frozen=True)
class InstallRecord:
    """install.json: whether the row's pins resolved and synced, in `seconds`, and why not (`message`)."""

    SCHEMA_VERSION: ClassVar[int] = CURRENT
    status: InstallStatus
    message: str = ""
    seconds: float | None = None
    pins: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"schema_version": self.SCHEMA_VERSION, "status": self.status.value, "message": self.message,
                "seconds": self.seconds, "pins": dict(self.pins), "requirements": list(self.requirements)}

    @classmethod
    def from_json(cls, data: Any, what: str = "install.json") -> "InstallRecord":
        check_version(data, what)
        return cls(_enum(InstallStatus, data.get("status"), f"{what}: status"), data.get("message") or "",
                   data.get("seconds"), dict(data.get("pins") or {}), list(data.get("requirements") or []))


@dataclass(frozen=True)
class EnvRecord:
    """env.json: the row's Python, platform, reported package versions, CUDA builds and full freeze."""

    SCHEMA_VERSION: ClassVar[int] = CURRENT
    python: str = ""
    platform: str = ""
    installed: dict[str, str] = field(default_factory=dict)
    cuda_builds: dict[str, str] = field(default_factory=dict)
    freeze: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"schema_version": self.SCHEMA_VERSION, "python": self.python, "platform": self.platform,
                "installed": dict(self.installed), "cuda_builds": dict(self.cuda_builds), "freeze": list(self.freeze)}

    @classmethod
    def from_json(cls, data: Any, what: str = "env.json") -> "EnvRecord":
        check_version(data, what)
        return cls(data.get("python") or "", data.get("platform") or "", dict(data.get("installed") or {}),
                   dict(data.get("cuda_builds") or {}), list(data.get("freeze") or []))


@dataclass(frozen=True)
class PhaseRun:
    """One phase of the suites ("checks" or "benchmarks"): its pytest's exit status and wall seconds."""

    phase: str
    returncode: int | None
    timed_out: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"phase": self.phase, "returncode": self.returncode, "timed_out": self.timed_out,
                "seconds": self.seconds}


@dataclass(frozen=True)
class PytestExit:
    """pytest.json: how the row's suites ended. `returncode` is the last (or the killed) phase's, None when
    the run was `interrupted` (run-suites killed) before writing it; `timeout` and `seconds` in seconds."""

    SCHEMA_VERSION: ClassVar[int] = CURRENT
    returncode: int | None
    timed_out: bool = False
    timeout: float | None = None
    seconds: float | None = None
    phases: list[PhaseRun] = field(default_factory=list)
    depth: str = "quick"
    mode: str = "matrix"
    suites: list[str] = field(default_factory=list)
    usage_error: str | None = None
    interrupted: bool = False

    def to_json(self) -> dict:
        data = {"schema_version": self.SCHEMA_VERSION, "returncode": self.returncode, "timed_out": self.timed_out,
                "timeout": self.timeout, "seconds": self.seconds, "phases": [p.to_json() for p in self.phases],
                "depth": self.depth, "mode": self.mode, "suites": list(self.suites)}
        if self.usage_error is not None:
            data["usage_error"] = self.usage_error
        if self.interrupted:
            data["interrupted"] = True
        return data

    @classmethod
    def from_json(cls, data: Any, what: str = "pytest.json") -> "PytestExit":
        check_version(data, what)
        try:
            phases = [PhaseRun(p["phase"], p.get("returncode"), bool(p.get("timed_out")), p.get("seconds") or 0.0)
                      for p in data.get("phases") or []]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ArtefactError(f"{what}: phases: each needs a `phase` name ({exc})") from None
        return cls(data.get("returncode"), bool(data.get("timed_out")), data.get("timeout"), data.get("seconds"),
                   phases, data.get("depth") or "quick", data.get("mode") or "matrix", list(data.get("suites") or []),
                   data.get("usage_error"), bool(data.get("interrupted")))


# ---- results.jsonl: one record a line, told apart by its key field -------------------------------

@dataclass(frozen=True)
class Collected:
    """The tests a pytest process collected, with their feature ids; those it already knows are n/a (no GPU)."""

    collected: dict[str, list[str]]
    not_applicable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"schema_version": CURRENT, "collected": self.collected, "not_applicable": self.not_applicable}


@dataclass(frozen=True)
class Start:
    """A check began on `worker` ("" without xdist) at `time` (seconds since the epoch)."""

    start: str
    worker: str = ""
    time: float | None = None

    def to_json(self) -> dict:
        return {"schema_version": CURRENT, "start": self.start, "worker": self.worker, "time": self.time}


@dataclass(frozen=True)
class CollectError:
    """A test module that failed to import (`collect_error` is its node id): its area's features get `status`."""

    collect_error: str
    status: Status = Status.ERROR
    message: str = ""
    detail: str = ""

    def to_json(self) -> dict:
        return {"schema_version": CURRENT, "collect_error": self.collect_error, "message": self.message,
                "status": self.status.value, "detail": self.detail}


@dataclass(frozen=True)
class TestResult:
    """One test's outcome. `features` is None in a crash record the xdist controller wrote (the features are
    the collected ones); `duration` in seconds; `properties` the test's (name, value) user properties."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    test: str
    features: list[str] | None
    status: Status
    message: str = ""
    detail: str = ""
    duration: float = 0.0
    properties: list = field(default_factory=list)
    time: float | None = None

    def to_json(self) -> dict:
        return {"schema_version": CURRENT, "test": self.test, "features": self.features, "status": self.status.value,
                "message": self.message, "detail": self.detail, "duration": self.duration,
                "properties": [list(p) if isinstance(p, tuple) else p for p in self.properties], "time": self.time}


Record = Union[Collected, Start, CollectError, TestResult]


def record_from_json(data: Any, what: str = "results.jsonl") -> Record | None:
    """The model of one results line (any version up to the current); None for a line of no known kind.
    Raises ArtefactError for a known kind with a bad field (an unknown status)."""
    check_version(data, what)
    if "collected" in data:
        return Collected(dict(data["collected"] or {}), dict(data.get("not_applicable") or {}))
    if "start" in data:
        return Start(data["start"], data.get("worker") or "", data.get("time"))
    if "collect_error" in data:
        return CollectError(data["collect_error"], _enum(Status, data.get("status", Status.ERROR.value),
                                                         f"{what}: {data['collect_error']}: status"),
                            data.get("message") or "", data.get("detail") or "")
    if "test" in data:
        return TestResult(data["test"], data.get("features"),
                          _enum(Status, data.get("status"), f"{what}: {data['test']}: status"),
                          data.get("message") or "", data.get("detail") or "", data.get("duration") or 0.0,
                          list(data.get("properties") or []), data.get("time"))
    return None
