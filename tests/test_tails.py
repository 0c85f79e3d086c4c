"""The scan's exact tails (reads/tails.py, from scipy.special) and the beta-binomial's
significant counts (reads/betabinomial.py) against scipy.stats, an independent
implementation (Boost's binomial, scipy's own hypergeometric and beta-binomial)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nlrp3annot.reads import betabinomial, tails


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261203)


def test_binomial_tails_match_scipy_stats(rng):
    size = 20_000
    n = rng.integers(0, 50_000, size)
    k = rng.integers(-3, 90, size)  # both sides of the summed/incomplete-beta switch at 64
    p = np.r_[10 ** rng.uniform(-7, 0, size - 4), [0.0, 0.0, 1.0, 1.0]]
    assert np.allclose(tails.binomial_cdf(k, n, p), stats.binom.cdf(k, n, p), rtol=1e-9,
                       atol=1e-200)  # fmt: skip
    assert np.allclose(tails.binomial_sf(k, n, p), stats.binom.sf(k - 1, n, p), rtol=1e-9,
                       atol=1e-200)  # fmt: skip


def test_hypergeometric_tails_match_scipy_stats(rng):
    for _ in range(400):
        total = int(rng.integers(1, 3000))
        successes, draws = (int(x) for x in rng.integers(0, total + 1, 2))
        x = int(rng.integers(-2, min(successes, draws) + 3))
        expected_cdf = stats.hypergeom.cdf(x, total, successes, draws)
        expected_sf = stats.hypergeom.sf(x - 1, total, successes, draws)
        assert tails.hypergeom_cdf(x, total, successes, draws) == pytest.approx(
            expected_cdf, rel=1e-9, abs=1e-300
        )
        assert tails.hypergeom_sf(x, total, successes, draws) == pytest.approx(
            expected_sf, rel=1e-9, abs=1e-300
        )


def test_one_sided_fisher_of_a_read_end_table():
    # 9 of 10 ALT reads near a read end against 50 of 2,050 other reads
    expected = stats.fisher_exact([[9, 1], [50, 2000]], alternative="greater").pvalue
    assert tails.hypergeom_sf(9, 2060, 10, 59) == pytest.approx(expected, rel=1e-9)


def test_min_count_is_the_first_significant_count_of_scipys_beta_binomial(rng):
    size = 300
    n = rng.integers(0, 6000, size)
    mu = 10 ** rng.uniform(-5, -1.5, size)
    rho = 10 ** rng.uniform(-4, -1, size)
    alpha = 10 ** rng.uniform(-8, -2, size)
    k = betabinomial.min_count(n, mu, rho, alpha, floor=2)
    scale = (1 - rho) / rho
    a, b = mu * scale, (1 - mu) * scale
    for i in range(size):
        upper = stats.betabinom(n[i], a[i], b[i]).sf  # sf(j - 1) = P(X >= j)
        if k[i] == n[i] + 1:
            assert upper(n[i] - 1) >= alpha[i] * (1 - 1e-6)
            continue
        assert k[i] >= 2
        assert upper(k[i] - 1) < alpha[i] * (1 + 1e-6)
        if k[i] > 2:
            assert upper(k[i] - 2) >= alpha[i] * (1 - 1e-6)


def test_overdispersion_p_is_scipy_stats_chi_square_tail(rng):
    """betabinomial.overdispersed's P: Pearson's statistic against chi-square with m - 1 df
    (scipy.stats.chi2.sf, computed here from the docstring's formula), 1 where untestable."""
    n = rng.integers(0, 3000, (12, 500))
    n[:, :20] = 0  # no sample with reads
    n[1:, 20:40] = 0  # one sample with reads
    rate = 10 ** rng.uniform(-4, -1, 500)
    x = rng.binomial(n, rate * rng.uniform(0.2, 3, (12, 500)))
    x[:, 40:60] = 0  # no count above 0
    rho = 10 ** rng.uniform(-5, -2, 500)
    p_ours, samples = betabinomial.overdispersed(x, n, rho)
    pooled = x.sum(axis=0) / np.maximum(n.sum(axis=0), 1)
    variance = n * pooled * (1 - pooled) * (1 + (n - 1) * rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((n > 0) & (variance > 0), (x - n * pooled) ** 2 / variance, 0.0)
    m = (n > 0).sum(axis=0)
    expected = np.where((m >= 2) & (pooled > 0), stats.chi2.sf(terms.sum(axis=0), m - 1), 1.0)
    assert np.array_equal(samples, m)
    assert np.allclose(p_ours, expected, rtol=1e-12, atol=0)
    assert (p_ours[:60] == 1).all() and (p_ours[60:] < 1).any()
