"""Statistics the leaderboard shows: bootstrap confidence intervals, paired bootstrap tests, seeds.

Everything here is numpy only (no torch), deterministic for a given ``seed``, and ignores
non-finite entries (a failed metric is NaN; the SNR of a perfect copy is +inf), so an aggregate is
always over the files that scored.

``bootstrap_ci``
    Mean over files with a percentile-bootstrap confidence interval: ``n_boot`` resamples of the
    files with replacement, the interval is the (1-level)/2 and (1+level)/2 quantiles of the
    resampled means.

``paired_bootstrap``
    Is method A different from method B on the same test files? Per file ``d_i = a_i - b_i``
    (pairs where either value is non-finite are dropped). The observed statistic is the mean
    difference ``d̄``. Its null distribution is bootstrapped from the *centred* differences
    ``d_i - d̄`` (resampling the files with replacement, which keeps the pairing), and the two-sided
    p-value is ``(1 + #{|m*_b| >= |d̄|}) / (1 + n_boot)``: it is never 0, identical methods give 1,
    a constant non-zero difference gives the minimum ``1 / (1 + n_boot)``. The percentile interval
    of the uncentred resampled means is returned too. Pairing is what makes the test sensitive:
    files differ far more from each other than methods do, and that between-file variance cancels
    in ``d_i``. With very few files a bootstrap is over-confident (two files whose differences have
    the same sign already give p = 1/(1+n_boot)), so ``differs`` claims a difference only with at
    least ``MIN_PAIRED_FILES`` pairs.

``seed_spread``
    With several seeds (independent trainings): the mean of the per-seed means and their sample
    standard deviation (ddof = 1); one seed gives std NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Above this many (bootstrap draws x values) the index matrix is drawn in blocks, so an interval
# over a very large set of files stays within tens of MB.
_BOOTSTRAP_BLOCK_ELEMENTS = 1 << 22

ALPHA = 0.05            # significance level of the paired test the pages use
MIN_PAIRED_FILES = 8    # below this many paired files no difference is claimed
N_BOOT_CI = 1000
N_BOOT_TEST = 2000


def _finite(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, without importing torch here
        values = values.detach().cpu().numpy()
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _resampled_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot,) means of resamples of x (with replacement, full size), drawn in bounded blocks."""
    n = x.size
    block = max(1, _BOOTSTRAP_BLOCK_ELEMENTS // n)
    return np.concatenate([
        x[rng.integers(0, n, size=(min(block, n_boot - start), n))].mean(axis=1)
        for start in range(0, n_boot, block)
    ])


def _check(n_boot: int, level: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def bootstrap_ci(values: Any, n_boot: int = N_BOOT_CI, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap CI of the finite entries of ``values``: -> (mean, lo, hi).

    No finite values gives (nan, nan, nan); a single one gives (v, v, v). Resampling draws from
    ``numpy.random.default_rng(seed)``, so the same inputs always give the same interval.
    ``lo <= mean <= hi`` always holds (clipped, against float rounding on near-constant data).
    """
    _check(n_boot, level)
    x = _finite(values)
    if x.size == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    boot_means = _resampled_means(x, n_boot, np.random.default_rng(seed))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot_means, [alpha, 1.0 - alpha])
    return mean, min(float(lo), mean), max(float(hi), mean)


@dataclass(frozen=True)
class PairedTest:
    n: int            # pairs where both values are finite
    diff: float       # mean of a - b over those pairs
    lo: float         # percentile-bootstrap CI of the mean difference
    hi: float
    p_value: float    # two-sided, centred bootstrap; nan when n == 0


def paired_bootstrap(a: Any, b: Any, n_boot: int = N_BOOT_TEST, level: float = 0.95, seed: int = 0) -> PairedTest:
    """Paired bootstrap test of mean(a - b) = 0; ``a[i]`` and ``b[i]`` are the same test file."""
    _check(n_boot, level)
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same length, got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    n = int(d.size)
    if n == 0:
        nan = float("nan")
        return PairedTest(0, nan, nan, nan, nan)
    diff = float(d.mean())
    if n == 1:
        return PairedTest(1, diff, diff, diff, 1.0)
    rng = np.random.default_rng(seed)
    means = _resampled_means(d, n_boot, rng)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    # Null distribution: the same resamples, centred (mean of d_i - diff over a resample = m* - diff).
    extreme = int(np.count_nonzero(np.abs(means - diff) >= abs(diff)))
    p_value = (1 + extreme) / (1 + n_boot)
    return PairedTest(n, diff, min(float(lo), diff), max(float(hi), diff), float(p_value))


def differs(test: PairedTest, alpha: float = ALPHA, min_files: int = MIN_PAIRED_FILES) -> bool:
    """True when the test supports a difference: enough paired files and p < alpha."""
    return test.n >= min_files and test.p_value < alpha


def seed_spread(per_seed_means: Any) -> tuple[float, float, int]:
    """(mean, sample std, n) of the finite per-seed means; std is nan for fewer than 2 seeds."""
    x = _finite(per_seed_means)
    if x.size == 0:
        return float("nan"), float("nan"), 0
    std = float(x.std(ddof=1)) if x.size > 1 else float("nan")
    return float(x.mean()), std, int(x.size)
