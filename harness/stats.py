"""Statistics for benchmark comparisons, in the standard library only (no numpy/scipy).

Timing model. One process measures one benchmark as a list of rounds (seconds). Rounds inside a
process are cheap and plentiful, but processes differ from each other by far more than their
rounds suggest (on the shared 2-core machines: 7-11 % CV between process medians). So a
comparison works on the *log of each process's median* and needs the process-to-process
standard deviation `sigma`: measured from several processes where a side has them (history,
interleaved A/B), otherwise taken from calibration (`python -m harness.calibrate`).

Everything here is deterministic: random draws use a local `random.Random(seed)`.
"""
from __future__ import annotations

import functools
import math
import random
import statistics
from dataclasses import dataclass
from typing import Callable, Sequence

_NORMAL = statistics.NormalDist()


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


def log_median(rounds: Sequence[float]) -> float:
    """The per-process statistic the rule compares: log of the median round."""
    m = median(rounds)
    if m <= 0:
        raise ValueError("rounds must be positive durations")
    return math.log(m)


def sd(xs: Sequence[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


# ---- distributions ----------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz's method)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function; df=inf gives the normal."""
    if math.isinf(df):
        return _NORMAL.cdf(t)
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on t_cdf, accurate to ~1e-10)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie in (0, 1)")
    if math.isinf(df):
        return _NORMAL.inv_cdf(p)
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2.0


def normal_cdf(z: float) -> float:
    return _NORMAL.cdf(z)


# ---- tests on raw rounds ----------------------------------------------------------------------

def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """U statistic of `b` against `a` and its two-sided p-value (normal approximation, tie- and
    continuity-corrected). Valid for rounds of ONE process per side: it cannot see process noise."""
    n1, n2 = len(a), len(b)
    if not n1 or not n2:
        raise ValueError("both samples need values")
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[k] = rank
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r2 = sum(r for r, (_, side) in zip(ranks, pooled) if side == 1)
    u = r2 - n2 * (n2 + 1) / 2.0
    n = n1 + n2
    mu = n1 * n2 / 2.0
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return u, 1.0
    z = (abs(u - mu) - 0.5) / math.sqrt(var)
    return u, min(1.0, 2.0 * (1.0 - normal_cdf(max(z, 0.0))))


def bootstrap_ratio_ci(a: Sequence[float], b: Sequence[float], *, level: float = 0.95,
                       n_boot: int = 1000, seed: int = 0,
                       stat: Callable[[Sequence[float]], float] = median) -> tuple[float, float]:
    """Percentile bootstrap interval of stat(b) / stat(a), resampling rounds within each side."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(n_boot):
        ra = stat(rng.choices(a, k=len(a)))
        rb = stat(rng.choices(b, k=len(b)))
        ratios.append(rb / ra)
    alpha = (1.0 - level) / 2.0
    return quantile(ratios, alpha), quantile(ratios, 1.0 - alpha)


def median_log_se(rounds: Sequence[float]) -> float:
    """Standard error of log(median(rounds)) within one process, distribution-free: the
    order-statistic 95% interval of the median (ranks n/2 -/+ 1.96 sqrt(n)/2), divided by 2 x 1.96.
    It is how precisely one process knows its own median, blind to process-to-process noise."""
    n = len(rounds)
    if n < 6:
        return 0.0
    s = sorted(rounds)
    z = _NORMAL.inv_cdf(0.975)
    lo = max(0, math.floor(n / 2 - z * math.sqrt(n) / 2) - 1)
    hi = min(n - 1, math.ceil(n / 2 + z * math.sqrt(n) / 2))
    return (math.log(s[hi]) - math.log(s[lo])) / (2 * z)


def resolution(base_se: Sequence[float], new_se: Sequence[float], level: float = 0.95) -> float:
    """Half-width (as a ratio - 1) of the within-process interval of the log ratio of the two
    sides' mean log-medians: differences smaller than this the rounds themselves cannot resolve."""
    var = sum(e * e for e in base_se) / len(base_se) ** 2 + sum(e * e for e in new_se) / len(new_se) ** 2
    return math.expm1(_NORMAL.inv_cdf(0.5 + level / 2) * math.sqrt(var))


# ---- the process-level comparison -------------------------------------------------------------

@dataclass(frozen=True)
class Noise:
    """Process-to-process SD of log(median), with the degrees of freedom it was estimated on."""

    sigma: float
    df: float
    source: str = ""

    @staticmethod
    def pool(parts: Sequence["Noise"]) -> "Noise":
        """Pooled variance (weights = degrees of freedom), like a pooled-variance t-test."""
        parts = [p for p in parts if p.df > 0]
        if not parts:
            raise ValueError("nothing to pool")
        df = sum(p.df for p in parts)
        var = sum(p.df * p.sigma ** 2 for p in parts) / df
        return Noise(math.sqrt(var), df, " + ".join(p.source for p in parts if p.source))


@dataclass(frozen=True)
class Estimate:
    """new/base ratio of process medians with a CI and a two-sided p-value for 'ratio == 1'."""

    ratio: float
    low: float
    high: float
    p_value: float
    se_log: float
    df: float


def compare_processes(base: Sequence[Sequence[float]], new: Sequence[Sequence[float]], *,
                      prior: Noise | None = None, level: float = 0.95) -> Estimate:
    """Ratio of geometric-mean process medians, new over base, with a t interval.

    Each element of `base`/`new` is the rounds of one process. The variance of a process's
    log-median is the pooled within-side spread of the processes (when a side has several),
    pooled with `prior` (calibration), so one process per side still gets an honest interval.
    """
    return compare_logs([log_median(r) for r in base], [log_median(r) for r in new],
                        prior=prior, level=level)


def compare_logs(xs: Sequence[float], ys: Sequence[float], *, prior: Noise | None = None,
                 level: float = 0.95) -> Estimate:
    """compare_processes on the processes' log-medians."""
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
    return compare_paired_logs([log_median(b) - log_median(a) for a, b in pairs], prior=prior,
                               level=level)


def compare_paired_logs(diffs: Sequence[float], *, prior: Noise | None = None,
                        level: float = 0.95) -> Estimate:
    """compare_paired on the pairs' log-median differences (B - A)."""
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
    p = 2.0 * (1.0 - t_cdf(abs(t), df))
    return Estimate(math.exp(diff), math.exp(diff - q * se), math.exp(diff + q * se),
                    min(1.0, max(p, 0.0)), se, df)


def detectable_ratio(se_log: float, df: float, *, alpha: float, power: float = 0.8,
                     min_effect: float = 0.0) -> float:
    """Smallest slowdown (as a ratio > 1) flagged with probability `power` by a two-sided test at
    `alpha` whose log-ratio has standard error `se_log`, and which also clears `min_effect`."""
    shift = (t_ppf(1.0 - alpha / 2.0, df) + t_ppf(power, df)) * se_log
    return max(math.exp(shift), 1.0 + min_effect)


# ---- change points ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Shift:
    index: int          # first position of the new level
    ratio: float        # exp(mean after - mean before) on the log scale
    p_value: float      # permutation p-value of the max-t split statistic


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


def change_points(series: Sequence[float], *, alpha: float = 0.01, min_size: int = 2,
                  min_effect: float = 0.0, n_perm: int = 999, seed: int = 0) -> list[Shift]:
    """Level shifts in a series of log values, by binary segmentation.

    Each segment's best split (largest two-sample t) is accepted when a permutation test of the
    max-t statistic gives p < alpha and the shift is at least `min_effect`; then both halves are
    searched again. Each new level needs `min_size` points, so one odd run is not a change.
    """
    found: list[Shift] = []
    rng = random.Random(seed)

    def search(lo: int, hi: int) -> None:
        seg = list(series[lo:hi])
        if len(seg) < 2 * min_size:
            return
        k, t_obs = _best_split(seg, min_size)
        if k < 0:
            return
        exceed, done = 0, 0
        perm = seg[:]
        give_up = alpha * (n_perm + 1)  # this many exceedances already mean p >= alpha
        for done in range(1, n_perm + 1):
            rng.shuffle(perm)
            if _best_split(perm, min_size)[1] >= t_obs - 1e-12:
                exceed += 1
                if exceed >= give_up:
                    break
        p = (exceed + 1) / (done + 1) if exceed >= give_up else (exceed + 1) / (n_perm + 1)
        shift = statistics.fmean(seg[k:]) - statistics.fmean(seg[:k])
        if p < alpha and abs(math.expm1(shift)) >= min_effect:
            found.append(Shift(lo + k, math.exp(shift), p))
            search(lo, lo + k)
            search(lo + k, hi)

    search(0, len(series))
    return sorted(found, key=lambda s: s.index)
