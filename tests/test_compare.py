"""nlrp3annot.compare against independent computations.

Every number the comparison reports is recomputed here from the raw synthetic rows with direct
scipy / lifelines calls, brute-force enumeration (the exact null distribution of U, the
Hodges-Lehmann interval, sign-flip permutations) or a hand-written Holm procedure. Cohorts
are synthetic and seeded; values have one decimal so paired differences are computed exactly
here in tenths, independently of how the module handles float noise.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from scipy import stats

from nlrp3annot.response.report.methods import methods_text
from nlrp3annot.response.stats.compare import (
    ComparisonResult,
    hodges_lehmann_ci,
    mann_whitney_null_counts,
    run_comparison,
)

POS, NEG = "mutation_positive", "mutation_negative"
COLUMNS = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
UNITS = {"saa": "mg/L", "crp": "mg/L", "esr": "mm/h", "diary": "score"}
LOWER_LIMIT = {"saa": 5.0, "crp": 3.0, "esr": 2.0, "diary": 0.0}
UPPER_LIMIT = {"esr": 120.0}
VISITS = {"baseline": 0, "month3": 90, "flare": 200}


def make_cohort(
    n_pos: int,
    n_neg: int,
    seed: int,
    n_other: int = 2,
    followup_end: bool = True,
    censor: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Measurements, groups and events for a cohort; positive patients respond more. With
    ``censor``, values beyond the assay limits are reported as "<L" / ">L"; without, every
    value as measured (the tests that recompute estimates by plain enumeration use that;
    censored estimates are tested below and in test_censored)."""
    rng = np.random.default_rng(seed)
    rows, labels, events = [], [], []
    for i in range(n_pos + n_neg + n_other):
        pid = f"P{i:02d}"
        group = POS if i < n_pos else NEG if i < n_pos + n_neg else "vus"
        labels.append((pid, group))
        response = 0.15 if group == POS else 0.5
        for measure in UNITS:
            base = rng.lognormal(3.5, 0.6)
            level = {"baseline": base, "month3": base * response * rng.lognormal(0, 0.4)}
            level["flare"] = base * rng.lognormal(0, 0.3)
            for visit, value in level.items():
                value, mark = round(float(value), 1), ""
                if censor and value < LOWER_LIMIT[measure]:
                    value, mark = LOWER_LIMIT[measure], "<"
                if censor and measure in UPPER_LIMIT and value > UPPER_LIMIT[measure]:
                    value, mark = UPPER_LIMIT[measure], ">"
                rows.append((pid, visit, VISITS[visit], measure, value, UNITS[measure], mark))
        withdrawal = 100 + int(rng.integers(0, 30))
        flare = withdrawal + int(rng.integers(3, 120)) if rng.random() < 0.6 else math.nan
        events.append((pid, withdrawal, flare, withdrawal + 150))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame(labels, columns=["patient_id", "group"])
    event_columns = ["patient_id", "withdrawal_day", "flare_day", "followup_end_day"]
    events_frame = pd.DataFrame(events, columns=event_columns)
    if not followup_end:
        events_frame = events_frame.drop(columns="followup_end_day")
    return measurements, groups, events_frame


# ---------------------------------------------------------------------------------------------
# Independent helpers


def members(groups: pd.DataFrame, group: str) -> list[str]:
    if group == "all":
        return sorted(groups["patient_id"])
    return sorted(groups.loc[groups["group"] == group, "patient_id"])


def lookup(measurements: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    return {
        (r.patient_id, r.measure, r.visit): r.value for r in measurements.itertuples(index=False)
    }


def diffs(
    measurements: pd.DataFrame,
    groups: pd.DataFrame,
    group: str,
    measure: str,
    earlier: str,
    later: str,
) -> np.ndarray:
    """later - earlier, computed exactly in tenths, for patients with both visits."""
    values = lookup(measurements)
    out = []
    for pid in members(groups, group):
        a, b = values.get((pid, measure, earlier)), values.get((pid, measure, later))
        if a is not None and b is not None:
            out.append((round(b * 10) - round(a * 10)) / 10)
    return np.array(out, dtype=float)


def wilcoxon_method(d: np.ndarray) -> str:
    """The documented rule: exact up to 50 non-zero differences, ties or not."""
    return "exact" if np.count_nonzero(d) <= 50 else "asymptotic"


def wilcoxon_reference_p(d: np.ndarray) -> float:
    """The expected two-sided P: enumeration of every sign pattern when exact (scipy's own
    exact distribution for untied differences beyond 20), scipy's tie- and continuity-
    corrected normal approximation otherwise."""
    nonzero = d[d != 0]
    if wilcoxon_method(d) == "asymptotic":
        return stats.wilcoxon(d, method="asymptotic", correction=True).pvalue
    if nonzero.size <= 20:
        return signed_rank_enumeration_p(d)
    assert len(set(np.abs(nonzero))) == nonzero.size, "tied and too large to enumerate"
    return stats.wilcoxon(nonzero, method="exact").pvalue


def signed_rank_enumeration_p(d: np.ndarray) -> float:
    """P(|T+ - E| >= |t - E|) over all 2**n sign patterns of the non-zero differences
    (midranks of |d|), enumerated as a matrix."""
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    n = nonzero.size
    patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    sums = patterns @ ranks
    observed, mean = ranks[nonzero > 0].sum(), ranks.sum() / 2
    return float(np.mean(np.abs(sums - mean) >= abs(observed - mean) - 1e-9))


def mann_whitney_enumeration_p(x: np.ndarray, y: np.ndarray) -> float:
    """P(|U - E| >= |u - E|) over every split of the pooled values into groups of the
    same sizes (midranks), enumerated."""
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    n1, n2 = x.size, y.size
    offset = n1 * (n1 + 1) / 2
    observed = ranks[:n1].sum() - offset
    mean = n1 * n2 / 2
    hits = total = 0
    for chosen in itertools.combinations(range(pooled.size), n1):
        u = ranks[list(chosen)].sum() - offset
        total += 1
        hits += abs(u - mean) >= abs(observed - mean) - 1e-9
    return hits / total


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment, written out."""
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: pvalues[k])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def brute_force_u_counts(n1: int, n2: int) -> list[int]:
    """Null distribution of U by enumerating every split of ranks 1..n1+n2."""
    counts = [0] * (n1 * n2 + 1)
    for chosen in itertools.combinations(range(n1 + n2), n1):
        others = set(range(n1 + n2)) - set(chosen)
        counts[sum(1 for a in chosen for b in others if a > b)] += 1
    return counts


def brute_force_hl_ci(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float, float]:
    counts = brute_force_u_counts(len(x), len(y))
    total = sum(counts)
    critical = None
    for c in range(len(counts)):
        if Fraction(sum(counts[: c + 1]), total) <= Fraction(repr(alpha)) / 2:
            critical = c
    pairwise = sorted(a - b for a in x for b in y)
    if critical is None:
        return math.nan, math.nan, math.nan
    coverage = 1 - 2 * sum(counts[: critical + 1]) / total
    return pairwise[critical], pairwise[len(pairwise) - 1 - critical], coverage


def signed_rank_permutation_p(d: np.ndarray) -> float:
    """Two-sided P of the signed-rank sum over all 2**n sign assignments (ties averaged)."""
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    observed = ranks[nonzero > 0].sum()
    sums = [
        sum(r for r, s in zip(ranks, signs, strict=True) if s)
        for signs in itertools.product([False, True], repeat=len(nonzero))
    ]
    # Every sign pattern of the n values d (zeros included) is equally likely.
    weight = 2 ** (len(d) - len(nonzero))
    n_total = len(sums) * weight
    less = sum(weight for s in sums if s <= observed + 1e-9) / n_total
    greater = sum(weight for s in sums if s >= observed - 1e-9) / n_total
    return min(1.0, 2 * min(less, greater))


def flare_times(events: pd.DataFrame, groups: pd.DataFrame, group: str):
    rows = events[events["patient_id"].isin(members(groups, group))]
    observed = rows["flare_day"].notna()
    durations = np.where(
        observed,
        rows["flare_day"] - rows["withdrawal_day"],
        rows["followup_end_day"] - rows["withdrawal_day"],
    )
    return durations, observed.astype(int).to_numpy()


def finite_or_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def walk_plain(value) -> None:
    """Every leaf is a plain JSON type (no numpy scalars, no NaN)."""
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for v in value.values():
            walk_plain(v)
    elif isinstance(value, list):
        for v in value:
            walk_plain(v)
    else:
        assert value is None or type(value) in (bool, int, float, str), type(value)
        if isinstance(value, float):
            assert math.isfinite(value)


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(9, 7, seed=20240611, censor=False)


@pytest.fixture(scope="module")
def result(cohort) -> ComparisonResult:
    return run_comparison(*cohort)


# ---------------------------------------------------------------------------------------------
# Descriptives


def test_descriptives_match_numpy(cohort, result):
    measurements, groups, _ = cohort
    table = result.tables["descriptives"]
    assert len(table) == 4 * 3 * 3  # measures x visits x (two groups + all)
    for row in table.itertuples(index=False):
        cell = measurements[
            (measurements["measure"] == row.measure)
            & (measurements["visit"] == row.visit)
            & measurements["patient_id"].isin(members(groups, row.group))
        ]
        values = cell["value"].to_numpy(float)
        assert row.n == len(values)
        assert row.median == pytest.approx(np.median(values))
        assert row.q1 == pytest.approx(np.percentile(values, 25, method="linear"))
        assert row.q3 == pytest.approx(np.percentile(values, 75, method="linear"))
        assert row.n_censored == int((cell["censored"] != "").sum())
        assert row.n_below_limit == int((cell["censored"] == "<").sum())
        assert row.n_above_limit == int((cell["censored"] == ">").sum())
    # (the counts of censored values are exercised by the censored tests below)


def test_censored_values_counted_and_estimates_given_as_the_limits_allow():
    rows = [
        ("A", "baseline", 0, "saa", 40.0, "mg/L", ""),
        ("A", "month3", 90, "saa", 5.0, "mg/L", "<"),
        ("B", "baseline", 0, "saa", 30.0, "mg/L", ""),
        ("B", "month3", 90, "saa", 5.0, "mg/L", "<"),
        ("C", "baseline", 0, "saa", 2000.0, "mg/L", ">"),
        ("C", "month3", 90, "saa", 9.0, "mg/L", None),
    ]
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": ["A", "B", "C"], "group": [POS, POS, NEG]})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    table = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    month3 = table.loc[("saa", "month3", POS)]
    assert (month3["n"], month3["n_censored"], month3["n_below_limit"]) == (2, 2, 2)
    # both month-3 values are "<5": the median is a bound, not the limit as a number
    assert math.isnan(month3["median"]) and month3["median_text"] == "< 5"
    baseline_all = table.loc[("saa", "baseline", "all")]
    assert (baseline_all["n_censored"], baseline_all["n_above_limit"]) == (1, 1)
    assert baseline_all["median"] == 40.0
    within = result.tables["within"].set_index(["measure", "group", "change"])
    row = within.loc[("saa", POS, "baseline->month3")]
    # the changes lie in [-40, -35) and [-30, -25): their median somewhere in [-35, -30)
    assert math.isnan(row["median_diff"]) and row["median_diff_text"] == "-35 to -30"


# ---------------------------------------------------------------------------------------------
# Within-group Wilcoxon


def test_within_matches_enumeration_and_scipy(cohort, result):
    measurements, groups, _ = cohort
    table = result.tables["within"]
    assert set(table["group"]) == {POS, NEG, "all"}
    # every change the default plan names: primary, and its secondary month 6 and retreatment
    assert set(table["change"]) == {"baseline->month3", "month3->flare", "baseline->month6",
                                    "flare->retreatment"}  # fmt: skip
    for row in table.itertuples(index=False):
        earlier, later = row.change.split("->")
        d = diffs(measurements, groups, row.group, row.measure, earlier, later)
        assert row.n == len(d)
        if not d.size:  # month 6 and retreatment: the cohort has no such visit
            assert row.change in ("baseline->month6", "flare->retreatment")
            assert math.isnan(row.p) and math.isnan(row.median_diff)
            continue
        assert row.median_diff == pytest.approx(np.median(d))
        assert row.method_requested == row.method == wilcoxon_method(d)
        assert row.p == pytest.approx(wilcoxon_reference_p(d), rel=1e-9)
        assert row.statistic == pytest.approx(stats.wilcoxon(d).statistic)


def test_wilcoxon_with_ties_and_zeros_is_exact():
    # 8 patients, one unchanged and two with the same change: exact over midranks (zeros
    # dropped), as enumeration of all sign patterns gives it.
    changes = [-12.0, -12.0, -7.5, 0.0, -3.0, 2.0, -20.0, -9.0]
    rows = []
    for i, change in enumerate(changes):
        rows.append((f"T{i}", "baseline", 0, "crp", 50.0, "mg/L", ""))
        rows.append((f"T{i}", "month3", 90, "crp", 50.0 + change, "mg/L", ""))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": [f"T{i}" for i in range(8)], "group": POS})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    row = result.tables["within"].set_index(["group", "change"]).loc[(POS, "baseline->month3")]
    d = np.array(changes)
    assert row["method_requested"] == row["method"] == "exact"
    assert row["n"] == 8 and row["n_nonzero"] == 7
    assert row["p"] == pytest.approx(signed_rank_enumeration_p(d), rel=1e-12)
    assert row["p"] == pytest.approx(signed_rank_permutation_p(d[d != 0]), rel=1e-12)
    assert "zero difference" in row["note"] and "tied" in row["note"]


def test_the_demo_case_all_decreases_with_ties_is_exact():
    """The issue's example: 18 decreases with ties, where scipy's automatic choice gave the
    normal approximation (1.96e-4): exactly 2 / 2**18 = 7.63e-6."""
    changes = -np.array([5, 5, 7, 9, 9, 12, 14, 15, 15, 20, 22, 25, 25, 30, 31, 40, 44, 50.0])
    row = _within_row(changes, "saa", "mg/L")
    assert row["method"] == "exact"
    assert row["p"] == pytest.approx(2 / 2**18, rel=1e-12)


def _within_row(changes: np.ndarray, measure: str, unit: str):
    rows = []
    for i, change in enumerate(changes):
        rows.append((f"L{i}", "baseline", 0, measure, 100.0, unit, ""))
        rows.append((f"L{i}", "month3", 90, measure, 100.0 + change, unit, ""))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": [f"L{i}" for i in range(changes.size)], "group": NEG})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    return result.tables["within"].set_index(["group", "change"]).loc[(NEG, "baseline->month3")]


def test_wilcoxon_tied_samples_exact_up_to_50_then_asymptotic():
    rng = np.random.default_rng(7)
    small = np.round(rng.normal(-3, 4, 16)).astype(float)  # integers: ties certain
    row = _within_row(small, "diary", "score")
    assert row["method"] == "exact"
    assert row["p"] == pytest.approx(signed_rank_enumeration_p(small), rel=1e-9)
    large = np.round(rng.normal(-3, 4, 70)).astype(float)
    assert np.count_nonzero(large) > 50
    row = _within_row(large, "diary", "score")
    assert (row["method_requested"], row["method"]) == ("asymptotic", "asymptotic")
    expected = stats.wilcoxon(large, method="asymptotic", correction=True)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Between groups: Mann-Whitney and Hodges-Lehmann


@pytest.mark.parametrize("n_pos, n_neg, seed", [(9, 7, 20240611), (6, 5, 11), (4, 4, 5)])
def test_between_matches_enumeration_and_scipy(n_pos, n_neg, seed):
    measurements, groups, events = make_cohort(n_pos, n_neg, seed=seed, censor=False)
    table = run_comparison(measurements, groups, events).tables["between"]
    # 4 measures x every change the default plan names (issue 26: month 6 and retreatment
    # are its secondary end points; this cohort has neither visit, so those rows are empty)
    assert len(table) == 16
    assert set(table["change"]) == {"baseline->month3", "month3->flare", "baseline->month6",
                                    "flare->retreatment"}  # fmt: skip
    for row in table.itertuples(index=False):
        earlier, later = row.change.split("->")
        x = diffs(measurements, groups, POS, row.measure, earlier, later)
        y = diffs(measurements, groups, NEG, row.measure, earlier, later)
        assert (row.n1, row.n2) == (len(x), len(y))
        if not x.size:
            assert row.change in ("baseline->month6", "flare->retreatment")
            assert not y.size and math.isnan(row.p) and "no patient" in row.note
            continue
        assert row.method == "exact"  # up to 50 patients a group, ties or not
        assert row.p == pytest.approx(mann_whitney_enumeration_p(x, y), rel=1e-9)
        tied = len(set(np.concatenate([x, y]))) < len(x) + len(y)
        if not tied:
            assert row.p == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue)
        assert row.u_statistic == stats.mannwhitneyu(x, y).statistic
        assert row.hl_shift == pytest.approx(np.median(np.subtract.outer(x, y)))
        lower, upper, coverage = brute_force_hl_ci(x, y, 0.05)
        assert row.ci_lower == pytest.approx(lower, nan_ok=True)
        assert row.ci_upper == pytest.approx(upper, nan_ok=True)
        if math.isnan(lower):
            assert row.ci_coverage is None or math.isnan(row.ci_coverage)
        else:
            assert row.ci_coverage == pytest.approx(coverage) and row.ci_coverage >= 0.95


def test_the_9_versus_4_example_is_exact():
    """The issue's example: 9 versus 4 patients, no ties, complete separation: exactly
    2 / C(13, 4) = 2/715 (the normal approximation gave 0.0069)."""
    from nlrp3annot.response.stats.rank_tests import mann_whitney_exact_p

    x = np.arange(10.0, 19.0)
    y = np.arange(4.0)
    u, p = mann_whitney_exact_p(x, y)
    assert u == 36 and p == pytest.approx(2 / 715, rel=1e-12)


def test_mann_whitney_beyond_50_is_asymptotic():
    rng = np.random.default_rng(3)
    x, y = np.round(rng.normal(0, 3, 55)), np.round(rng.normal(1, 3, 52))
    rows = []
    for i, change in enumerate(np.concatenate([x, y])):
        rows.append((f"M{i}", "baseline", 0, "esr", 60.0, "mm/h", ""))
        rows.append((f"M{i}", "month3", 90, "esr", 60.0 + change, "mm/h", ""))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    labels = [POS] * x.size + [NEG] * y.size
    groups = pd.DataFrame({"patient_id": [f"M{i}" for i in range(len(labels))], "group": labels})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    row = run_comparison(measurements, groups, events).tables["between"].iloc[0]
    assert row["method"] == "asymptotic"
    expected = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-12)


@pytest.mark.parametrize("n1, n2", [(1, 1), (2, 3), (3, 3), (4, 5), (5, 5), (6, 4), (7, 6)])
def test_null_distribution_of_u_equals_enumeration(n1, n2):
    assert mann_whitney_null_counts(n1, n2) == brute_force_u_counts(n1, n2)
    assert sum(mann_whitney_null_counts(n1, n2)) == math.comb(n1 + n2, n1)


def test_null_distribution_matches_scipy_exact_p_values():
    # scipy's exact Mann-Whitney P for complete separation is 2 / C(n1+n2, n1); the counts
    # give the same smallest tail.
    for n1, n2 in [(3, 4), (5, 6), (8, 8)]:
        counts = mann_whitney_null_counts(n1, n2)
        x, y = np.arange(n1, dtype=float), np.arange(n1, n1 + n2, dtype=float)
        p = stats.mannwhitneyu(x, y, method="exact").pvalue
        assert p == pytest.approx(2 * counts[0] / math.comb(n1 + n2, n1))


def test_hodges_lehmann_interval_textbook_case():
    # n1 = n2 = 5: the 95% interval is [D_(3), D_(23)], coverage 1 - 8/252 = 0.968.
    x = np.array([1.0, 2.5, 4.0, 7.0, 11.0])
    y = np.array([0.5, 3.0, 3.5, 6.0, 8.5])
    shift, lower, upper, critical, coverage = hodges_lehmann_ci(x, y, 0.05)
    pairwise = np.sort(np.subtract.outer(x, y).ravel())
    assert critical == 2
    assert (lower, upper) == (pairwise[2], pairwise[22])
    assert coverage == pytest.approx(1 - 8 / 252)
    assert shift == np.median(pairwise)


def test_hodges_lehmann_interval_undefined_for_tiny_groups():
    # C(5, 2) = 10: even [min, max] covers with probability 0.8 only.
    shift, lower, upper, critical, coverage = hodges_lehmann_ci(
        np.array([1.0, 2.0]), np.array([3.0, 5.0, 8.0]), 0.05
    )
    assert shift == np.median([-2, -4, -7, -1, -3, -6])
    assert math.isnan(lower) and math.isnan(upper) and critical is None and coverage is None


# ---------------------------------------------------------------------------------------------
# Time to flare


def test_kaplan_meier_and_logrank_match_lifelines(cohort, result):
    _, groups, events = cohort
    table = result.tables["time_to_flare"].set_index("group")
    fitted = {}
    for group in (POS, NEG):
        durations, observed = flare_times(events, groups, group)
        kmf = KaplanMeierFitter(alpha=0.05).fit(durations, observed)
        fitted[group] = (durations, observed)
        row = table.loc[group]
        assert row["n"] == len(durations) and row["events"] == observed.sum()
        median = kmf.median_survival_time_
        ci = median_survival_times(kmf.confidence_interval_).iloc[0]
        summary = result.summary["time_to_flare"]["groups"][group]
        assert summary["median"] == finite_or_none(median)
        assert summary["median_ci_lower"] == finite_or_none(ci.iloc[0])
        assert summary["median_ci_upper"] == finite_or_none(ci.iloc[1])
        assert summary["median_reached"] == math.isfinite(median)
        curve = pd.DataFrame(summary["survival"])
        assert curve["survival"].to_numpy() == pytest.approx(
            kmf.survival_function_.iloc[:, 0].to_numpy()
        )
        assert curve["time"].to_numpy() == pytest.approx(kmf.survival_function_.index.to_numpy())
        assert curve["at_risk"].tolist() == kmf.event_table["at_risk"].tolist()
    (da, ea), (db, eb) = fitted[POS], fitted[NEG]
    expected = logrank_test(da, db, event_observed_A=ea, event_observed_B=eb)
    logrank = result.summary["time_to_flare"]["logrank"]
    assert logrank["p"] == pytest.approx(expected.p_value, rel=1e-12)
    assert logrank["test_statistic"] == pytest.approx(expected.test_statistic, rel=1e-12)


def test_median_time_to_flare_defined_when_most_flare():
    events = pd.DataFrame(
        {
            "patient_id": list("ABCDEFGH"),
            "withdrawal_day": [10] * 8,
            "flare_day": [15, 20, 22, 30, 41, math.nan, 12, 60],
            "followup_end_day": [200] * 8,
        }
    )
    groups = pd.DataFrame({"patient_id": list("ABCDEFGH"), "group": [POS] * 5 + [NEG] * 3})
    measurements = pd.DataFrame(columns=COLUMNS)
    result = run_comparison(measurements, groups, events)
    durations = np.array([5, 10, 12, 20, 31], dtype=float)
    kmf = KaplanMeierFitter().fit(durations, np.ones(5))
    ci = median_survival_times(kmf.confidence_interval_).iloc[0]
    summary = result.summary["time_to_flare"]["groups"][POS]
    assert summary["median"] == kmf.median_survival_time_ == 12
    assert summary["median_ci_lower"] == finite_or_none(ci.iloc[0])
    assert summary["median_ci_upper"] == finite_or_none(ci.iloc[1])
    # Group NEG: 2 of 3 flare, at 2 and 50 days; the one without a flare is censored at 190.
    neg = result.summary["time_to_flare"]["groups"][NEG]
    assert (neg["n"], neg["events"]) == (3, 2)


def test_patients_without_followup_end_are_excluded_from_km_with_warning():
    measurements, groups, events = make_cohort(6, 6, seed=3, followup_end=False)
    result = run_comparison(measurements, groups, events)
    unflared = sorted(events.loc[events["flare_day"].isna(), "patient_id"])
    assert unflared  # the seed gives some patients without a flare
    assert result.summary["excluded"]["time_to_flare_patients"] == unflared
    assert any(
        "could not be censored" in w and all(p in w for p in unflared) for w in result.warnings
    )
    table = result.tables["time_to_flare"].set_index("group")
    for group in (POS, NEG):
        flared = events[events["patient_id"].isin(members(groups, group))]["flare_day"].notna()
        assert table.loc[group, "n"] == table.loc[group, "events"] == flared.sum()


# ---------------------------------------------------------------------------------------------
# Holm


def log_ratios(measurements, groups, group, measure, earlier, later) -> np.ndarray:
    values = lookup(measurements)
    out = []
    for pid in members(groups, group):
        a, b = values.get((pid, measure, earlier)), values.get((pid, measure, later))
        if a is not None and b is not None and a > 0 and b > 0:
            out.append(math.log(b / a))
    return np.array(out)


def firth_lr_p(events: pd.DataFrame, groups: pd.DataFrame) -> float:
    """Firth's penalised likelihood-ratio P of POS vs NEG, from the written-out penalised
    partial likelihood of test_hazard maximised by scipy."""
    from scipy import optimize
    from test_hazard import penalised_loglik

    (t1, e1), (t2, e2) = flare_times(events, groups, POS), flare_times(events, groups, NEG)
    t, e = np.r_[t1, t2].astype(float), np.r_[e1, e2].astype(bool)
    x = np.r_[np.ones(len(t1)), np.zeros(len(t2))]
    best = optimize.minimize_scalar(lambda b: -penalised_loglik(t, e, x, b), bounds=(-10, 10),
                                    method="bounded", options={"xatol": 1e-10})  # fmt: skip
    statistic = 2 * (-best.fun - penalised_loglik(t, e, x, 0.0))
    return float(stats.chi2.sf(max(statistic, 0.0), 1))


def test_holm_over_the_plans_primary_family(cohort):
    """A plan asking the genotype question (question = "genotype"): the between-group tests
    of diary, SAA, CRP and ESR for baseline->month3 and month3->flare, in that order (markers
    as log ratios, the diary as the change), then time to flare by the plan's flare_test,
    Firth's penalised likelihood-ratio test (no longer the permutation log-rank P, which no
    interval in the row inverts); Holm over the 9. (Issue 26: the default now asks the
    study's question, tested below; this test gives the genotype question its own plan.)"""
    from nlrp3annot.response.plan import default_plan

    measurements, groups, events = cohort
    result = run_comparison(*cohort, plan=replace(default_plan(), question="genotype"))
    endpoints: list[tuple[str, float]] = []
    for a, b in [("baseline", "month3"), ("month3", "flare")]:
        for measure in ("diary", "saa", "crp", "esr"):
            values = diffs if measure == "diary" else log_ratios
            x = values(measurements, groups, POS, measure, a, b)
            y = values(measurements, groups, NEG, measure, a, b)
            endpoints.append((f"{measure} {a}->{b}", mann_whitney_enumeration_p(x, y)))
    endpoints.append(("time to flare", firth_lr_p(events, groups)))

    adjusted = holm([p for _, p in endpoints])
    primary = result.tables["genotype_endpoints"]
    assert result.summary["primary_endpoints"]["family_size"] == len(endpoints) == 9
    assert result.summary["primary_endpoints"]["table"] == "genotype_endpoints"
    assert [e.lower() for e in primary["endpoint"]] == [e for e, _ in endpoints]
    assert primary["p"].to_numpy() == pytest.approx([p for _, p in endpoints], rel=1e-9)
    assert primary["p_adjusted"].to_numpy() == pytest.approx(adjusted, rel=1e-9)
    assert set(primary["adjustment"]) == {"Holm over 9 test(s)"}
    assert set(primary["role"]) == {"primary"}
    # the study's within-patient changes are then supporting: unadjusted, said so
    study = result.tables["study_endpoints"]
    assert set(study["role"]) == {"supporting"} and study["p_adjusted"].isna().all()


def test_the_default_plan_asks_the_studys_question_with_holm_over_its_8(cohort, result):
    """The default plan (NEJM 2006, issue 26): the primary family is each end point's
    within-patient change in all 18 patients (the two VUS carriers too), baseline->month3
    then month3->flare for diary, SAA, CRP and ESR: the exact signed-rank P of the changes
    (the diary) or of the log ratios (the markers), enumerated here over all 2**18 sign
    patterns; Holm over the 8. The genotype comparison is exploratory: the same 8 between-
    group P values and time to flare, each unadjusted (no adjusted P) and labelled so."""
    measurements, groups, events = cohort
    endpoints: list[tuple[str, float]] = []
    between: list[float] = []
    for a, b in [("baseline", "month3"), ("month3", "flare")]:
        for measure in ("diary", "saa", "crp", "esr"):
            values = diffs if measure == "diary" else log_ratios
            d = values(measurements, groups, "all", measure, a, b)
            assert d.size == 18 and np.count_nonzero(d) == 18
            endpoints.append((f"all patients: {measure} {a}->{b}", signed_rank_enumeration_p(d)))
            x = values(measurements, groups, POS, measure, a, b)
            y = values(measurements, groups, NEG, measure, a, b)
            between.append(mann_whitney_enumeration_p(x, y))
    study = result.tables["study_endpoints"]
    assert result.summary["question"] == "study"
    assert result.summary["primary_endpoints"]["table"] == "study_endpoints"
    assert result.summary["primary_endpoints"]["family_size"] == 8
    assert [e.lower() for e in study["endpoint"]] == [e for e, _ in endpoints]
    assert (study["n1"] == 18).all()
    assert study["p"].to_numpy() == pytest.approx([p for _, p in endpoints], rel=1e-9)
    adjusted = holm([p for _, p in endpoints])
    assert study["p_adjusted"].to_numpy() == pytest.approx(adjusted, rel=1e-9)
    assert set(study["adjustment"]) == {"Holm over 8 test(s)"}
    assert set(study["role"]) == {"primary"}
    genotype = result.tables["genotype_endpoints"]
    assert list(genotype["endpoint"])[-1] == "time to flare"
    assert genotype["p"].to_numpy()[:8] == pytest.approx(between, rel=1e-9)
    assert genotype["p"].iloc[8] == pytest.approx(firth_lr_p(events, groups), rel=1e-6)
    assert genotype["p_adjusted"].isna().all()
    assert set(genotype["role"]) == {"exploratory"}
    assert all(a.startswith("unadjusted (exploratory") for a in genotype["adjustment"])
    significant = [bool(p < 0.05) for p in genotype["p"]]
    assert list(genotype["significant"]) == significant


def test_a_plan_with_one_primary_end_point_changes_the_family_and_its_adjustment(cohort):
    from nlrp3annot.response.plan import Endpoint, default_plan

    plan = replace(default_plan(), primary=(Endpoint("saa", ("baseline", "month3")),),
                   secondary=(), time_to_flare="secondary", multiplicity="fixed_sequence",
                   question="genotype")  # fmt: skip
    result = run_comparison(*cohort, plan=plan)
    primary = result.tables["genotype_endpoints"]
    assert list(primary["endpoint"]) == ["SAA baseline->month3"]
    measurements, groups, _ = cohort
    p = mann_whitney_enumeration_p(
        log_ratios(measurements, groups, POS, "saa", "baseline", "month3"),
        log_ratios(measurements, groups, NEG, "saa", "baseline", "month3"),
    )
    assert primary["p_adjusted"].iloc[0] == pytest.approx(p, rel=1e-9)  # a family of one
    secondary = result.tables["secondary_endpoints"]
    # the plan's flare test, then the other one, labelled secondary (one test per row)
    assert list(secondary["endpoint"]) == [
        "time to flare", "time to flare, secondary test: log-rank test (asymptotic)"
    ]  # fmt: skip
    assert set(secondary["adjustment"]) == {"unadjusted (secondary)"}


# ---------------------------------------------------------------------------------------------
# Warnings, exclusions and missing values


def wilcoxon_warned(result: ComparisonResult, group: str) -> bool:
    return any(
        w.startswith(f"{group}, ") and "baseline->month3" in w and "Wilcoxon" in w
        for w in result.warnings
    )


def test_too_small_group_warning_fires_for_5_not_6():
    """Under a plan that tests within-group changes (issue 26: a descriptive plan claims no
    within-group P, so it gets no warning about one; this test ran the default plan)."""
    from dataclasses import replace

    from nlrp3annot.response.plan import default_plan

    measurements, groups, events = make_cohort(6, 5, seed=11, n_other=0)
    descriptive = run_comparison(measurements, groups, events)
    assert not wilcoxon_warned(descriptive, NEG)
    tested = replace(default_plan(), within_group="tested")
    result = run_comparison(measurements, groups, events, plan=tested)
    within = result.tables["within"].set_index(["measure", "group", "change"])
    # No zero differences in this cohort, so n = 5 gives 2/2**5 = 0.0625 and n = 6 0.03125.
    assert (within["n_nonzero"] == within["n"]).all()
    # the cohort's visits (the plan's month 6 and retreatment rows are empty, n = 0)
    negative = within.xs(NEG, level="group")["n"]
    in_cohort = negative.index.get_level_values("change").isin(
        ["baseline->month3", "month3->flare"]
    )
    assert negative[in_cohort].eq(5).all() and negative[~in_cohort].eq(0).all()
    assert wilcoxon_warned(result, NEG)
    assert not wilcoxon_warned(result, POS)
    assert any("2/2**5 = 0.0625" in w for w in result.warnings)
    assert not any("2/2**6" in w for w in result.warnings)
    # Mann-Whitney with 6 and 5 can reach 2/462; no warning.
    assert not any("Mann-Whitney" in w for w in result.warnings)


def test_mann_whitney_too_small_warning():
    small = run_comparison(*make_cohort(3, 3, seed=5, n_other=0))
    assert any("2/C(6,3) = 0.1" in w for w in small.warnings)
    enough = run_comparison(*make_cohort(4, 4, seed=5, n_other=0))
    assert not any("Mann-Whitney" in w for w in enough.warnings)


def test_unassigned_patients_excluded_and_counted(cohort):
    measurements, groups, events = cohort
    extra = pd.DataFrame(
        [
            ("X9", "baseline", 0, "saa", 99.0, "mg/L", ""),
            ("X9", "month3", 90, "saa", 7.0, "mg/L", ""),
        ],
        columns=COLUMNS,
    )
    result = run_comparison(pd.concat([measurements, extra]), groups, events)
    assert result.summary["n_patients"]["unassigned"] == 1
    assert result.summary["n_patients"]["all"] == len(groups)
    assert result.summary["n_patients"][POS] == 9 and result.summary["n_patients"][NEG] == 7
    assert result.summary["excluded"]["unassigned_patients"] == ["X9"]
    assert any("X9" in w and "no group label" in w for w in result.warnings)
    descriptives = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    assert descriptives.loc[("saa", "baseline", "all"), "n"] == len(groups)


def test_nan_handling_single_patient_and_all_zero_differences():
    rows = [
        ("A", "baseline", 0, "saa", 20.0, "mg/L", ""),
        ("A", "month3", 90, "saa", 8.0, "mg/L", ""),
        ("B", "baseline", 0, "saa", 20.0, "mg/L", ""),
        ("B", "month3", 90, "saa", 20.0, "mg/L", ""),
        ("C", "baseline", 0, "saa", 11.0, "mg/L", ""),
        ("C", "month3", 90, "saa", 11.0, "mg/L", ""),
        ("C", "month3", 90, "crp", math.nan, "mg/L", ""),
    ]
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": list("ABC"), "group": [POS, NEG, NEG]})
    events = pd.DataFrame({"patient_id": list("AB"), "withdrawal_day": [5, 5], "flare_day": [9, 9]})
    result = run_comparison(measurements, groups, events)
    within = result.tables["within"].set_index(["measure", "group", "change"])
    one = within.loc[("saa", POS, "baseline->month3")]
    assert one["n"] == 1 and math.isnan(one["p"]) and "at least 2" in one["note"]
    zeros = within.loc[("saa", NEG, "baseline->month3")]
    assert zeros["n"] == 2 and math.isnan(zeros["p"]) and "zero" in zeros["note"]
    empty = within.loc[("saa", POS, "month3->flare")]
    assert empty["n"] == 0 and math.isnan(empty["median_diff"])
    # The family is the plan's (issue 26: untested end points count as not rejected, P = 1,
    # instead of leaving the family). The default asks the study's question: 8 within-
    # patient changes in all patients, of which only SAA baseline->month3 has a P: 3
    # patients, one non-zero log ratio, so both sign patterns are as extreme, P = 1.
    family = result.summary["primary_endpoints"]
    assert family["family_size"] == 8
    assert [e["endpoint"] for e in family["not_tested"]] == [
        f"all patients: {e}" for e in ("diary baseline->month3", "CRP baseline->month3",
        "ESR baseline->month3", "diary month3->flare", "SAA month3->flare",
        "CRP month3->flare", "ESR month3->flare")
    ]  # fmt: skip
    study = result.tables["study_endpoints"].set_index("endpoint")
    assert study.loc["all patients: SAA baseline->month3", "p"] == pytest.approx(
        signed_rank_enumeration_p(np.array([math.log(8 / 20), 0.0, 0.0]))
    )
    # The genotype question's family is its 9 and "all" is never in it. Two have a P: the
    # baseline->month3 between-group test and time to flare.
    from nlrp3annot.response.plan import default_plan

    genotype = run_comparison(
        measurements, groups, events, plan=replace(default_plan(), question="genotype")
    ).summary["primary_endpoints"]
    assert genotype["family_size"] == 9
    assert len(genotype["not_tested"]) == 7
    assert {e["endpoint"] for e in genotype["not_tested"]} == {
        "diary baseline->month3", "CRP baseline->month3", "ESR baseline->month3",
        "diary month3->flare", "SAA month3->flare", "CRP month3->flare", "ESR month3->flare",
    }  # fmt: skip
    records = {(r["group"], r["change"]): r for r in result.summary["within"]}
    assert records[(POS, "baseline->month3")]["p"] is None
    between = result.summary["between"][0]
    assert between["ci_lower"] is None and between["ci_critical_u"] is None
    assert between["p"] == pytest.approx(  # exact: 1 versus 2, all 3 splits
        mann_whitney_enumeration_p(np.array([-12.0]), np.array([0.0, 0.0]))
    )
    assert any("without a numeric value" in w for w in result.warnings)
    # Both flared, no censoring: the median is defined for POS (one patient) ...
    assert result.summary["time_to_flare"]["groups"][POS]["median"] == 4.0
    json.dumps(result.summary, allow_nan=False)
    walk_plain(result.summary)


def test_missing_compared_group_gives_none_not_errors():
    measurements, groups, events = make_cohort(6, 0, seed=2, n_other=0)
    result = run_comparison(measurements, groups, events)
    assert any(repr(NEG) in w and "No patient" in w for w in result.warnings)
    assert all(r["p"] is None for r in result.summary["between"])
    assert result.summary["time_to_flare"]["logrank"]["p"] is None
    assert result.summary["time_to_flare"]["groups"][NEG]["median"] is None
    walk_plain(result.summary)


def test_wrong_units_and_conflicting_repeats_left_out():
    rows = [
        ("A", "baseline", 0, "crp", 2.0, "mg/dL", ""),
        ("A", "baseline", 0, "saa", 10.0, "mg/l", ""),
        ("A", "month3", 90, "saa", 3.0, "mg/L", ""),
        ("A", "month3", 90, "saa", 4.0, "mg/L", ""),
        ("B", "baseline", 0, "saa", 12.0, "mg/L", ""),
        ("B", "baseline", 0, "saa", 12.0, "mg/L", ""),
    ]
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": ["A", "B"], "group": [POS, POS]})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    table = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    assert "crp" not in table.index.get_level_values("measure")
    assert table.loc[("saa", "baseline", POS), "n"] == 2  # unit case ignored; exact repeat kept
    assert "month3" not in table.index.get_level_values("visit")  # A's only month3 value
    assert any("mg/dL" in w for w in result.warnings)
    assert any("conflicting" in w and "A saa month3" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------
# Summary and methods text


def test_summary_is_plain_json_with_expected_keys(result):
    summary = result.summary
    assert set(summary) == {
        "compared", "alpha", "visits", "group_rule", "n_patients", "descriptives", "within",
        "between", "ratios_within", "ratios_between", "time_to_flare", "primary_endpoints",
        "censoring", "excluded", "warnings", "software", "plan", "hazard_ratio",
        "secondary_endpoints", "responders", "responder_definition", "mixed_model", "ancova",
        "question", "study_endpoints", "genotype_endpoints",
    }  # fmt: skip
    assert "not decide" in summary["group_rule"]
    assert set(summary["software"]) >= {"scipy", "statsmodels", "lifelines"}
    assert summary["n_patients"] == {
        POS: 9, NEG: 7, "vus": 2, "all": 18, "unassigned": 0, "labelled_without_data": 0
    }  # fmt: skip
    walk_plain(summary)
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary


def test_methods_text_names_the_methods(result):
    text = methods_text(result)
    for phrase in (
        "Wilcoxon signed-rank",
        "Mann-Whitney",
        "Hodges-Lehmann",
        "Kaplan-Meier",
        "log-rank",
        "Holm",
        "detection limit",
        "exact",
        f"{result.summary['primary_endpoints']['family_size']} tests",
        "is descriptive",
        "test inversion",
        "Firth",
        f"scipy {result.summary['software']['scipy']}",
        f"lifelines {result.summary['software']['lifelines']}",
        f"statsmodels {result.summary['software']['statsmodels']}",
    ):
        assert phrase in text, phrase


def test_invalid_arguments_rejected(cohort):
    with pytest.raises(ValueError, match="two different"):
        run_comparison(*cohort, compared=(POS, POS))
    with pytest.raises(ValueError, match="lacks column"):
        run_comparison(cohort[0].drop(columns="censored"), cohort[1], cohort[2])


def test_kaplan_meier_median_where_survival_is_exactly_one_half():
    """Six patients flaring on days 1, 2, 5, 7, 9, 11: by hand S(5) = 5/6 * 4/5 * 3/4 = 1/2,
    so the median is day 5 (the first time S <= 1/2); floating point gives
    0.5000000000000001 there, which used to move the median to day 7."""
    from nlrp3annot.response.stats.survival import _time_to_flare

    times = pd.DataFrame(
        {
            "patient_id": [f"K{i}" for i in range(6)],
            "group": [POS] * 6,
            "duration": [1.0, 2.0, 5.0, 7.0, 9.0, 11.0],
            "event": [True] * 6,
        }
    )
    km, _, _ = _time_to_flare(times, (POS, NEG), 0.05)
    row = km.set_index("group").loc[POS]
    assert row["median"] == 5.0


def test_logrank_permutation_p_equals_enumeration_with_lifelines():
    """The exact permutation P: every split of 7 patients into 4 and 3, each tested with
    lifelines' log-rank, counted by hand; and the observed chi-square is lifelines' own."""
    from nlrp3annot.response.stats.survival import logrank_chi2, logrank_permutation_p

    durations = np.array([3.0, 5.0, 5.0, 8.0, 12.0, 4.0, 20.0])
    events = np.array([True, True, False, True, True, True, False])
    observed = logrank_test(durations[:4], durations[4:], events[:4], events[4:]).test_statistic
    assert logrank_chi2(durations, events, np.arange(7) < 4)[0] == pytest.approx(observed)
    hits = total = 0
    for chosen in itertools.combinations(range(7), 4):
        a = np.isin(np.arange(7), chosen)
        stat = logrank_test(durations[a], durations[~a], events[a], events[~a]).test_statistic
        hits += stat >= observed - 1e-9
        total += 1
    assert total == 35
    assert logrank_permutation_p(durations, events, 4) == pytest.approx(hits / total)


def test_censored_medians_and_limits_are_said():
    """Three of five month-3 SAA values are '<5': the median is one of them, so it reads
    '< 5'; a measured 3.0 under that limit and a second limit (<0.5) are both warned of."""
    rows = []
    month3 = [(5.0, "<"), (5.0, "<"), (5.0, "<"), (12.0, ""), (3.0, "")]
    for i, (value, mark) in enumerate(month3):
        rows.append((f"C{i}", "baseline", 0, "saa", 100.0 + i, "mg/L", ""))
        rows.append((f"C{i}", "month3", 90, "saa", value, "mg/L", mark))
    rows.append(("C0", "baseline", 0, "crp", 0.5, "mg/L", "<"))
    rows.append(("C1", "baseline", 0, "crp", 2.0, "mg/L", "<"))
    measurements = pd.DataFrame(rows, columns=COLUMNS)
    groups = pd.DataFrame({"patient_id": [f"C{i}" for i in range(5)], "group": POS})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    d = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    assert d.loc[("saa", "month3", POS), "median_text"] == "< 5"
    assert d.loc[("saa", "baseline", POS), "median_text"] == "102"
    text = " ".join(result.warnings)
    assert "saa: 1 measured value(s) below the limit <5" in text
    assert "crp: several detection limits (<0.5, <2)" in text


def test_within_change_has_its_hodges_lehmann_interval(cohort, result):
    """Each within-group change carries the median of its Walsh averages and the exact
    interval, both recomputed here by enumeration."""
    measurements, groups, _ = cohort
    checked = 0
    for row in result.tables["within"].itertuples(index=False):
        earlier, later = row.change.split("->")
        d = diffs(measurements, groups, row.group, row.measure, earlier, later)
        if not 6 <= len(d) <= 14 or len(set(np.abs(d))) < len(d):
            continue  # enumeration stays small; the interval is exact for untied data
        walsh = sorted((d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d)))
        assert row.hl_change == pytest.approx(np.median(walsh))
        n = len(d)
        patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        sums = patterns @ np.arange(1, n + 1)
        k = max(t for t in range(len(walsh)) if np.mean(sums <= t) <= 0.025)
        assert row.hl_ci_lower == pytest.approx(walsh[k])
        assert row.hl_ci_upper == pytest.approx(walsh[len(walsh) - 1 - k])
        checked += 1
    assert checked >= 3


def test_within_group_changes_are_descriptive_unless_the_plan_tests_them(cohort):
    from nlrp3annot.response.plan import default_plan

    measurements, groups, _ = cohort
    descriptive = run_comparison(*cohort)
    # the plan's secondary end points (issue 26: the study's month 6 and retreatment, each
    # a within-patient change in all patients; this cohort has neither visit, so each row
    # says so and has no P) and the time-to-flare test the plan did not name (one test per
    # row): no compared group's own change
    secondary = descriptive.tables["secondary_endpoints"]
    later = [f"all patients: {m} {c}" for c in ("baseline->month6", "flare->retreatment")
             for m in ("diary", "SAA", "CRP", "ESR")]  # fmt: skip
    assert list(secondary["endpoint"]) == [
        *later, "time to flare, secondary test: log-rank test (asymptotic)"
    ]  # fmt: skip
    assert secondary["p"].isna().sum() == 8
    assert all(n.startswith("no patient has ") for n in secondary["note"][:8])
    assert set(descriptive.tables["within"]["role"]) == {
        "descriptive: nominal P, not a test of the plan"
    }
    tested = run_comparison(*cohort, plan=replace(default_plan(), within_group="tested"))
    secondary = tested.tables["secondary_endpoints"].set_index("endpoint")
    # 8 secondary end points, the other flare test, 8 primary end points x 2 groups
    assert len(secondary) == 25
    row = secondary.loc[f"within {POS}: diary baseline->month3"]
    d = diffs(measurements, groups, POS, "diary", "baseline", "month3")
    assert row["p"] == pytest.approx(signed_rank_enumeration_p(d), rel=1e-9)
    assert row["adjustment"] == "unadjusted (secondary)"
