"""What a user sees while a row runs: one live line (rich) on a terminal, a line per module without one,
and after the row a short table of the features that need a look.

Progress is read from the results file the plugin appends to (one JSON line per test), so it needs
nothing from the pytest processes beyond what they already write.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.collect import module_of, parse_records, read_records
from harness.status import BROKEN, Status

if TYPE_CHECKING:
    from rich.live import Live

QUIET = {Status.PASS, Status.ABSENT, Status.NOT_APPLICABLE}


@dataclass
class Tally:
    """Counts folded from the results file so far (pure: `add` takes one record)."""

    collected: dict[str, list[str]] = field(default_factory=dict)
    done: dict[str, str] = field(default_factory=dict)  # test -> status
    current: str = ""

    def add(self, record: dict) -> str | None:
        """Fold one record; the module it completed, if it completed one."""
        if "collected" in record:
            self.collected.update(record["collected"])
        elif "test" in record:
            self.done[record["test"]] = record["status"]
            self.current = module_of(record["test"])
            module = self.current
            tests = [t for t in self.collected if module_of(t) == module]
            if tests and all(t in self.done for t in tests):
                return module
        return None

    @property
    def failures(self) -> int:
        return sum(Status(s) in BROKEN for s in self.done.values())

    def module_line(self, module: str) -> str:
        statuses = [s for t, s in self.done.items() if module_of(t) == module]
        bad = sum(Status(s) in BROKEN for s in statuses)
        return f"{module}: {len(statuses)} checks" + (f", {bad} failing" if bad else "")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Live progress of one row; use as a context manager around the row's phases."""

    def __init__(self, row: str, results: Path, previous: Path | None, stream=None):
        self.row, self.results, self.stream = row, results, stream or sys.stdout
        self.tally = Tally()
        self.offset = 0
        self.started = time.monotonic()
        self.expected = _previous_seconds(previous)
        self.live: Live | None = None
        self.phase = ""

    def __enter__(self) -> "Progress":
        if self.stream.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live("", console=Console(file=self.stream), refresh_per_second=2, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None

    def _read(self) -> list[dict]:
        if not self.results.exists():
            return []
        with self.results.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self.offset += len(complete)
        return parse_records(complete.decode("utf-8", "replace"))

    def line(self) -> str:
        """`torch-2.14 checks 45/120 · 2 failing · vision/test_onnx.py · 2:31 · ~3:10 left`"""
        elapsed = time.monotonic() - self.started
        parts = [f"{self.row} {self.phase} {len(self.tally.done)}/{len(self.tally.collected)}",
                 f"{self.tally.failures} failing", self.tally.current or "starting", _clock(elapsed)]
        if self.expected:
            parts.append(f"~{_clock(self.expected - elapsed)} left" if elapsed < self.expected else "over last run")
        return " · ".join(parts)

    def update(self, phase: str) -> None:
        self.phase = phase
        for record in self._read():
            finished = self.tally.add(record)
            if finished and self.live is None:
                print(f"{self.row}: {self.tally.module_line(finished)} ({_clock(time.monotonic() - self.started)})",
                      file=self.stream, flush=True)
        if self.live is not None:
            from rich.text import Text

            self.live.update(Text(self.line()))  # plain text: no markup or number highlighting

    def finish(self) -> None:
        """After the row: the features that are not pass/absent/n/a, one line each."""
        from harness.collect import feature_outcomes
        from harness.registry import load_registry
        from harness.summary import read_exit

        from harness.external import records as external_records

        records = read_records(self.results) + external_records(self.results.parent)  # ext.* features too
        outcomes = feature_outcomes(load_registry(), records, read_exit(self.results.parent))
        attention = sorted((fid, o) for fid, o in outcomes.items() if o.status not in QUIET)
        if self.live is not None:
            self.update(self.phase)
            self.__exit__(None, None, None)
        if not attention:
            print(f"{self.row}: every feature pass, absent or n/a", file=self.stream, flush=True)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{self.row}: features to look at (before expectations)", title_justify="left")
        for column in ("feature", "status", "message"):
            table.add_column(column, overflow="fold")
        for fid, outcome in attention:
            table.add_row(fid, outcome.status.value, outcome.message[:160])
        Console(file=self.stream, width=max(100, Console(file=self.stream).width)).print(table)


def _previous_seconds(previous_results: Path | None) -> float | None:
    """How long the same row's suites took last time (its pytest.json), if known."""
    from harness.summary import read_exit

    seconds = read_exit(previous_results.parent).get("seconds") if previous_results else None
    return float(seconds) if isinstance(seconds, (int, float)) else None
