"""The mosaic test's exact binomial P and Clopper-Pearson interval, against scipy.stats
and the closed forms (k = 0 or n: 1 - (tail)^(1/n); k = 1: 1 - (1 - tail)^(1/n))."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from nlrp3annot.patients.binomial import cdf, clopper_pearson, germline_p, sf

CASES = [
    (k, n)
    for n in (1, 2, 3, 5, 10, 20, 21, 50, 99, 200, 1000, 5000)
    for k in sorted({0, 1, 2, n // 10, n // 4, n // 2, n - 1, n})
    if 0 <= k <= n
]


@pytest.mark.parametrize(("k", "n"), CASES)
def test_against_scipy_binomtest(k: int, n: int) -> None:
    expected_p = binomtest(k, n, 0.5, alternative="less").pvalue
    ci = binomtest(k, n).proportion_ci(method="exact")
    low, high = clopper_pearson(k, n)
    assert germline_p(k, n) == pytest.approx(expected_p, rel=1e-9, abs=1e-300)
    # scipy's root finder is itself good to ~1e-8 relative on small lower bounds
    assert low == pytest.approx(ci.low, rel=1e-7, abs=1e-300)
    assert high == pytest.approx(ci.high, rel=1e-7)


@pytest.mark.parametrize("n", [1, 7, 99, 5000])
def test_closed_forms(n: int) -> None:
    assert clopper_pearson(0, n)[1] == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-12)
    assert clopper_pearson(n, n)[0] == pytest.approx(0.025 ** (1 / n), rel=1e-12)
    assert clopper_pearson(1, n)[0] == pytest.approx(-math.expm1(math.log(0.975) / n), rel=1e-10)


def test_tails_sum_to_one_and_do_not_underflow() -> None:
    for n, p in ((5000, 0.5), (5000, 0.01), (40, 0.3)):
        for k in (0, 1, n // 3, n // 2, n - 1):
            assert cdf(k, n, p) + sf(k + 1, n, p) == pytest.approx(
                1.0, abs=1e-10
            )  # lgamma(5001) ~ 4e4
    assert 0 < germline_p(100, 5000) < 1e-300 or germline_p(100, 5000) == 0.0
    assert germline_p(2400, 5000) == pytest.approx(
        binomtest(2400, 5000, 0.5, alternative="less").pvalue, rel=1e-9
    )
