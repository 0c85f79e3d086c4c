"""Log-scale effects for SAA, CRP and ESR against independent computations: Walsh averages
and the signed-rank null distribution by enumeration, pairwise log-ratio differences by
brute force, exponentiated by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from test_compare import mann_whitney_enumeration_p

from nlrp3annot.response.stats.compare import run_comparison
from nlrp3annot.response.stats.rank_tests import signed_rank_null_counts, walsh_hl_ci

COLUMNS = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]


@pytest.mark.parametrize("n", range(1, 11))
def test_signed_rank_null_counts_equal_enumeration(n: int) -> None:
    sums = [
        sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s)
        for signs in itertools.product([0, 1], repeat=n)
    ]
    expected = [sums.count(t) for t in range(n * (n + 1) // 2 + 1)]
    assert signed_rank_null_counts(n) == expected


@pytest.mark.parametrize("seed, n", [(1, 6), (2, 8), (3, 11)])
def test_walsh_interval_equals_enumeration(seed: int, n: int) -> None:
    values = np.random.default_rng(seed).normal(-1.5, 1.0, n)
    walsh = sorted((values[i] + values[j]) / 2 for i in range(n) for j in range(i, n))
    sums = [
        sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s)
        for signs in itertools.product([0, 1], repeat=n)
    ]
    k = max(
        (t for t in range(len(walsh)) if sum(x <= t for x in sums) / 2**n <= 0.025), default=None
    )
    estimate, lower, upper, coverage = walsh_hl_ci(values)
    assert estimate == pytest.approx(np.median(walsh))
    if k is None:
        assert math.isnan(lower) and math.isnan(upper)
        return
    assert (lower, upper) == (pytest.approx(walsh[k]), pytest.approx(walsh[len(walsh) - 1 - k]))
    assert coverage == pytest.approx(1 - 2 * sum(x <= k for x in sums) / 2**n)


def test_ratios_tell_the_effect_on_the_scale_it_happens():
    """Positives fall from high values to a tenth, negatives from low values to 0.4: the
    absolute change favours the positives' large falls; the ratio of ratios says the same
    direction with its size (0.1 / 0.4 = 0.25), and each group's ratio is the hand value."""
    rows = []
    pos = [(300, 30), (200, 20), (500, 50), (250, 25), (400, 40), (350, 35), (150, 15)]
    neg = [(20, 8), (10, 4), (30, 12), (25, 10), (15, 6), (40, 16)]
    labels = {}
    for prefix, pairs, group in (("P", pos, "mutation_positive"), ("N", neg, "mutation_negative")):
        for i, (before, after) in enumerate(pairs):
            patient = f"{prefix}{i}"
            labels[patient] = group
            rows.append((patient, "baseline", 0, "crp", float(before), "mg/L", ""))
            rows.append((patient, "month3", 90, "crp", float(after), "mg/L", ""))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": list(labels), "group": list(labels.values())})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    within = result.tables["ratios_within"].set_index(["group", "change"])
    assert within.loc[("mutation_positive", "baseline->month3"), "ratio"] == pytest.approx(0.1)
    assert within.loc[("mutation_negative", "baseline->month3"), "ratio"] == pytest.approx(0.4)
    between = result.tables["ratios_between"].set_index("change").loc["baseline->month3"]
    assert between["hl_ratio_of_ratios"] == pytest.approx(0.25)
    x = np.log([a / b for b, a in pos])
    y = np.log([a / b for b, a in neg])
    pairwise = np.sort(np.subtract.outer(x, y).ravel())
    assert between["hl_ratio_of_ratios"] == pytest.approx(math.exp(np.median(pairwise)))
    # complete separation of tied values: by enumeration of all 1,716 splits
    assert between["p"] == pytest.approx(mann_whitney_enumeration_p(x, y))


def test_beyond_50_a_group_the_ratio_of_ratios_has_the_normal_approximation_p():
    """More than 50 patients a group: Mann-Whitney's tie- and continuity-corrected normal
    approximation (scipy), not NaN, and the interval still inverts it."""
    from scipy import stats

    rng = np.random.default_rng(7)
    rows, labels = [], {}
    for prefix, group, factor in (("P", "mutation_positive", 0.2), ("N", "mutation_negative", 0.5)):
        for i in range(55):
            patient = f"{prefix}{i}"
            labels[patient] = group
            before = round(float(rng.lognormal(4, 0.5)), 1)
            after = round(before * factor * float(rng.lognormal(0, 0.5)), 1)
            rows.append((patient, "baseline", 0, "crp", before, "mg/L", ""))
            rows.append((patient, "month3", 90, "crp", after, "mg/L", ""))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": list(labels), "group": list(labels.values())})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    row = result.tables["ratios_between"].set_index("change").loc["baseline->month3"]
    logs = {g: [] for g in ("mutation_positive", "mutation_negative")}
    for patient, group in labels.items():
        values = dict(measurements.loc[measurements["patient_id"] == patient, ["visit", "value"]]
                      .itertuples(index=False))  # fmt: skip
        logs[group].append(math.log(values["month3"] / values["baseline"]))
    expected = stats.mannwhitneyu(logs["mutation_positive"], logs["mutation_negative"],
                                  method="asymptotic").pvalue  # fmt: skip
    assert row["method"] == "asymptotic" and row["p"] == pytest.approx(expected, rel=1e-6)
    assert (row["ci_upper"] < 1) == (row["p"] < 0.05)
