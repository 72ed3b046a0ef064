"""pytest plugin for an external project's run (`-p harness.plugin -p harness.external_plugin
--harness-external NAME`): gives each test its feature id before the harness plugin checks them.

A test's features are the project's own `@pytest.mark.feature(...)` ids under `ext.<name>.`, or else its
module's id (`ext.<name>.<module>`, see harness.external.module_feature). The ids join the harness
registry for this run, and `features.json` beside the results keeps their descriptions (the module's
docstring) for the report. A module that fails to import is its feature's `error` (or `n/a` when it
needs a library the row leaves out), and the other modules still run (--continue-on-collection-errors).
"""
from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

import pytest

from harness import external, fsio
from harness.registry import Feature
from harness.status import Status, first_line

_state: dict = {"config": None, "described": {}}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption("--harness-external", default=None,
                                         help="the external project's name: its tests become ext.<name>.* features")


def pytest_configure(config: pytest.Config) -> None:
    _state["config"] = config


def _name(config: pytest.Config | None) -> str | None:
    return config.getoption("--harness-external") if config is not None else None


def _out(config: pytest.Config) -> Path | None:
    results = config.getoption("--harness-results")
    return Path(results).parent if results else None


def _module(config: pytest.Config, path: Path) -> str:
    return Path(path).resolve().relative_to(config.rootpath.resolve()).as_posix()


def _summary(doc: str | None, fallback: str) -> str:
    """A module docstring's first paragraph, on one line (the feature's description)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split()) or fallback


def item_features(name: str, module: str, marks: list[str]) -> list[str]:
    """The feature ids of one test: its own markers under ext.<name>., or its module's id."""
    return [external.marker_feature(name, m) for m in marks] or [external.module_feature(name, module)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    name = _name(config)
    if not name:
        return
    # HOOK(plugin): harness.plugin keeps the registry on config._harness_registry; port with its rewrite.
    registry = config._harness_registry
    described = _state["described"]
    for item in items:
        module = _module(config, item.path)
        own = [fid for mark in item.iter_markers("feature") for fid in mark.args]
        ids = item_features(name, module, own)
        for node in item.listchain():  # the project's own marks give way to the prefixed ids
            node.own_markers[:] = [m for m in node.own_markers if m.name != "feature"]
        item.add_marker(pytest.mark.feature(*ids))
        doc = getattr(getattr(item, "module", None), "__doc__", None)
        for fid in ids:
            described.setdefault(fid, _summary(doc, f"{module} of {name}"))
            registry.setdefault(fid, Feature(fid, described[fid], f"ext.{name}"))
    if (out := _out(config)) is not None:
        fsio.write_json(out / external.FEATURES, dict(sorted(described.items())))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that cannot be imported: its feature gets the error (the harness plugin's own record
    names only an area, which an external module does not have)."""
    config = _state["config"]
    name = _name(config)
    if not (name and report.failed and report.nodeid.endswith(".py")):
        return
    from harness.plugin import LIBRARIES, not_in_row

    text = str(report.longrepr) if report.longrepr else ""
    status, message = Status.ERROR, first_line(text.splitlines()[-1] if text else "") or "import failed"
    for library in LIBRARIES:
        if f"No module named '{library}'" in text and not_in_row(library):
            status, message = Status.NOT_APPLICABLE, f"{library} is not in this row"
    fid = external.module_feature(name, report.nodeid)
    _state["described"].setdefault(fid, f"{report.nodeid} of {name}")
    record = {"test": report.nodeid, "features": [fid], "status": status.value,
              "message": f"{report.nodeid} failed to import: {message}" if status == Status.ERROR else message,
              "detail": text[-4000:], "duration": 0.0, "properties": [], "time": time.time()}
    if (out := _out(config)) is not None:
        with (out / "results.jsonl").open("a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps(record) + "\n")
