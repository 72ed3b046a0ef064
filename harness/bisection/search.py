"""The search itself, pure: candidates 0 (the good end) .. n-1 (the bad end), a probe that
answers good, bad, skip or flaky, and the first bad candidate; verdicts from statuses and timings.

Like `git bisect` (https://git-scm.com/docs/git-bisect): a candidate that cannot be tested is
skipped and the search steps around it; a release that gives both answers is flaky.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

from harness import stats
from harness.status import Status


class Verdict(StrEnum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"     # cannot be told: not installable, or the check could not run there
    FLAKY = "flaky"   # both good and bad on the same release


class Outcome(StrEnum):
    """How a search ended (str-valued: the JSON holds the value)."""

    BOUNDARY = "boundary"                # last good and first bad are adjacent candidates
    FLAKY = "flaky"                      # a release gave both answers: no boundary is claimed
    SKIPPED = "skipped"                  # only skipped candidates lie between: first bad is one of suspects
    GOOD_END_BAD = "good-end-is-bad"     # the ends do not bracket a change
    BAD_END_GOOD = "bad-end-is-good"
    END_UNTESTABLE = "end-untestable"    # an end could not be installed or checked


BOUNDARY, FLAKY, SKIPPED = Outcome.BOUNDARY, Outcome.FLAKY, Outcome.SKIPPED
GOOD_END_BAD, BAD_END_GOOD, END_UNTESTABLE = Outcome.GOOD_END_BAD, Outcome.BAD_END_GOOD, Outcome.END_UNTESTABLE


@dataclass(frozen=True)
class SearchResult:
    outcome: Outcome
    last_good: int | None = None
    first_bad: int | None = None
    flaky: int | None = None
    suspects: tuple[int, ...] = ()
    probes: tuple[tuple[int, Verdict], ...] = ()


def next_probe(lo: int, hi: int, skipped: set[int]) -> int | None:
    """The untested, unskipped candidate nearest the middle of (lo, hi); the lower one on a tie."""
    pool = [i for i in range(lo + 1, hi) if i not in skipped]
    if not pool:
        return None
    middle = (lo + hi) / 2
    return min(pool, key=lambda i: (abs(i - middle), i))


def search(n: int, probe: Callable[[int], Verdict], *, confirm: int = 1) -> SearchResult:
    """Binary search for the first bad candidate; 0 must be good and n-1 bad.

    Once the boundary is bracketed, each side of it is probed `confirm` more times: a side that
    answers differently is flaky, and a flaky release is reported instead of a boundary.
    """
    if n < 2:
        raise ValueError("a bisect needs a good and a bad end")
    log: list[tuple[int, Verdict]] = []

    def ask(i: int) -> Verdict:
        verdict = probe(i)
        log.append((i, verdict))
        return verdict

    for end, wanted, wrong in ((0, Verdict.GOOD, GOOD_END_BAD), (n - 1, Verdict.BAD, BAD_END_GOOD)):
        verdict = ask(end)
        if verdict is Verdict.FLAKY:
            return SearchResult(FLAKY, flaky=end, probes=tuple(log))
        if verdict is Verdict.SKIP:
            return SearchResult(END_UNTESTABLE, probes=tuple(log))
        if verdict is not wanted:
            return SearchResult(wrong, probes=tuple(log))
    lo, hi = 0, n - 1
    skipped: set[int] = set()
    while (m := next_probe(lo, hi, skipped)) is not None:
        verdict = ask(m)
        if verdict is Verdict.GOOD:
            lo = m
        elif verdict is Verdict.BAD:
            hi = m
        elif verdict is Verdict.SKIP:
            skipped.add(m)
        else:
            return SearchResult(FLAKY, lo, hi, flaky=m, probes=tuple(log))
    for _ in range(confirm):
        for i, wanted in ((lo, Verdict.GOOD), (hi, Verdict.BAD)):
            if ask(i) is not wanted:
                return SearchResult(FLAKY, lo, hi, flaky=i, probes=tuple(log))
    if hi - lo > 1:
        return SearchResult(SKIPPED, lo, hi, suspects=tuple(range(lo + 1, hi + 1)), probes=tuple(log))
    return SearchResult(BOUNDARY, lo, hi, probes=tuple(log))


GOOD_STATUSES = {Status.PASS}
BAD_STATUSES = {Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.ABSENT}


def verdict_of(status: Status) -> Verdict:
    """A feature's raw status (no expectations applied) as an answer to 'is this release good?'."""
    if status in GOOD_STATUSES:
        return Verdict.GOOD
    if status in BAD_STATUSES:
        return Verdict.BAD
    return Verdict.SKIP  # install-failed, a missing harness prerequisite, n/a


def classify(verdicts: list[Verdict]) -> Verdict:
    """One answer for a release from all its runs: mixed good and bad is flaky."""
    answers = set(verdicts) - {Verdict.SKIP}
    if not answers:
        return Verdict.SKIP
    if len(answers) > 1 or Verdict.FLAKY in answers:
        return Verdict.FLAKY
    return answers.pop()


@dataclass(frozen=True)
class SlowdownRule:
    """A release is bad for a benchmark when it is slower than the good end with confidence:
    the ratio of process medians (new / good) has p < alpha and is at least 1 + min_effect."""

    alpha: float = 0.01
    min_effect: float = 0.10

    def slower(self, estimate: stats.Estimate) -> bool:
        return estimate.p_value < self.alpha and estimate.ratio >= 1.0 + self.min_effect


def compare(base: list[list[float]], new: list[list[float]]) -> stats.Estimate:
    """new / base with a 95 % interval; each element is the rounds of one process (unpaired:
    the two sides' processes timed apart, `--unpaired`)."""
    return stats.compare_processes(base, new)


Pair = tuple[list[float], list[float]]  # (rounds of the good end's process, of the candidate's)


def compare_pairs(pairs: list[Pair]) -> stats.Estimate:
    """candidate / good end from interleaved pairs of back-to-back processes, with a 95 %
    interval and p-value from the SD of the pairs' log ratios (stats.compare_paired): the drift
    of the machine, shared by the two processes of a pair, cancels. ValueError under 2 pairs."""
    return stats.compare_paired(pairs)


def pair_logs(pairs: list[Pair]) -> list[float]:
    """Each pair's log ratio, log(candidate statistic) - log(good end statistic)."""
    return [stats.log_stat(new) - stats.log_stat(base) for base, new in pairs]


def compare_through_good_end(base: list[Pair], new: list[Pair]) -> stats.Estimate:
    """new / base for two candidates each timed in pairs with the good end: the ratio of their
    paired ratios to the good end, a two-sample t on the pairs' log ratios (stats.compare_logs),
    so neither side carries the drift between the two probes. ValueError with a side empty."""
    return stats.compare_logs(pair_logs(base), pair_logs(new))


def describe_estimate(e: stats.Estimate) -> str:
    """`x1.234 (95% CI 1.1-1.3, p=0.001)`: an estimate on one line."""
    return f"x{e.ratio:.3f} (95% CI {e.low:.3f}-{e.high:.3f}, p={e.p_value:.2g})"
