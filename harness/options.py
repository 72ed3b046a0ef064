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

    @classmethod
    def parse(cls, argv: list[str]) -> "RunOptions":
        p = argparse.ArgumentParser(prog="nox -s matrix --", exit_on_error=False)
        p.add_argument("--depth", choices=("quick", "full"), default=cls.depth,
                       help="quick: each family of checks once (CI); full: every model and exporter")
        p.add_argument("--suites", nargs="+", default=[], help="paths under suites/, e.g. core vision/test_onnx.py")
        p.add_argument("--timeout", type=float, default=cls.timeout, help="bound on one row's suites, s")
        known, rest = p.parse_known_args(argv)
        return cls(known.depth, tuple(known.suites), known.timeout, tuple(rest))

    def suite_args(self) -> list[str]:
        args = ["--depth", self.depth, "--timeout", str(self.timeout)]
        if self.suites:
            args += ["--suites", *self.suites]
        if self.pytest_args:
            args += ["--", *self.pytest_args]
        return args
