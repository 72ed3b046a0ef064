"""Options given after `nox -s matrix --`, defined once as a typed class."""
from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    depth: str = "quick"
    suites: tuple[str, ...] = ()
    timeout: float = 3600.0
    pytest_args: tuple[str, ...] = ()
    workers: str = "auto"
    externals: tuple[str, ...] = ()  # --external PATH (repeatable): a team's pytest project, run in every row

    @classmethod
    def parse(cls, argv: list[str]) -> "RunOptions":
        p = argparse.ArgumentParser(prog="nox -s matrix --", exit_on_error=False)
        p.add_argument("--depth", choices=("quick", "full"), default=cls.depth,
                       help="quick: each family of checks once (CI); full: every model and exporter")
        p.add_argument("--suites", nargs="+", default=[], help="paths under suites/, e.g. core vision/test_onnx.py")
        p.add_argument("--timeout", type=float, default=cls.timeout, help="bound on one row's suites, s")
        p.add_argument("--workers", default=cls.workers,
                       help="xdist workers for the checks: a number, or auto (one per core)")
        p.add_argument("--external", action="append", default=[], metavar="PATH",
                       help="a project's pytest folder to run in every row as ext.<name>.<module> features")
        known, rest = p.parse_known_args(argv)
        return cls(known.depth, tuple(known.suites), known.timeout, tuple(rest), known.workers,
                   tuple(known.external))

    def suite_args(self) -> list[str]:
        args = ["--depth", self.depth, "--timeout", str(self.timeout), "--workers", self.workers]
        if self.suites:
            args += ["--suites", *self.suites]
        if self.pytest_args:
            args += ["--", *self.pytest_args]
        return args
