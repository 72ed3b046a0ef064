"""Statistics for benchmark comparisons; the distributions (Student's t, normal) are scipy's.

Timing model. One process measures one benchmark as a list of rounds (seconds). Rounds inside a
process are cheap and plentiful, but processes differ from each other by more than their rounds
suggest (other jobs on the shared 2-core machines, allocator state, CPU frequency). So a
comparison works on the *log of one statistic per process* (process_stat: a low percentile of
its rounds) and needs the process-to-process standard deviation `sigma` of that log: measured
from several processes where a side has them (history, interleaved A/B), otherwise taken from
calibration (`python -m harness.calibrate`).

Everything here is deterministic: random draws use a local `random.Random(seed)`.
"""
from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass
from typing import Sequence

# ---- descriptive ------------------------------------------------------------------------------

def median(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("median of an empty sample")
    return statistics.median(xs)


def quantile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default 'linear' method)."""
    if not xs:
        raise ValueError("quantile of an empty sample")
    s = sorted(xs)
    pos = (len(s) - 1) * min(max(q, 0.0), 1.0)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# The per-process statistic the rule compares: the 5th percentile of the rounds. Contention from
# other jobs only ever adds time, so the fast rounds of a process vary least between processes:
# in 40 A/A processes here (CPU time) the SD of log(statistic) was, for median / p5 / min,
# ResNet18 4.2 / 2.9 / 2.7 %, MFCC of one clip 5.7 / 3.3 / 2.4 %, lowpass_biquad 4.6 / 3.1 / 2.5 %.
# p5 is nearly as steady as the minimum, yet an order statistic with a proper interval
# (stat_log_se) and not at the mercy of one odd round.
PROCESS_QUANTILE = 0.05


def stat_name() -> str:
    """How reports name the statistic: 'median', 'min' or 'p10'."""
    q = PROCESS_QUANTILE
    return {0.5: "median", 0.0: "min"}.get(q, f"p{round(q * 100)}")


def process_stat(rounds: Sequence[float]) -> float:
    """The per-process statistic the rule compares: the PROCESS_QUANTILE of the rounds."""
    return quantile(rounds, PROCESS_QUANTILE)


def log_stat(rounds: Sequence[float]) -> float:
    """log(process_stat(rounds))."""
    m = process_stat(rounds)
    if m <= 0:
        raise ValueError("rounds must be positive durations")
    return math.log(m)


def sd(xs: Sequence[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


# ---- distributions ----------------------------------------------------------------------------
# Student's t and the normal are scipy's (a dependency of the harness and of every row's
# environment): the functions scipy.stats.t and scipy.stats.norm evaluate, scipy.special.stdtr,
# stdtrit, ndtr and ndtri, called directly because they are ufuncs costing ~1 us a call where
# scipy.stats.t.sf costs ~20 us of argument handling, and calibration's power search makes ~10^5
# calls a benchmark. tests/test_stats.py checks them against scipy.stats.t/norm over a grid.
# scipy is imported on first use, not with this module: the nox process imports harness.summary,
# which reads benchmark files (median, quantile here) with only nox and uv installed.

def _special():
    """scipy.special, imported once on first use."""
    import scipy.special
    return scipy.special


def _check_df(df: float, what: str) -> None:
    if not df > 0:
        raise ValueError(f"{what}: degrees of freedom must be positive, got {df}")


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function P(T <= t) with `df` degrees of freedom (df > 0, may be
    fractional, as pooled degrees of freedom are); df=inf gives the standard normal.
    Raises ValueError for df <= 0. Upstream: scipy.special.stdtr / ndtr (scipy.stats.t.cdf)."""
    _check_df(df, "t_cdf")
    if math.isinf(df):
        return float(_special().ndtr(t))
    return float(_special().stdtr(df, t))


def t_sf(t: float, df: float) -> float:
    """Upper tail P(T > t) = 1 - t_cdf(t, df), computed as t_cdf(-t, df) so that far in the tail
    (p-values of large t) it does not cancel to 0. Upstream: scipy.stats.t.sf."""
    return t_cdf(-t, df)


@functools.lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: the t with t_cdf(t, df) == p, for 0 < p < 1 and df > 0
    (df=inf: the standard normal). Raises ValueError outside that domain rather than clipping.
    Upstream: scipy.special.stdtrit / ndtri (scipy.stats.t.ppf)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_ppf: p must lie in (0, 1), got {p}")
    _check_df(df, "t_ppf")
    if math.isinf(df):
        return float(_special().ndtri(p))
    return float(_special().stdtrit(df, p))


@functools.lru_cache(maxsize=256)
def normal_ppf(p: float) -> float:
    """Standard normal quantile, 0 < p < 1 (ValueError outside).
    Upstream: scipy.special.ndtri (scipy.stats.norm.ppf)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_ppf: p must lie in (0, 1), got {p}")
    return float(_special().ndtri(p))


# ---- within one process ---------------------------------------------------------------------

def stat_log_se(rounds: Sequence[float]) -> float:
    """Standard error of log(process_stat(rounds)) within one process, distribution-free: the
    order-statistic 95% interval of the quantile q (ranks nq -/+ 1.96 sqrt(nq(1-q))) divided by
    2 x 1.96. It is how precisely one process knows its own statistic, blind to process noise."""
    n, q = len(rounds), PROCESS_QUANTILE
    if n < 6:
        return 0.0
    s = sorted(rounds)
    z = normal_ppf(0.975)
    half = z * math.sqrt(n * q * (1 - q))
    lo = min(max(0, math.floor(n * q - half) - 1), n - 1)
    hi = max(min(n - 1, math.ceil(n * q + half)), 0)
    return (math.log(s[hi]) - math.log(s[lo])) / (2 * z)


def resolution(base_se: Sequence[float], new_se: Sequence[float], level: float = 0.95) -> float:
    """Half-width (as a ratio - 1) of the within-process interval of the log ratio of the two
    sides' mean log statistics: differences smaller than this the rounds cannot resolve."""
    var = sum(e * e for e in base_se) / len(base_se) ** 2 + sum(e * e for e in new_se) / len(new_se) ** 2
    return math.expm1(normal_ppf(0.5 + level / 2) * math.sqrt(var))


# ---- the process-level comparison -------------------------------------------------------------

@dataclass(frozen=True)
class Noise:
    """Process-to-process SD of the log statistic, with the degrees of freedom behind it;
    `foreign`: measured on another machine than the one judged (harness/calibration.py)."""

    sigma: float
    df: float
    source: str = ""
    foreign: bool = False

    @staticmethod
    def pool(parts: Sequence["Noise"]) -> "Noise":
        """Pooled variance (weights = degrees of freedom), like a pooled-variance t-test."""
        parts = [p for p in parts if p.df > 0]
        if not parts:
            raise ValueError("nothing to pool")
        df = sum(p.df for p in parts)
        var = sum(p.df * p.sigma ** 2 for p in parts) / df
        return Noise(math.sqrt(var), df, " + ".join(p.source for p in parts if p.source),
                     any(p.foreign for p in parts))


@dataclass(frozen=True)
class Estimate:
    """new/base ratio of process statistics, its CI and the two-sided p-value of 'ratio == 1'."""

    ratio: float
    low: float
    high: float
    p_value: float
    se_log: float
    df: float


def compare_processes(base: Sequence[Sequence[float]], new: Sequence[Sequence[float]], *,
                      prior: Noise | None = None, level: float = 0.95) -> Estimate:
    """Ratio of the geometric means of the process statistics, new over base, with a t interval.

    Each element of `base`/`new` is the rounds of one process. The variance of a process's
    log statistic is the pooled within-side spread of the processes (when a side has several),
    pooled with `prior` (calibration), so one process per side still gets an honest interval.
    """
    return compare_logs([log_stat(r) for r in base], [log_stat(r) for r in new],
                        prior=prior, level=level)


def compare_logs(xs: Sequence[float], ys: Sequence[float], *, prior: Noise | None = None,
                 level: float = 0.95) -> Estimate:
    """compare_processes on the processes' log statistics."""
    if not xs or not ys:
        raise ValueError("each side needs at least one process")
    parts = []
    own_df = (len(xs) - 1) + (len(ys) - 1)
    if own_df > 0:
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        ss = sum((x - mx) ** 2 for x in xs) + sum((y - my) ** 2 for y in ys)
        parts.append(Noise(math.sqrt(ss / own_df), own_df, "measured"))
    if prior is not None:
        parts.append(prior)
    if not parts:
        raise ValueError("one process per side and no prior noise: nothing to judge by")
    noise = Noise.pool(parts)
    diff = statistics.fmean(ys) - statistics.fmean(xs)
    se = noise.sigma * math.sqrt(1.0 / len(xs) + 1.0 / len(ys))
    return _estimate(diff, se, noise.df, level)


def compare_paired(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                   prior: Noise | None = None, level: float = 0.95) -> Estimate:
    """Interleaved A/B: each pair is (rounds of A, rounds of B) from back-to-back processes.

    Pairing cancels the slow drift of the machine's load; the SD of the pair differences is
    measured (pooled with `prior`, a per-process sigma, whose pair SD is sigma * sqrt 2).
    """
    return compare_paired_logs([log_stat(b) - log_stat(a) for a, b in pairs], prior=prior,
                               level=level)


def compare_paired_logs(diffs: Sequence[float], *, prior: Noise | None = None,
                        level: float = 0.95) -> Estimate:
    """compare_paired on the pairs' log-statistic differences (B - A)."""
    if not diffs:
        raise ValueError("no pairs")
    parts = []
    if len(diffs) > 1:
        parts.append(Noise(sd(diffs), len(diffs) - 1, "measured"))
    if prior is not None:
        parts.append(Noise(prior.sigma * math.sqrt(2.0), prior.df, prior.source))
    noise = Noise.pool(parts)
    return _estimate(statistics.fmean(diffs), noise.sigma / math.sqrt(len(diffs)), noise.df,
                     level)


def _estimate(diff: float, se: float, df: float, level: float) -> Estimate:
    if se <= 0:
        p = 0.0 if diff else 1.0
        return Estimate(math.exp(diff), math.exp(diff), math.exp(diff), p, 0.0, df)
    q = t_ppf(0.5 + level / 2.0, df)
    t = diff / se
    p = 2.0 * t_sf(abs(t), df)
    return Estimate(math.exp(diff), math.exp(diff - q * se), math.exp(diff + q * se),
                    min(1.0, max(p, 0.0)), se, df)


def robust_sigma(segments: Sequence[Sequence[float]]) -> tuple[float, int]:
    """(SD, degrees of freedom) of the values of several segments around each segment's own
    level, robust to rare outliers: 1.4826 x the median absolute deviation from each segment's
    median, scaled by sqrt(n / df) like a pooled SD (n values, df = n - number of segments).
    Bursts of other jobs slow one process in 40 by ~18 % (A/A calibration); in a plain pooled SD
    they would raise a 3 % process noise to about 4 %. Segments under 2 values are left out;
    (0.0, 0) when nothing is left."""
    residuals: list[float] = []
    used = 0
    for seg in segments:
        if len(seg) > 1:
            mid = statistics.median(seg)
            residuals += [abs(x - mid) for x in seg]
            used += 1
    df = len(residuals) - used
    if df <= 0:
        return 0.0, 0
    return 1.4826 * statistics.median(residuals) * math.sqrt(len(residuals) / df), df


def one_sided_slower(est: Estimate) -> float:
    """The one-sided p-value of "new is not slower" from a two-sided Estimate."""
    return est.p_value / 2.0 if est.ratio > 1.0 else 1.0 - est.p_value / 2.0


def discoveries(p_values: Sequence[float], q: float) -> list[bool]:
    """Benjamini-Hochberg at false-discovery rate `q` over one family (a night's comparisons):
    which p-values are discoveries. With every hypothesis true the chance of any discovery is
    at most q (for independent or positively dependent tests). Empty in, empty out.
    Upstream: scipy.stats.false_discovery_control (scipy >= 1.11), method "bh"."""
    if not p_values:
        return []
    from scipy.stats import false_discovery_control
    adjusted = false_discovery_control([min(max(p, 0.0), 1.0) for p in p_values], method="bh")
    return [bool(a <= q) for a in adjusted]


# ---- change points ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Shift:
    index: int          # first position of the new level
    ratio: float        # exp(median after - median before) on the log scale
    p_value: float      # split_p_value of the segment the shift was found in


MIN_LEVEL = 3   # runs a new level needs: two adjacent bursts of other jobs (1 in 1,600) are not one


def _best_split(xs: Sequence[float], min_size: int) -> tuple[int, float]:
    n = len(xs)
    prefix = [0.0]
    prefix2 = [0.0]
    for x in xs:
        prefix.append(prefix[-1] + x)
        prefix2.append(prefix2[-1] + x * x)
    best_k, best_t = -1, 0.0
    for k in range(min_size, n - min_size + 1):
        n1, n2 = k, n - k
        s1, s2 = prefix[k], prefix[n] - prefix[k]
        m1, m2 = s1 / n1, s2 / n2
        ss = (prefix2[k] - s1 * m1) + (prefix2[n] - prefix2[k] - s2 * m2)
        dof = n - 2
        var = max(ss / dof, 1e-18) if dof > 0 else 1e-18
        t = abs(m2 - m1) / math.sqrt(var * (1.0 / n1 + 1.0 / n2))
        if t > best_t:
            best_k, best_t = k, t
    return best_k, best_t


def split_p_value(xs: Sequence[float], min_size: int = MIN_LEVEL) -> tuple[int, float]:
    """(k, p) of a segment's best split into xs[:k] and xs[k:]: the split with the largest
    two-sample t of the values' ranks (each side at least `min_size` values), so a burst of
    other jobs weighs like any other high value, not by its size; p is the exact two-sided
    Mann-Whitney p-value of that split (scipy.stats.mannwhitneyu) times the number of splits
    tried. That is a valid p-value for "no shift in this segment" whatever the noise looks like
    and however short the segment (the split with the smallest exact p-value is at most that
    small, and Bonferroni bounds it), analytic where a night-wide false-discovery family needs
    it (a permutation test of 999 shuffles cannot go below 0.001; a t approximation on ranks
    was too liberal under 30 runs). (-1, 1.0) when the segment is too short to split.
    Upstream: Pettitt (1979), the rank change-point test, here with an exact tail."""
    from scipy.stats import mannwhitneyu, rankdata

    k, _ = _best_split([float(r) for r in rankdata(xs)], min_size)
    if k < 0:
        return -1, 1.0
    p = float(mannwhitneyu(list(xs[k:]), list(xs[:k]), alternative="two-sided", method="exact").pvalue)
    return k, min(1.0, (len(xs) - 2 * min_size + 1) * p)


def change_points(series: Sequence[float], *, alpha: float = 0.01, min_size: int = MIN_LEVEL,
                  min_effect: float = 0.0) -> list[Shift]:
    """Level shifts in a series of log values, by binary segmentation.

    Each segment's best split is accepted when its split_p_value is at most `alpha` and the
    shift (median after - median before, robust to a burst) is at least `min_effect` (as a
    ratio - 1); then both sides are searched again. Each new level needs `min_size` points, so
    one or two odd runs are not a change. harness.perf sets `alpha` for a whole night at once,
    over every series (perf._change_point_level), not per series.
    """
    found: list[Shift] = []

    def search(lo: int, hi: int) -> None:
        seg = list(series[lo:hi])
        k, p = split_p_value(seg, min_size)
        if k < 0 or p > alpha:
            return
        shift = statistics.median(seg[k:]) - statistics.median(seg[:k])
        if abs(math.expm1(shift)) >= min_effect:
            found.append(Shift(lo + k, math.exp(shift), p))
            search(lo, lo + k)
            search(lo + k, hi)

    search(0, len(series))
    return sorted(found, key=lambda s: s.index)


def night_level(p_values: Sequence[float], q: float, cap: float) -> float:
    """The Benjamini-Hochberg rejection level of one family at false-discovery rate `q`: the
    largest p_(i) with p_(i) <= q i / m (sorted, m of them), or q / m when none is (then nothing
    is a discovery); never above `cap`. p <= the level is a discovery, as stats.discoveries
    decides it. Upstream: Benjamini & Hochberg (1995), step-up procedure."""
    ps = sorted(p_values)
    m = len(ps)
    if m == 0:
        return cap
    level = q / m
    for i, p in enumerate(ps, 1):
        if p <= q * i / m:
            level = max(level, p)
    return min(cap, level)


def without_outliers(xs: Sequence[float], limit: float) -> list[float]:
    """xs without the values further than `limit` from their median (log values of processes:
    a burst of other jobs slows one process in 40 by about 18 %, a wide fast tail speeds one
    in 100 by up to 15 %, and neither is the level being judged). Same order; a side of one or
    two values is returned whole (its median does not tell an outlier)."""
    if len(xs) < 3:
        return list(xs)
    mid = statistics.median(xs)
    return [x for x in xs if abs(x - mid) <= limit]


def rank_slower(base: Sequence[float], new: Sequence[float]) -> float:
    """One-sided p-value that `new` is not larger than `base` (log values of processes): the
    exact Mann-Whitney U test (scipy.stats.mannwhitneyu, method "exact"). It uses ranks only, so
    a burst of other jobs counts as one rank however slow it was, and its false-alarm rate is
    exact whatever the shape of the noise. Smallest possible value:
    1 / C(len(base) + len(new), len(new)). Raises ValueError on an empty side."""
    if not base or not new:
        raise ValueError("rank_slower needs values on both sides")
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(list(new), list(base), alternative="greater",
                              method="exact").pvalue)
