"""Feature statuses and how the outcomes of several tests fold into one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
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


# What differs between rows and runs for the same failure: ANSI colour codes, object addresses, and the
# paths of the row's own environment, Python and temporary directories.
NOISE = (
    (re.compile(r"\x1b\[[0-9;?]*[A-Za-z]"), ""),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x…"),
    (re.compile(r"(?:/[^\s'\"():]+)*/(?:site|dist)-packages/"), "<site-packages>/"),
    (re.compile(r"(?:/[^\s'\"():]+)*/lib/python3\.\d+/"), "<python>/"),
    (re.compile(r"(?:/[^\s'\"():]+)*/pytest-of-[^/\s]+/pytest-\d+/"), "<tmp>/"),
    (re.compile(r"/tmp/tmp[\w.-]+/"), "<tmp>/"),
)


def normalise(text: str) -> str:
    """`text` with colour codes, object addresses and environment paths replaced by placeholders, so the
    same failure reads the same in every row (and expectation regexes stay simple)."""
    for pattern, placeholder in NOISE:
        text = pattern.sub(placeholder, text)
    return text


def first_line(text: str, limit: int = 300) -> str:
    """The first non-blank line of `text`, normalised, at most `limit` characters."""
    for line in normalise(str(text)).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions behind it, outermost first: `raise ... from` causes, else the exception
    being handled when it was raised (unless suppressed with `from None`)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


def describe(exc: BaseException) -> str:
    """`Type: first line of the message`, normalised."""
    text = first_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


OUTCOMES = {"Failed", "Skipped", "XFailed", "Exit"}  # pytest's OutcomeException subclasses


def root_cause(exc: BaseException) -> tuple[str, str]:
    """(first line naming the innermost cause, the whole chain outermost first, one line each; "" when
    `exc` has no cause). A check's own assertion and pytest's outcome exceptions (skip, fail, timeout) are
    their own cause: whatever they were raised while handling is context, not cause."""
    own = isinstance(exc, AssertionError) or type(exc).__name__ in OUTCOMES
    chain = [exc] if own else exception_chain(exc)
    innermost = chain[-1]
    if len(chain) == 1:
        return describe(innermost), ""
    return describe(innermost), "Exception chain (outermost first):\n" + "\n".join(
        f"  {'  ' * depth}{describe(e)}" for depth, e in enumerate(chain))
