"""A registry-size cohort is compared with the same numbers as the listing path (issue 26).

Beyond ``LISTING_MAX`` breakpoints the estimates come from order statistics counted on
sorted arrays (:mod:`nlrp3annot.response.stats.pairs`) and the intervals from bisection on
the rounding grid (:mod:`nlrp3annot.response.stats.grid_inversion`) instead of listing every
pairwise difference or Walsh average. Forcing that path on cohorts small enough to list
gives the same estimates, interval ends, open ends and holes; the medians agree with
numpy's over the listed pairs (infinite ends included); and the sensitivity analyses' genotype
family, computed alone, is the family of the full comparison under that rule. How long a
1,000- or 10,000-patient cohort takes is measured by ``scripts/benchmark_compare.py``, not
here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nlrp3annot.response.stats import inversion
from nlrp3annot.response.stats.censored import Bounds
from nlrp3annot.response.stats.compare import run_comparison
from nlrp3annot.response.stats.pairs import SCALE, PairSums

LIMITS = (0.5, 2.0)  # two assays' detection limits, in both groups


def cohort_values(rng: np.random.Generator, n: int, shift: float, censor: bool) -> list[Bounds]:
    """Changes of n patients on a 0.1 grid (ties), some known only as intervals."""
    out = []
    for _ in range(n):
        value = round(float(rng.normal(shift, 2.0)), 1)
        if censor and rng.random() < 0.25:
            limit = LIMITS[int(rng.integers(0, 2))]
            out.append(Bounds(round(value - limit, 9), round(value, 9), False, True))
        else:
            out.append(Bounds(value, value))
    return out


UNIT = 1e-9  # the grid every change is rounded to (DIFF_DECIMALS)


def same_interval(a: inversion.Interval, b: inversion.Interval) -> bool:
    """The same set of shifts on the rounding grid, up to one grid step (where two changes'
    sizes swap order half-way between grid points, the listing path puts the step on the
    breakpoint it rounds to, open, the grid path on the last accepted point, closed), and the
    same decision at no effect (0)."""

    def last_in(end: float, is_open: bool, inward: float) -> float:
        return end + inward * UNIT if is_open and math.isfinite(end) else end

    def close(u: float, v: float) -> bool:
        return u == v or math.isclose(u, v, rel_tol=0, abs_tol=1.5 * UNIT)

    return (
        close(last_in(a.lower, a.lower_open, 1), last_in(b.lower, b.lower_open, 1))
        and close(last_in(a.upper, a.upper_open, -1), last_in(b.upper, b.upper_open, -1))
        and a.excludes(0.0) == b.excludes(0.0)
    )


def both_paths(monkeypatch, compute):
    listed = compute()
    with monkeypatch.context() as patch:
        patch.setattr(inversion, "LISTING_MAX", 0)  # every comparison on the grid path
        gridded = compute()
    return listed, gridded


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("censor", [False, True])
def test_between_groups_grid_path_equals_listing(monkeypatch, seed, censor):
    rng = np.random.default_rng(seed)
    n1, n2 = (int(v) for v in rng.integers(3, 40, size=2))
    x = cohort_values(rng, n1, float(rng.normal(0, 1.5)), censor)
    y = cohort_values(rng, n2, 0.0, censor)
    listed, gridded = both_paths(monkeypatch, lambda: inversion.between_effect(x, y, 0.05))
    assert gridded.p == listed.p
    assert gridded.estimate.low == pytest.approx(listed.estimate.low, abs=1e-12)
    assert gridded.estimate.high == pytest.approx(listed.estimate.high, abs=1e-12)
    assert same_interval(gridded.interval, listed.interval), (gridded.interval, listed.interval)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("censor", [False, True])
def test_within_group_grid_path_equals_listing(monkeypatch, seed, censor):
    rng = np.random.default_rng(100 + seed)
    changes = cohort_values(rng, int(rng.integers(4, 60)), float(rng.normal(0, 1)), censor)
    listed, gridded = both_paths(monkeypatch, lambda: inversion.within_effect(changes, 0.05))
    assert gridded.p == listed.p
    assert gridded.estimate.low == pytest.approx(listed.estimate.low, abs=1e-12)
    assert gridded.estimate.high == pytest.approx(listed.estimate.high, abs=1e-12)
    assert same_interval(gridded.interval, listed.interval), (gridded.interval, listed.interval)


def test_every_interval_of_a_cohort_is_the_same_on_the_grid_path(monkeypatch):
    """The whole comparison (changes, ratios with infinite ends, both groups and all
    patients) on a censored cohort: every P is the listing path's, every estimate and
    interval end the same number (to the grid), and every interval excludes no effect
    exactly when its P is below 0.05."""
    from test_compare import make_cohort
    from test_heldout_cohorts import excludes

    cohort = make_cohort(24, 17, seed=5, censor=True)
    listed, gridded = both_paths(monkeypatch, lambda: run_comparison(*cohort).tables)
    columns = {  # table: (estimate / interval columns, CI text, value of no effect)
        "within": (["hl_change", "hl_ci_lower", "hl_ci_upper"],
                   "hl_ci_text", 0.0),
        "between": (["hl_shift_low", "hl_shift_high", "ci_lower", "ci_upper"], "ci_text", 0.0),
        "ratios_within": (["ci_lower", "ci_upper"], "ci_text", 1.0),
        "ratios_between": (["ci_lower", "ci_upper"], "ci_text", 1.0),
    }  # fmt: skip
    for name, (numbers, text, null) in columns.items():
        a, b = listed[name], gridded[name]
        assert np.array_equal(a["p"].to_numpy(float), b["p"].to_numpy(float), equal_nan=True)
        for column in numbers:
            assert np.allclose(a[column].to_numpy(float), b[column].to_numpy(float),
                               rtol=1e-6, atol=2e-9, equal_nan=True), (name, column)  # fmt: skip
        for row in b.to_dict("records"):
            if isinstance(row[text], str) and row[text] and math.isfinite(row["p"]):
                shown = (row[numbers[-2]], row[numbers[-1]], row[text])
                assert excludes(null, *shown) == (row["p"] < 0.05), (name, row[text], row["p"])


@pytest.mark.parametrize("seed", range(40))
def test_pair_medians_are_numpys(seed):
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=int(rng.integers(1, 30))) * 5, 2)
    b = np.round(rng.normal(size=int(rng.integers(1, 30))) * 5, 2)
    for values, where in ((a, 0.2), (b, 0.1)):
        if rng.random() < 0.5:
            values[rng.random(values.size) < where] = -math.inf  # log(0): a below-limit end
        if rng.random() < 0.3:
            values[rng.random(values.size) < where] = math.inf
    with np.errstate(invalid="ignore"):
        diffs = np.subtract.outer(a, b).ravel()
        i, j = np.triu_indices(a.size)
        walsh = (a[i] + a[j]) / 2
    for listed, counted in ((diffs, PairSums(a, -b).median()), (walsh, PairSums(a).median() / 2)):
        listed = listed[~np.isnan(listed)]
        expected = float(np.median(listed)) if listed.size else math.nan
        got = counted / SCALE if math.isfinite(counted) else counted
        assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(expected)


def test_sensitivity_family_alone_is_the_full_comparisons_family():
    from test_compare import make_cohort

    measurements, groups, events = make_cohort(14, 9, seed=11, censor=True)
    full = run_comparison(measurements, groups, events).tables["genotype_endpoints"]
    alone = run_comparison(measurements, groups, events, family_only=True)
    assert list(alone.tables) == ["genotype_endpoints"]
    assert alone.tables["genotype_endpoints"].equals(full)


def test_smallest_attainable_p_of_a_registry_is_a_number():
    """2 / 2**n and 2 / C(n1 + n2, n1) overflow a float beyond ~1,000 patients (the small-
    sample warnings ask for them on every row): they are 0 there, and equal the exact
    fractions where those are representable."""
    from fractions import Fraction

    from nlrp3annot.response.stats.rank_tests import mannwhitney_smallest_p, wilcoxon_smallest_p

    assert wilcoxon_smallest_p(20_000) == 0.0
    assert wilcoxon_smallest_p(12) == float(Fraction(2, 2**12))
    assert mannwhitney_smallest_p(6_000, 3_000) == 0.0
    assert mannwhitney_smallest_p(40, 30) == pytest.approx(float(Fraction(2, math.comb(70, 40))))
    assert mannwhitney_smallest_p(5, 4) == float(Fraction(2, math.comb(9, 4)))
