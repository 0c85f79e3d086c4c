"""Detection limits handled as bounds: the Gehan-type test against full enumeration of
Gehan's pairwise statistic, against scipy's Mann-Whitney when nothing is censored, and the
tie-at-the-highest-limit rule against scipy's Wilcoxon on values substituted by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nlrp3annot.response.stats.censored import Bounds, gehan_test, quantile_range, range_text
from nlrp3annot.response.stats.compare import run_comparison

COLUMNS = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
POS, NEG = "mutation_positive", "mutation_negative"


def pairwise_gehan(x: list[tuple[float, float]], y: list[tuple[float, float]]) -> int:
    """Gehan's U written from its definition over (low, high) intervals with open ends
    marked by the caller: +1 where x's interval lies wholly above y's, -1 wholly below."""
    total = 0
    for (xl, xh), (yl, yh) in itertools.product(x, y):
        total += (xl > yh) - (xh < yl)
    return total


def enumeration_p(x, y) -> float:
    pooled = x + y
    observed = abs(pairwise_gehan(x, y))
    hits = total = 0
    for chosen in itertools.combinations(range(len(pooled)), len(x)):
        a = [pooled[i] for i in chosen]
        b = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        hits += abs(pairwise_gehan(a, b)) >= observed
        total += 1
    return hits / total


# A change "< L" stands for [low, L) and is compared with closed intervals nudged inward,
# so touching ends at a limit count as certainly ordered, as a below-limit value is.
EPS = 1e-9


def as_bounds(interval: tuple[float, float, str]) -> Bounds:
    low, high, kind = interval
    if kind == "point":
        return Bounds(low, high)
    return Bounds(low, high, False, True)  # [low, high): below a limit


def as_pairs(intervals):
    return [(lo, hi if kind == "point" else hi - EPS) for lo, hi, kind in intervals]


@pytest.mark.parametrize("seed", range(6))
def test_gehan_exact_p_equals_enumeration_of_the_pairwise_statistic(seed: int):
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    intervals = []
    for _ in range(n1 + n2):
        value = float(rng.integers(-20, 20))
        if rng.random() < 0.4:  # a change known only to lie below a bound
            intervals.append((-100.0, value, "below"))
        else:
            intervals.append((value, value, "point"))
    x, y = intervals[:n1], intervals[n1:]
    result = gehan_test([as_bounds(i) for i in x], [as_bounds(i) for i in y])
    assert result.method == "exact"
    assert result.statistic == pairwise_gehan(as_pairs(x), as_pairs(y))
    assert result.p == pytest.approx(enumeration_p(as_pairs(x), as_pairs(y)), rel=1e-12)


def test_gehan_without_censoring_is_mann_whitney():
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 1, 9), rng.normal(1, 1, 7)
    result = gehan_test([Bounds(v, v) for v in x], [Bounds(v, v) for v in y])
    expected = stats.mannwhitneyu(x, y, method="exact").pvalue
    assert result.p == pytest.approx(expected, rel=1e-12)
    big_x, big_y = rng.normal(0, 1, 60), rng.normal(0.5, 1, 70)
    big = gehan_test([Bounds(v, v) for v in big_x], [Bounds(v, v) for v in big_y])
    assert big.method == "asymptotic"
    scipy_p = stats.mannwhitneyu(big_x, big_y, method="asymptotic", use_continuity=False).pvalue
    assert big.p == pytest.approx(scipy_p, rel=1e-9)


def messy_cohort() -> pd.DataFrame:
    """SAA from two assays: limits <5 and <10, and measured values (3, 4) below 10."""
    rows = []
    positive = [(300, "", 8, "<"), (250, "", 5, "<"), (410, "", 3, ""), (180, "", 10, "<")]
    negative = [(90, "", 40, ""), (120, "", 4, ""), (60, "", 35, ""), (8, "", 10, "<")]
    for prefix, cohort in (("P", positive), ("N", negative)):
        for i, (base, base_mark, month3, mark) in enumerate(cohort):
            rows.append((f"{prefix}{i}", "baseline", 0, "saa", base, "mg/L", base_mark))
            rows.append((f"{prefix}{i}", "month3", 90, "saa", month3, "mg/L", mark))
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_by_prefix(measurements: pd.DataFrame):
    """run_comparison with patients N* negative and the others positive, no events."""
    ids = sorted(set(measurements["patient_id"]))
    groups = pd.DataFrame({"patient_id": ids, "group": [NEG if i[0] == "N" else POS for i in ids]})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    return run_comparison(measurements, groups, events)


def test_messy_limits_are_warned_and_tested_with_their_bounds():
    measurements = messy_cohort()
    result = compare_by_prefix(measurements)
    text = " ".join(result.warnings)
    assert "several detection limits (<5, <8, <10)" in text
    assert "3 measured value(s) below the limit <10" in text  # 3, 4 and 8

    # Between: the month-3 changes as intervals, written out by hand from the table above
    # (a '<L' value lies in [0, L); the change is month3 - baseline).
    pos = [(-300, 8 - 300 - EPS), (-250, 5 - 250 - EPS), (3 - 410, 3 - 410), (-180, 10 - 180 - EPS)]
    neg = [(40 - 90, 40 - 90), (4 - 120, 4 - 120), (35 - 60, 35 - 60), (-8, 10 - 8 - EPS)]
    row = result.tables["between"].query("change == 'baseline->month3' and measure == 'saa'")
    row = row.iloc[0]
    assert row["method"] == "Gehan exact"
    assert row["p"] == pytest.approx(enumeration_p(pos, neg), rel=1e-12)
    # the Hodges-Lehmann shift over the values the limits allow: its ends are the medians of
    # the pairwise differences at the intervals' ends (the estimator is monotone in each)
    low = np.median([a[0] - b[1] for a in pos for b in neg])
    high = np.median([a[1] - b[0] for a in pos for b in neg])
    assert (row["hl_shift_low"], row["hl_shift_high"]) == pytest.approx((low, high), abs=1e-6)
    # where that range reaches outside the CI, the row says why
    outside = low < row["ci_lower"] or high > row["ci_upper"]
    assert ("reaches outside the CI" in row["note"]) == outside
    assert math.isnan(row["hl_shift"])  # never one substituted number
    # and the interval inverts the same Gehan test: it excludes 0 exactly when P < 0.05
    assert (row["ci_lower"] > 0 or row["ci_upper"] < 0) == (row["p"] < 0.05)

    # Within: N3's change 8 -> <10 lies in [-8, 2): its sign is unknown, so it is dropped
    # like a zero; the others are measured: signed-rank by scipy on them.
    within = result.tables["within"].set_index(["group", "change", "measure"])
    neg_diffs = [40 - 90, 4 - 120, 35 - 60]
    got = within.loc[(NEG, "baseline->month3", "saa")]
    assert got["n_nonzero"] == 3
    assert got["p"] == pytest.approx(stats.wilcoxon(neg_diffs, method="exact").pvalue)
    # The descriptives: the middle values are "<10" and 35, so the median is the range it
    # takes with "<10" anywhere in [0, 10): (4 + 35) / 2 with it at 0 (sorted 0, 4, 35, 40),
    # (10 + 35) / 2 at the limit; q1 (numpy's position 0.75) likewise; q3 is not moved.
    d = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    cell = d.loc[("saa", "month3", NEG)]
    assert cell["median_text"] == "19.5 to 22.5" and math.isnan(cell["median"])
    assert cell["q1_text"] == f"{0 + 0.75 * 4:g} to {4 + 0.75 * 6:g}" and math.isnan(cell["q1"])
    assert cell["q3"] == pytest.approx(35 + 0.25 * 5) and cell["q3_text"] == "36.25"


def test_ratio_of_ratios_with_limits_gets_its_gehan_p():
    measurements = messy_cohort()
    result = compare_by_prefix(measurements)
    row = result.tables["ratios_between"].query("change == 'baseline->month3'").iloc[0]
    log = math.log
    pos = [(-math.inf, log(8 / 300) - EPS), (-math.inf, log(5 / 250) - EPS),
           (log(3 / 410),) * 2, (-math.inf, log(10 / 180) - EPS)]  # fmt: skip
    neg = [(log(40 / 90),) * 2, (log(4 / 120),) * 2, (log(35 / 60),) * 2,
           (-math.inf, log(10 / 8) - EPS)]  # fmt: skip
    assert row["p"] == pytest.approx(enumeration_p(pos, neg), rel=1e-12)
    assert row["method"] == "Gehan exact"


def test_one_honest_limit_is_not_warned_and_its_change_is_still_an_interval():
    measurements = messy_cohort()
    measurements = measurements[measurements["censored"] == ""].copy()
    low = (measurements["visit"] == "month3") & (measurements["value"] < 10)
    measurements.loc[low, "value"] = 50.0  # no measured value below any limit ...
    extra = pd.DataFrame(
        [
            ("P9", "baseline", 0, "saa", 200, "mg/L", ""),
            ("P9", "month3", 90, "saa", 5, "mg/L", "<"),
        ],
        columns=COLUMNS,
    )  # ... and one limit: ranking at the limit is honest
    measurements = pd.concat([measurements, extra], ignore_index=True)
    result = compare_by_prefix(measurements)
    assert not [w for w in result.warnings if "detection limit" in w]
    row = result.tables["between"].query("change == 'baseline->month3'").iloc[0]
    assert row["method"] == "Gehan exact" and not math.isnan(row["p"])


@pytest.mark.parametrize("seed", range(5))
def test_descriptive_quantiles_are_the_ranges_the_limits_allow(seed: int):
    """Each quantile's range equals the smallest and largest quantile over many fillings of
    the below-limit values (each at 0, just under its limit, or anywhere between)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    values = rng.choice([2.0, 5.0, 7.0, 9.0, 12.0, 20.0, 31.0], size=n)
    marks = rng.choice(["", "<"], size=n, p=[0.6, 0.4])
    cell = pd.DataFrame({"value": values, "censored": marks})
    fillings = [np.where(marks == "<", 0.0, values), np.where(marks == "<", values - 1e-9, values)]
    for _ in range(300):
        fillings.append(np.where(marks == "<", rng.uniform(0, values), values))
    for q in (0.25, 0.5, 0.75):
        quantiles = [float(np.quantile(f, q)) for f in fillings]
        low, high = quantile_range(cell, q)
        assert low == pytest.approx(min(quantiles), abs=1e-12)
        assert high == pytest.approx(max(quantiles), abs=1e-6)
        text = range_text(low, high)
        if "<" in marks:
            assert (text == f"{low:g}") == (max(quantiles) - min(quantiles) < 1e-6)
