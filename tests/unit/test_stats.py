"""bench.metrics.stats on constructed data whose answers are known: by hand, or from a t-test on data built
to have an exact t statistic."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bench.metrics.stats import MIN_PAIRED_FILES, PairedTest, bootstrap_ci, differs, paired_bootstrap, seed_spread


def _standardised(n: int, seed: int) -> np.ndarray:
    """n values with mean exactly 0 and sample std (ddof=1) exactly 1."""
    z = np.random.default_rng(seed).standard_normal(n)
    z -= z.mean()
    return z / z.std(ddof=1)


def test_bootstrap_ci_matches_the_normal_interval_for_many_files():
    x = 5.0 + 2.0 * _standardised(400, seed=1)
    mean, lo, hi = bootstrap_ci(x, n_boot=4000)
    half = 1.96 * 2.0 / math.sqrt(400)  # 0.196
    assert mean == pytest.approx(5.0, abs=1e-12)
    assert lo == pytest.approx(5.0 - half, abs=0.02) and hi == pytest.approx(5.0 + half, abs=0.02)


def test_bootstrap_ci_is_the_metrics_one():
    from bench import metrics

    assert metrics.bootstrap_ci is bootstrap_ci


def test_paired_identical_methods_are_not_different():
    a = np.random.default_rng(2).standard_normal(30)
    t = paired_bootstrap(a, a.copy())
    assert t == PairedTest(30, 0.0, 0.0, 0.0, 1.0)
    assert not differs(t)


def test_paired_constant_difference_has_the_smallest_p_value():
    # Every file better by exactly 0.25: no resample can look like "no difference".
    b = np.random.default_rng(3).standard_normal(12) * 10
    t = paired_bootstrap(b + 0.25, b, n_boot=999)
    assert t.n == 12 and t.diff == pytest.approx(0.25)
    assert t.lo == pytest.approx(0.25) and t.hi == pytest.approx(0.25)
    assert t.p_value == pytest.approx(1 / 1000)
    assert differs(t)


def test_paired_symmetric_differences_cancel():
    # d = +1, -1, +1, -1, ...: mean exactly 0, so p = 1 whatever the spread.
    b = np.arange(20, dtype=float)
    d = np.tile([1.0, -1.0], 10)
    t = paired_bootstrap(b + d, b)
    assert t.diff == 0.0 and t.p_value == 1.0 and t.lo < 0 < t.hi


@pytest.mark.parametrize(("t_stat", "significant"), [(1.0, False), (2.0, None), (4.0, True)])
def test_paired_p_value_agrees_with_the_t_test(t_stat: float, significant: bool | None):
    # d_i = mu + z_i with mean(z) = 0, sd(z) = 1 exactly: the paired t statistic is mu * sqrt(n).
    n = 60
    d = t_stat / math.sqrt(n) + _standardised(n, seed=4)
    b = np.random.default_rng(5).standard_normal(n) * 50  # large between-file spread, cancels in pairs
    result = paired_bootstrap(b + d, b, n_boot=8000, seed=1)
    p_t = 2 * sps.t.sf(t_stat, df=n - 1)  # 0.321, 0.050, 0.00018
    assert result.diff == pytest.approx(t_stat / math.sqrt(n))
    assert abs(result.p_value - p_t) < 0.03, (result.p_value, p_t)
    if significant is not None:  # t = 2 sits on the 0.05 boundary: only the p-value is checked
        assert differs(result) == significant


def test_pairing_is_what_detects_a_small_consistent_gain():
    # Files range over +-30 while A beats B by 0.1 +- 0.05 on every file: unpaired intervals overlap
    # completely, the paired test is unambiguous.
    rng = np.random.default_rng(6)
    base = rng.standard_normal(40) * 30
    a = base + 0.1 + 0.05 * rng.standard_normal(40)
    ci_a, ci_b = bootstrap_ci(a), bootstrap_ci(base)
    assert ci_a[1] < ci_b[2] and ci_b[1] < ci_a[2]  # the per-method CIs overlap
    t = paired_bootstrap(a, base)
    assert t.p_value < 0.001 and t.lo > 0 and differs(t)


def test_paired_drops_non_finite_pairs_and_checks_lengths():
    a = np.array([1.0, 2.0, np.nan, 4.0, np.inf])
    b = np.array([0.0, 1.0, 1.0, np.nan, 0.0])
    t = paired_bootstrap(a, b)
    assert t.n == 2 and t.diff == 1.0
    assert math.isnan(paired_bootstrap([np.nan], [1.0]).p_value)
    assert paired_bootstrap([3.0], [1.0]) == PairedTest(1, 2.0, 2.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1.0, 2.0], [1.0])


def test_too_few_files_never_claim_a_difference():
    b = np.arange(MIN_PAIRED_FILES - 1, dtype=float)
    small = paired_bootstrap(b + 1.0, b)
    assert small.p_value < 0.01 and not differs(small)  # a bootstrap over 7 files is over-confident
    b = np.arange(MIN_PAIRED_FILES, dtype=float)
    assert differs(paired_bootstrap(b + 1.0, b))


def test_paired_bootstrap_is_deterministic_per_seed():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(25), rng.standard_normal(25)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    assert paired_bootstrap(a, b, seed=3).p_value != paired_bootstrap(a, b, seed=4).p_value


def test_seed_spread():
    assert seed_spread([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    mean, std, n = seed_spread([4.0, np.nan])
    assert (mean, n) == (4.0, 1) and math.isnan(std)
    assert seed_spread([])[2] == 0
