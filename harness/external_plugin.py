"""pytest plugin for an external project's run (`-p harness.plugin -p harness.external_plugin
--harness-external NAME`): gives each test its feature id before the harness plugin checks them.

A test's features are the project's own `@pytest.mark.feature(...)` ids under `ext.<name>.`, or else its
module's id (`ext.<name>.<module>`, see harness.external.module_feature). The ids join the harness
registry for this run, and `features.json` beside the results keeps their descriptions (the module's
docstring) for the report. A module that fails to import is its feature's `error` (or `n/a` when it
needs a library the row leaves out), and the other modules still run (--continue-on-collection-errors).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import external, fsio
from harness.artefacts import TestResult
from harness.plugin import PLUGIN, import_failure
from harness.registry import Feature
from harness.status import Status

EXTERNAL = pytest.StashKey["ExternalPlugin"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption("--harness-external", default=None,
                                         help="the external project's name: its tests become ext.<name>.* features")


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("--harness-external")
    if name:
        plugin = ExternalPlugin(config, name)
        config.stash[EXTERNAL] = plugin
        config.pluginmanager.register(plugin, "harness-external")


def _summary(doc: str | None, fallback: str) -> str:
    """A module docstring's first paragraph, on one line (the feature's description)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split()) or fallback


def item_features(name: str, module: str, marks: list[str]) -> list[str]:
    """The feature ids of one test: its own markers under ext.<name>., or its module's id."""
    return [external.marker_feature(name, m) for m in marks] or [external.module_feature(name, module)]


class ExternalPlugin:
    """One external project's pytest run: `name` the project, `described` feature id -> description."""

    def __init__(self, config: pytest.Config, name: str) -> None:
        self.config = config
        self.name = name
        self.described: dict[str, str] = {}
        results = config.getoption("--harness-results")
        self.out = Path(results).parent if results else None

    def _module(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.config.rootpath.resolve()).as_posix()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        registry = config.stash[PLUGIN].registry
        for item in items:
            module = self._module(item.path)
            own = [fid for mark in item.iter_markers("feature") for fid in mark.args]
            ids = item_features(self.name, module, own)
            for node in item.listchain():  # the project's own marks give way to the prefixed ids
                node.own_markers[:] = [m for m in node.own_markers if m.name != "feature"]
            item.add_marker(pytest.mark.feature(*ids))
            doc = getattr(getattr(item, "module", None), "__doc__", None)
            for fid in ids:
                self.described.setdefault(fid, _summary(doc, f"{module} of {self.name}"))
                registry.setdefault(fid, Feature(fid, self.described[fid], f"ext.{self.name}"))
        if self.out is not None:
            fsio.write_json(self.out / external.FEATURES, dict(sorted(self.described.items())))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be imported: its feature gets the error (the harness plugin's own record
        names only an area, which an external module does not have)."""
        if not (report.failed and report.nodeid.endswith(".py")):
            return
        text = str(report.longrepr) if report.longrepr else ""
        status, message = import_failure(text)
        fid = external.module_feature(self.name, report.nodeid)
        self.described.setdefault(fid, f"{report.nodeid} of {self.name}")
        self.config.stash[PLUGIN].write(TestResult(
            report.nodeid, [fid], status,
            f"{report.nodeid} failed to import: {message or 'import failed'}" if status == Status.ERROR else message,
            text[-4000:], time=time.time()))
