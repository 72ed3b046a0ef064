"""harness.stats: distributions against published values, the process-level comparison, change points."""
import math
import random

import pytest

from harness import stats


def process(rng, level, *, sigma=0.03, round_cv=0.03, n=30):
    """Rounds of one simulated process: a process-wide factor (sigma) times delays from other
    jobs (exponential, mean round_cv: contention only ever adds time)."""
    factor = math.exp(rng.gauss(0.0, sigma))
    return [level * factor * (1 + rng.expovariate(1.0) * round_cv) for _ in range(n)]


def test_quantile_matches_linear_interpolation():
    xs = [4.0, 1.0, 3.0, 2.0]
    assert stats.quantile(xs, 0.0) == 1.0
    assert stats.quantile(xs, 1.0) == 4.0
    assert stats.quantile(xs, 0.5) == pytest.approx(2.5)
    assert stats.quantile(xs, 0.25) == pytest.approx(1.75)


@pytest.mark.parametrize("p,df,expected", [
    # Student t quantiles from standard tables.
    (0.975, 1, 12.7062047), (0.975, 10, 2.2281389), (0.995, 19, 2.8609346), (0.8, 5, 0.9195438),
    (0.975, math.inf, 1.9599640),
])
def test_t_quantiles_match_tables(p, df, expected):
    assert stats.t_ppf(p, df) == pytest.approx(expected, abs=1e-6)
    assert stats.t_cdf(expected, df) == pytest.approx(p, abs=1e-7)  # tables give 7 decimals


def test_t_distribution_is_symmetric():
    for df in (2, 7, 30):
        assert stats.t_cdf(-1.3, df) == pytest.approx(1 - stats.t_cdf(1.3, df), abs=1e-12)
        assert stats.t_ppf(0.1, df) == pytest.approx(-stats.t_ppf(0.9, df), abs=1e-8)


@pytest.mark.parametrize("p,df,expected", [
    # Far tails, from published tables (the hand-written bisection this replaced clipped at 1000).
    (0.99995, 1, 6366.1977), (0.9995, 1, 636.61925), (0.9995, 2, 31.599055), (0.9995, 5, 6.8688266),
    (0.00005, 1, -6366.1977),
])
def test_far_tail_t_quantiles_are_not_clipped(p, df, expected):
    assert stats.t_ppf(p, df) == pytest.approx(expected, rel=1e-7)
    assert stats.t_cdf(expected, df) == pytest.approx(p, rel=1e-7)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 9.5, 19, 39, 58.25, 200, 1e4, math.inf])
def test_distributions_agree_with_scipy_stats_over_a_grid(df):
    # harness.stats calls the scipy.special functions behind scipy.stats.t / norm directly (fast
    # scalar ufuncs); this pins them to scipy.stats' own answers.
    import scipy.stats as sps  # a dependency of the harness
    dist = sps.norm if math.isinf(df) else sps.t(df)
    for p in (1e-6, 0.001, 0.005, 0.025, 0.1, 0.5, 0.8, 0.975, 0.995, 0.99995, 1 - 1e-9):
        assert stats.t_ppf(p, df) == pytest.approx(dist.ppf(p), rel=1e-9)
    for t in (-50.0, -3.0, -0.5, 0.0, 0.7, 2.0, 8.0, 40.0):
        assert stats.t_cdf(t, df) == pytest.approx(dist.cdf(t), rel=1e-9, abs=1e-300)
        assert stats.t_sf(t, df) == pytest.approx(dist.sf(t), rel=1e-9, abs=1e-300)


def test_fractional_degrees_of_freedom_lie_between_their_neighbours():
    # Pooled noise has fractional df (calibration df + history df); t is monotone in df.
    assert stats.t_ppf(0.995, 8) > stats.t_ppf(0.995, 8.5) > stats.t_ppf(0.995, 9)


def test_p_values_far_in_the_tail_stay_positive():
    # 1 - cdf would cancel to 0 here; the survival function keeps the value.
    assert 0.0 < stats.t_sf(40.0, 30) < 1e-25
    est = stats.compare_logs([0.0], [1.0], prior=stats.Noise(0.01, 30))
    assert 0.0 < est.p_value < 1e-20


@pytest.mark.parametrize("call,match", [
    (lambda: stats.t_ppf(0.0, 5), "p must lie in"), (lambda: stats.t_ppf(1.0, 5), "p must lie in"),
    (lambda: stats.t_ppf(0.5, 0), "degrees of freedom"), (lambda: stats.t_cdf(1.0, -1), "degrees of freedom"),
    (lambda: stats.normal_ppf(1.5), "p must lie in"),
])
def test_out_of_domain_arguments_raise_instead_of_clipping(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_reading_benchmark_files_does_not_import_scipy():
    # The nox process imports harness.summary (benchmark files: median, quantile) with only nox
    # and uv installed; scipy is imported when a distribution is first used.
    import subprocess
    import sys
    code = ("import sys, harness.summary, harness.perf, harness.stats as s; "
            "assert 'scipy' not in sys.modules, 'imported'; s.t_ppf(0.9, 3); "
            "assert 'scipy.special' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_process_statistic_is_a_low_percentile_with_a_within_process_se():
    rng = random.Random(0)
    quiet = process(rng, 0.01, sigma=0.0, round_cv=0.01, n=100)
    noisy = process(rng, 0.01, sigma=0.0, round_cv=0.10, n=100)
    assert stats.process_stat(list(range(1, 102))) == pytest.approx(1 + 100 * stats.PROCESS_QUANTILE)
    assert stats.stat_name() == f"p{round(stats.PROCESS_QUANTILE * 100)}"
    assert 0 < stats.stat_log_se(quiet) < stats.stat_log_se(noisy) < 0.05
    assert stats.stat_log_se([1.0, 2.0, 3.0]) == 0.0


def test_identical_processes_compare_as_ratio_one():
    rounds = [0.010, 0.011, 0.012, 0.010, 0.011]
    est = stats.compare_processes([rounds], [rounds], prior=stats.Noise(0.05, 10))
    assert est.ratio == pytest.approx(1.0)
    assert est.p_value == pytest.approx(1.0)
    assert est.low < 1.0 < est.high


def test_one_process_per_side_needs_a_prior():
    with pytest.raises(ValueError, match="prior"):
        stats.compare_processes([[1.0, 1.1]], [[1.0, 1.2]])


def test_a_twenty_percent_slowdown_is_significant_and_an_aa_pair_is_not():
    rng = random.Random(1)
    prior = stats.Noise(0.03, 19, "calibration")
    base = process(rng, 0.05)
    est = stats.compare_processes([base], [process(rng, 0.06)], prior=prior)
    assert est.ratio == pytest.approx(1.2, rel=0.1)
    assert est.p_value < 0.01 and est.low > 1.0
    aa = stats.compare_processes([base], [process(rng, 0.05)], prior=prior)
    assert aa.p_value > 0.01 and aa.low < 1.0 < aa.high


def test_comparison_is_antisymmetric():
    rng = random.Random(2)
    a, b = [process(rng, 0.05) for _ in range(3)], [process(rng, 0.055) for _ in range(4)]
    forward, backward = stats.compare_processes(a, b), stats.compare_processes(b, a)
    assert forward.ratio == pytest.approx(1 / backward.ratio)
    assert forward.p_value == pytest.approx(backward.p_value)


def test_rounds_alone_cannot_see_process_noise_but_the_prior_does():
    """Two processes of the same code differ by their process factor; a test on the rounds
    would call that significant, the process-level comparison with sigma does not."""
    rng = random.Random(3)
    a, b = process(rng, 0.05, sigma=0.0), process(rng, 0.05 * 1.08, sigma=0.0)
    loose = stats.compare_processes([a], [b], prior=stats.Noise(0.10, 19))
    assert loose.p_value > 0.01
    assert stats.resolution([stats.stat_log_se(a)], [stats.stat_log_se(b)]) < 0.08


def test_pairing_cancels_a_drift_shared_by_both_sides():
    """The machine's load drifts between pairs; each pair's A and B see the same load."""
    rng = random.Random(4)
    pairs = []
    for i in range(12):
        drift = 1.0 + 0.3 * math.sin(i)
        pairs.append((process(rng, 0.05 * drift, sigma=0.01),
                      process(rng, 0.05 * 1.05 * drift, sigma=0.01)))
    paired = stats.compare_paired(pairs)
    unpaired = stats.compare_processes([a for a, _ in pairs], [b for _, b in pairs])
    assert paired.ratio == pytest.approx(1.05, abs=0.02)
    assert paired.p_value < 0.001
    assert unpaired.p_value > 0.05


def test_noise_pooling_weights_by_degrees_of_freedom():
    pooled = stats.Noise.pool([stats.Noise(0.1, 1, "a"), stats.Noise(0.02, 99, "b")])
    assert pooled.df == 100
    assert pooled.sigma == pytest.approx(math.sqrt((0.01 + 99 * 0.0004) / 100))
    assert pooled.source == "a + b"


def test_change_point_found_at_the_step():
    rng = random.Random(5)
    series = [rng.gauss(0, 0.02) for _ in range(12)] + [0.15 + rng.gauss(0, 0.02) for _ in range(8)]
    shifts = stats.change_points(series)
    assert [s.index for s in shifts] == [12]
    assert shifts[0].ratio == pytest.approx(math.exp(0.15), rel=0.03)
    assert shifts[0].p_value < 0.01


def test_no_change_point_in_noise_or_from_one_odd_run():
    rng = random.Random(6)
    flat = [rng.gauss(0, 0.03) for _ in range(25)]
    assert stats.change_points(flat) == []
    assert stats.change_points(flat[:10] + [0.5, 0.5]) == []  # a new level needs three runs
    assert stats.change_points([0.0, 0.1]) == []


def test_two_steps_are_both_found_and_results_are_deterministic():
    rng = random.Random(7)
    series = ([rng.gauss(0, 0.01) for _ in range(8)] + [0.2 + rng.gauss(0, 0.01) for _ in range(8)]
              + [0.05 + rng.gauss(0, 0.01) for _ in range(8)])
    first = stats.change_points(series)
    assert [s.index for s in first] == [8, 16]
    assert stats.change_points(series) == first


@pytest.mark.parametrize("n", [10, 15, 40])
def test_the_split_p_value_holds_its_level_in_noise_with_bursts(n):
    """Pure noise with one value in 40 slowed 18 % (6 sigmas, as bursts of other jobs): the
    p-value of the best split is below a level at most that often (+3 binomial SDs), short
    segments included (a t approximation on ranks was too liberal there)."""
    rng = random.Random(11 + n)
    trials = 1500
    ps = [stats.split_p_value([rng.gauss(0, 0.03) + (0.18 if rng.random() < 1 / 40 else 0.0)
                               for _ in range(n)])[1] for _ in range(trials)]
    for level in (0.01, 0.05):
        assert sum(p <= level for p in ps) / trials <= level + 3 * math.sqrt(level / trials)
    assert min(ps) > 0  # analytic, not a count of permutations


def test_tied_levels_get_the_exact_p_value_not_a_zero_variance_one():
    """Two levels of three equal values each (a coarse clock): the exact two-sided rank p-value,
    2 / C(6, 3) = 0.1, not the near-zero p of a t statistic with no spread."""
    assert stats.split_p_value([0.0, 0.0, 0.0, 0.1, 0.1, 0.1]) == (3, pytest.approx(0.1))
    assert stats.change_points([0.0, 0.0, 0.0, 0.1, 0.1, 0.1]) == []


def test_a_burst_weighs_like_any_high_value_in_the_change_point_search():
    """A 5 % step at run 20 and one burst of +40 % early on: in ranks the burst is one high value,
    so the step is found where it is (in means the burst alone would swamp a 1 % noise)."""
    rng = random.Random(12)
    series = [rng.gauss(0, 0.01) for _ in range(20)] + [0.05 + rng.gauss(0, 0.01) for _ in range(10)]
    series[4] += 0.4
    (shift,) = stats.change_points(series)
    assert shift.index == 20 and shift.ratio == pytest.approx(math.exp(0.05), abs=0.015)


def test_the_night_level_is_where_benjamini_hochberg_stops():
    rng = random.Random(14)
    for _ in range(200):
        ps = [rng.random() ** rng.choice([1, 3, 8]) for _ in range(rng.randint(1, 30))]
        level = stats.night_level(ps, 0.1, cap=1.0)
        assert [p <= level for p in ps] == stats.discoveries(ps, 0.1)
    assert stats.night_level([0.5, 0.9], 0.1, cap=1.0) == pytest.approx(0.05)  # none: q / m
    assert stats.night_level([1e-9], 0.1, cap=0.01) == 0.01


def test_outliers_are_measured_from_the_sides_own_median():
    assert stats.without_outliers([0.0, 0.01, -0.01, 0.18, 0.005], 0.09) == [0.0, 0.01, -0.01, 0.005]
    assert stats.without_outliers([0.0, 0.18], 0.09) == [0.0, 0.18]  # two values: no median to trust
    assert stats.without_outliers([0.1, 0.11, 0.12, 0.1], 0.09) == [0.1, 0.11, 0.12, 0.1]


def test_the_rank_test_is_scipys_exact_mann_whitney_and_a_burst_is_one_rank():
    base = [0.01 * i for i in range(20)]
    assert stats.rank_slower(base, [1.0, 1.1, 1.2, 1.3]) == pytest.approx(1 / math.comb(24, 4))
    # one burst far above everything and three ordinary runs: not evidence of a slowdown
    assert stats.rank_slower(base, [5.0, 0.05, 0.10, 0.12]) > 0.1
    with pytest.raises(ValueError):
        stats.rank_slower([], [1.0])


def test_discoveries_are_benjamini_hochberg_as_scipy_computes_it():
    from scipy.stats import false_discovery_control
    ps = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    got = stats.discoveries(ps, 0.05)
    assert got == [bool(a <= 0.05) for a in false_discovery_control(ps, method="bh")]
    assert got[:2] == [True, True] and not any(got[2:])  # 0.039 > 3/10 x 0.05
    assert stats.discoveries([], 0.1) == []
    assert stats.discoveries([0.0006] + [0.5] * 199, 0.1) == [False] * 200  # > q/m = 0.0005
    assert stats.discoveries([0.0006] + [0.5] * 9, 0.1)[0]


def test_one_sided_slower_p_value():
    est = stats.compare_logs([0.0] * 5, [0.05], prior=stats.Noise(0.02, 20))
    assert stats.one_sided_slower(est) == pytest.approx(est.p_value / 2)
    faster = stats.compare_logs([0.0] * 5, [-0.05], prior=stats.Noise(0.02, 20))
    assert stats.one_sided_slower(faster) == pytest.approx(1 - faster.p_value / 2)


def test_robust_sigma_ignores_a_rare_burst_that_a_pooled_sd_does_not():
    rng = random.Random(5)
    segments = [[rng.gauss(0.0, 0.03) for _ in range(20)] for _ in range(5)]
    plain = math.sqrt(sum((x - sum(s) / len(s)) ** 2 for s in segments for x in s) / 95)
    sigma, df = stats.robust_sigma(segments)
    assert df == 95 and sigma == pytest.approx(plain, rel=0.25)
    burst = [list(s) for s in segments]
    burst[0][3] += math.log(1.18)
    burst[2][7] += math.log(1.18)
    burst[4][1] += math.log(1.18)
    assert stats.robust_sigma(burst)[0] == pytest.approx(sigma, rel=0.08)
    plain_burst = math.sqrt(sum((x - sum(s) / len(s)) ** 2 for s in burst for x in s) / 95)
    assert plain_burst > 1.15 * plain  # what the plain SD would have used
    assert stats.robust_sigma([[0.1], []]) == (0.0, 0)
