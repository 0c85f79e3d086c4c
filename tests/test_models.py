"""The every-visit models against answers worked out independently: the ANCOVA against a
least-squares solution built here with numpy/scipy, the mixed model's interaction against
the difference of mean per-patient changes (which it must equal on complete balanced data,
where the GLS estimate of a saturated visit x group mean model is the cell means)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nlrp3annot.response.stats.models import (
    ANCOVA_COLUMNS,
    ASSUMPTIONS,
    MIXED_COLUMNS,
    ancova,
    mixed_model,
)

COMPARED = ("mutation_positive", "mutation_negative")
VISITS = ("baseline", "month3", "month6")


def _cohort(n1: int = 4, n2: int = 4, seed: int = 7) -> tuple[pd.DataFrame, dict[str, str]]:
    """Complete, balanced data: every patient has every measure at every visit. A patient
    level shift keeps the random-intercept variance well away from 0."""
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    for i in range(n1 + n2):
        patient = f"P{i:02d}"
        labels[patient] = COMPARED[0] if i < n1 else COMPARED[1]
        shift = rng.normal(0, 1.0)
        for j, visit in enumerate(VISITS):
            fall = (1.5 if i < n1 else 0.8) * j
            for measure, centre in (("saa", 5.0), ("crp", 3.0), ("esr", 3.0)):
                value = math.exp(centre + shift - fall + rng.normal(0, 0.3))
                rows.append((patient, visit, math.nan, measure, round(value, 4), "mg/l", ""))
            diary = max(0.0, 3.0 + shift - 0.5 * fall + rng.normal(0, 0.3))
            rows.append((patient, visit, math.nan, "diary", round(diary, 4), "", ""))
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    return pd.DataFrame(rows, columns=columns), labels


def _quiet(function, *args, **kwargs) -> pd.DataFrame:
    """Call with every warning an error: the models must keep them in their notes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


def _mean_change_difference(frame, labels, measure, visit, log=True) -> float:
    wide = frame[frame["measure"] == measure].pivot(
        index="patient_id", columns="visit", values="value"
    )
    if log:
        wide = np.log(wide)
    change = wide[visit] - wide[VISITS[0]]
    in1 = [labels[p] == COMPARED[0] for p in change.index]
    return float(change[in1].mean() - change[[not x for x in in1]].mean())


def test_mixed_interaction_equals_difference_of_mean_changes():
    frame, labels = _cohort()
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS)
    assert tuple(result.columns) == MIXED_COLUMNS
    assert len(result) == 4 * 2  # four measures x two later visits
    for row in result.itertuples():
        log = row.measure != "diary"
        expected = _mean_change_difference(frame, labels, row.measure, row.visit, log)
        assert row.estimate == pytest.approx(expected, abs=1e-6), row
        assert row.converged
        assert row.n_patients == 8 and row.n_observations == 24 and row.n_censored == 0
        assert row.estimate_low == row.estimate_high == row.estimate
        assert row.ci_lower < row.estimate < row.ci_upper and 0 <= row.p <= 1
        if log:
            assert row.ratio == pytest.approx(math.exp(row.estimate))
            assert row.ratio_ci_lower == pytest.approx(math.exp(row.ci_lower))
        else:
            assert math.isnan(row.ratio)


def test_mixed_censored_values_give_a_range():
    frame, labels = _cohort()
    # Two group 1 patients' month 6 SAA below a detection limit of 5.
    at = (frame["measure"] == "saa") & (frame["visit"] == "month6")
    at &= frame["patient_id"].isin(["P00", "P01"])
    frame.loc[at, ["value", "censored"]] = [5.0, "<"]
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS, measures=("saa",))
    row = result.set_index("visit").loc["month6"]
    assert row["n_censored"] == 2
    assert row["estimate_low"] < row["estimate_high"]
    assert row["estimate_low"] <= row["estimate"] <= row["estimate_high"]
    # The at-limit fit is the one reported: the values as written, limits as numbers.
    assert row["estimate"] == pytest.approx(
        _mean_change_difference(frame, labels, "saa", "month6"), abs=1e-6
    )
    # Halving "<" values in group 1 makes its fall larger, i.e. the estimate lower.
    assert row["estimate_low"] < row["estimate"] == row["estimate_high"]


def test_mixed_one_patient_per_group_is_not_fitted():
    frame, labels = _cohort()
    keep = (frame["measure"] != "esr") | frame["patient_id"].isin(["P00", "P07"])
    result = _quiet(mixed_model, frame[keep], labels, COMPARED, VISITS)
    esr = result[result["measure"] == "esr"]
    assert len(esr) == 2
    assert esr["estimate"].isna().all() and not esr["converged"].any()
    assert esr["note"].str.contains("not fitted").all()
    assert (esr["n_patients1"] == 1).all() and (esr["n_patients2"] == 1).all()
    assert result.loc[result["measure"] == "saa", "estimate"].notna().all()


def test_zero_marker_value_is_left_out_and_counted():
    frame, labels = _cohort()
    at = (frame["measure"] == "crp") & (frame["patient_id"] == "P05")
    frame.loc[at & (frame["visit"] == "month3"), "value"] = 0.0
    mixed = _quiet(mixed_model, frame, labels, COMPARED, VISITS, measures=("crp",))
    assert (mixed["n_nonpositive"] == 1).all() and (mixed["n_observations"] == 23).all()
    assert mixed["estimate"].notna().all() and mixed["note"].str.contains("<= 0").all()
    covariance = _quiet(ancova, frame, labels, COMPARED, measures=("crp",)).iloc[0]
    assert covariance["n_nonpositive"] == 1 and covariance["n"] == 7
    assert np.isfinite(covariance["estimate"]) and "<= 0" in covariance["note"]


def _ancova_frame() -> tuple[pd.DataFrame, dict[str, str]]:
    """Nine patients, uneven groups, baseline and month 3 only; one patient lacks month 3."""
    saa = {
        "A1": (310.0, 12.0), "A2": (95.0, 4.1), "A3": (180.0, 9.5), "A4": (40.0, 3.0),
        "A5": (520.0, 30.0), "B1": (150.0, 60.0), "B2": (60.0, 33.0), "B3": (400.0, 95.0),
        "B4": (22.0, 14.0), "B5": (75.0, math.nan),
    }  # fmt: skip
    rows, labels = [], {}
    for patient, (first, second) in saa.items():
        labels[patient] = COMPARED[0] if patient[0] == "A" else COMPARED[1]
        for visit, value in (("baseline", first), ("month3", second)):
            if not math.isnan(value):
                rows.append((patient, visit, math.nan, "saa", value, "mg/l", ""))
                diary = round(value**0.5 / 4, 3)
                rows.append((patient, visit, math.nan, "diary", diary, "", ""))
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    return pd.DataFrame(rows, columns=columns), labels


@pytest.mark.parametrize("measure", ["saa", "diary"])
def test_ancova_equals_least_squares(measure):
    frame, labels = _ancova_frame()
    alpha = 0.1
    result = _quiet(ancova, frame, labels, COMPARED, measures=(measure,), alpha=alpha)
    assert tuple(result.columns) == ANCOVA_COLUMNS
    row = result.iloc[0]
    wide = frame[frame["measure"] == measure].pivot(
        index="patient_id", columns="visit", values="value"
    )
    wide = wide.dropna()
    if measure == "saa":
        wide = np.log(wide)
    group = np.array([labels[p] == COMPARED[0] for p in wide.index], dtype=float)
    x = np.column_stack([np.ones(len(wide)), wide["baseline"], group])
    y = wide["month3"].to_numpy()
    beta, rss, _, _ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    sigma2 = rss[0] / df
    se = math.sqrt(sigma2 * np.linalg.inv(x.T @ x)[2, 2])
    p = 2 * stats.t.sf(abs(beta[2] / se), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    assert row["n"] == 9 and row["n1"] == 5 and row["n2"] == 4
    assert row["estimate"] == pytest.approx(beta[2], rel=1e-9)
    assert row["baseline_slope"] == pytest.approx(beta[1], rel=1e-9)
    assert row["se"] == pytest.approx(se, rel=1e-9)
    assert row["p"] == pytest.approx(p, rel=1e-7)
    assert row["ci_lower"] == pytest.approx(beta[2] - half, rel=1e-9)
    assert row["ci_upper"] == pytest.approx(beta[2] + half, rel=1e-9)
    assert row["estimate_low"] == row["estimate_high"] == row["estimate"]
    if measure == "saa":
        assert row["ratio"] == pytest.approx(math.exp(beta[2]))
        assert row["ratio_ci_upper"] == pytest.approx(math.exp(beta[2] + half))
    else:
        assert math.isnan(row["ratio"])


def test_ancova_censored_range_and_too_few():
    frame, labels = _ancova_frame()
    at = (frame["measure"] == "saa") & (frame["visit"] == "month3") & (frame["patient_id"] == "A4")
    frame.loc[at, "censored"] = "<"
    row = _quiet(ancova, frame, labels, COMPARED, measures=("saa",)).iloc[0]
    assert row["n_censored"] == 1
    assert row["estimate_low"] < row["estimate_high"]
    assert row["estimate_low"] <= row["estimate"] <= row["estimate_high"]
    few = frame[frame["patient_id"].isin(["A1", "A2", "B1"])]
    row = _quiet(ancova, few, labels, COMPARED, measures=("saa",)).iloc[0]
    assert math.isnan(row["estimate"]) and "not fitted" in row["note"]


def test_assumptions_are_stated():
    assert set(ASSUMPTIONS) == {"mixed_model", "ancova"}
    assert "random intercept" in ASSUMPTIONS["mixed_model"]
    assert "parallel slopes" in ASSUMPTIONS["ancova"]
