"""Feature statuses and how the outcomes of several tests fold into one."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    ABSENT = "absent"
    SKIPPED = "skipped"
    INSTALL_FAILED = "install-failed"
    KNOWN_FAILURE = "known-failure"
    FIXED = "fixed"
    NOT_APPLICABLE = "n/a"

    def __str__(self) -> str:
        return self.value


# Worst first: when several tests check one feature, the worst outcome is the feature's.
SEVERITY = [
    Status.INSTALL_FAILED, Status.CRASH, Status.TIMEOUT, Status.ERROR, Status.FAIL,
    Status.SKIPPED, Status.KNOWN_FAILURE, Status.FIXED, Status.PASS, Status.NOT_APPLICABLE,
    Status.ABSENT,
]
BROKEN = {Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.INSTALL_FAILED}


@dataclass(frozen=True)
class Outcome:
    """What one test (or one feature, once folded) came to."""

    status: Status
    message: str = ""
    test: str = ""

    def to_json(self) -> dict:
        data = {"status": self.status.value, "message": self.message}
        if self.test:
            data["test"] = self.test
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Outcome":
        return cls(Status(data["status"]), data.get("message", ""), data.get("test", ""))


def fold(outcomes: list[Outcome]) -> Outcome:
    """The worst outcome stands for the feature; a pass needs every test to pass."""
    if not outcomes:
        return Outcome(Status.ERROR, "no test checked this feature in this row")
    return min(outcomes, key=lambda o: SEVERITY.index(o.status))


def first_line(text: str, limit: int = 300) -> str:
    for line in str(text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
