"""Fold one row's raw artefacts (install record, per-test JSON lines) into its row record."""
from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Callable

from harness.artefacts import record_from_json
from harness.measure import PROPERTY as MEASURED
from harness.measure import Measurement, json_number
from harness.registry import Feature
from harness.status import Outcome, Status, first_line, fold

INSTALL, RESULTS, PYTEST_EXIT, ROW = "install.json", "results.jsonl", "pytest.json", "row.json"
BENCHMARKS = "benchmark.json"


def read_records(path: Path) -> list[dict]:
    """The plugin's JSON lines, each migrated to the current schema (harness.artefacts); a torn last line
    (process killed mid-write) is dropped. Raises ArtefactError naming the file and line of a record that
    is of a newer schema or has a bad field."""
    return parse_records(path.read_text(encoding="utf-8"), str(path)) if path.exists() else []


def parse_records(text: str, what: str = RESULTS) -> list[dict]:
    """One record per JSON line of `text`, as the current schema's JSON (`Record.to_json()`); a line that does
    not parse (torn by a kill) or is of no known kind is dropped."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        record = record_from_json(data, f"{what}:{number}")
        if record is not None:
            records.append(record.to_json())
    return records


def _death(exit_info: dict) -> Outcome | None:
    """How the pytest process ended, if it did not end on its own (said of a check that had not started)."""
    if exit_info.get("timed_out"):
        return Outcome(Status.TIMEOUT, f"the row's suites exceeded {exit_info.get('timeout')} s "
                                       "and were killed before this check ran")
    if exit_info.get("interrupted"):
        return Outcome(Status.ERROR, "the row's run was interrupted (run-suites killed) before this check reported")
    code = exit_info.get("returncode")
    if isinstance(code, int) and code < 0:
        return Outcome(Status.CRASH, f"pytest died with {_signal_name(code)} before this check ran")
    return None


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _running(exit_info: dict) -> Outcome:
    """The outcome of a check that had started and not reported when pytest was killed or died."""
    if exit_info.get("timed_out"):
        return Outcome(Status.TIMEOUT, f"this check was running when the row's bound of {exit_info.get('timeout')} s "
                                       "hit: it hung (or outran the bound)")
    if exit_info.get("interrupted"):
        return Outcome(Status.ERROR, "this check was running when the row's run was interrupted (run-suites killed)")
    return Outcome(Status.CRASH, f"pytest died with {_signal_name(exit_info['returncode'])} during this check")


def feature_outcomes(registry: dict[str, Feature], records: list[dict], exit_info: dict,
                     explain: Callable[[str, Outcome], Outcome] = lambda fid, o: o) -> dict[str, Outcome]:
    """Every registry feature gets a status: from its tests, or from why no test reported.

    `explain` relabels each test's outcome before folding, so a known failure in one test
    cannot hide an unexplained failure in another test of the same feature.
    """
    per_feature: dict[str, list[Outcome]] = {fid: [] for fid in registry}
    collected: dict[str, list[str]] = {}
    not_applicable: dict[str, str] = {}  # test -> why it would be n/a (no GPU), decided at collection
    started: set[str] = set()  # start records: checks that began (on whichever worker)
    reported: set[str] = set()
    collect_errors: dict[str, Outcome] = {}
    for record in records:
        if "collected" in record:
            collected.update(record["collected"])
            not_applicable.update(record.get("not_applicable") or {})
        elif "start" in record:
            started.add(record["start"])
    for record in records:
        if "collect_error" in record:
            area = record["collect_error"].split("/")[0]
            status = Status(record.get("status", Status.ERROR.value))
            message = record["message"] if status == Status.NOT_APPLICABLE \
                else f"{record['collect_error']}: {record['message']}"
            collect_errors.setdefault(area, Outcome(status, message))
        elif "test" in record:
            reported.add(record["test"])
            outcome = Outcome(Status(record["status"]), record.get("message", ""), record["test"])
            # A crash record (written by the xdist controller) names the test, not its features.
            for fid in record["features"] or collected.get(record["test"], []):
                per_feature.setdefault(fid, []).append(explain(fid, outcome))
    death = _death(exit_info)
    if exit_info.get("suites") and (collected or not death):
        # A chosen subset of suites: features outside it were not run, not broken (nor killed).
        checked = {fid for fids in collected.values() for fid in fids}
        per_feature = {fid: v for fid, v in per_feature.items() if fid in checked or v}
    for test, fids in collected.items():
        if test in reported:
            continue
        if test in not_applicable:
            outcome = Outcome(Status.NOT_APPLICABLE, not_applicable[test])
        elif death and test in started:
            outcome = _running(exit_info)  # the check that hung (or that the process died in)
        else:
            outcome = death or Outcome(Status.ERROR, "this check never reported a result")
        for fid in fids:
            per_feature.setdefault(fid, []).append(Outcome(outcome.status, outcome.message, test))
    result: dict[str, Outcome] = {}
    for fid, outcomes in per_feature.items():
        if not outcomes:
            area = fid.split(".")[0]
            if area in collect_errors:
                outcomes = [collect_errors[area]]
            elif death and registry.get(fid) is not None and registry[fid].device == "cuda":
                continue  # never collected: says nothing about a GPU feature on this machine ("not run")
            elif death:
                outcomes = [death]
        result[fid] = fold(outcomes)
    return result


def module_of(test: str) -> str:
    """`suites/vision/test_onnx.py::test_x[resnet18]` -> `vision/test_onnx.py` (the path under suites/)."""
    return test.split("::", 1)[0].split("suites/", 1)[-1]


def timings(install: dict, exit_info: dict, records: list[dict]) -> dict:
    """Where a row's time went, in seconds: install, the suites (wall), each phase (wall), and each
    module (the sum of its tests' durations, on whichever worker ran them)."""
    modules: dict[str, float] = {}
    for record in records:
        if "test" in record:
            module = module_of(record["test"])
            modules[module] = round(modules.get(module, 0.0) + float(record.get("duration") or 0.0), 3)
    return {"install_s": install.get("seconds"), "suites_s": exit_info.get("seconds"),
            "phases": {p["phase"]: p["seconds"] for p in exit_info.get("phases", [])},
            "modules": dict(sorted(modules.items(), key=lambda kv: -kv[1]))}


def install_failed(registry: dict[str, Feature], message: str) -> dict[str, Outcome]:
    line = first_line(message) or "the row could not be installed"
    return {fid: Outcome(Status.INSTALL_FAILED, line) for fid in registry}


def user_properties(records: list[dict]) -> dict[str, object]:
    """Extra facts tests reported (e.g. which audio backends a row has), merged by name."""
    props: dict[str, object] = {}
    for record in records:
        for key, value in record.get("properties", []):
            if key != MEASURED:  # measurements belong to their features (feature_measurements)
                props[key] = value
    return props


def feature_measurements(records: list[dict]) -> dict[str, list[dict]]:
    """What each feature's tests measured against their references, worst headroom first.

    Each entry is a `Measurement` as JSON plus `test` (the test's node id) and `headroom`
    (tolerance over error; "inf" for an exact match). A name a test recorded twice gets a
    suffix (" #2") so that (test, name) identifies one comparison across runs. A malformed
    entry is left out: measurements are evidence beside the status, never the status itself.
    """
    per_feature: dict[str, list[tuple[float, dict]]] = {}
    for record in records:
        if "test" not in record:
            continue
        seen: dict[str, int] = {}
        for item in record.get("properties") or []:
            if not (isinstance(item, (list, tuple)) and len(item) == 2 and item[0] == MEASURED):
                continue
            try:
                measurement = Measurement.from_json(item[1])
            except (KeyError, TypeError, ValueError):
                continue
            seen[measurement.name] = seen.get(measurement.name, 0) + 1
            name = measurement.name + (f" #{seen[measurement.name]}" if seen[measurement.name] > 1 else "")
            headroom = measurement.headroom
            entry = {"test": record["test"], **measurement.to_json(), "name": name,
                     "headroom": json_number(headroom)}
            for fid in record.get("features") or []:  # a crash record measured nothing
                per_feature.setdefault(fid, []).append((headroom, entry))
    return {fid: [e for _, e in sorted(entries, key=lambda he: he[0])]
            for fid, entries in per_feature.items()}
