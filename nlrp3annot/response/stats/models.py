"""Secondary analyses that use every visit: a linear mixed model and an ANCOVA.

The primary comparison (ratios.py, compare.py) reduces each patient to one change and
tests it by ranks, which assumes little but drops every visit but two and every patient
missing one of them. These models keep them, at the price of assumptions stated in
:data:`ASSUMPTIONS` and reported next to the results; they are sensitivity analyses.

SAA, CRP and ESR are modelled on the log scale (see ratios.py for why a fall to a tenth
should count the same from any start), so group effects are ratios of geometric means;
a value of 0 has no log and is left out and counted. The diary score is modelled raw.

A value below a detection limit is not a number, and no single substitute is right. Each
model is therefore fitted with every censored value at its limit, and again with "<"
values at half the limit and ">" values at twice it: ``estimate`` is the at-limit fit,
``estimate_low``/``estimate_high`` the range over both, so a reader sees how much the
choice moves the answer rather than one silently chosen number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.mixed_linear_model import MixedLM

LOG_MEASURES = ("saa", "crp", "esr")
MEASURES = ("saa", "crp", "esr", "diary")
MIN_PATIENTS_PER_GROUP = 2
SUBSTITUTE = {"<": 0.5, ">": 2.0}  # the second fit's stand-in, as a multiple of the limit

ASSUMPTIONS: dict[str, str] = {
    "mixed_model": (
        "The linear mixed model assumes normally distributed residuals (on the log scale "
        "for SAA, CRP and ESR, raw for the diary score), a random intercept per patient only "
        "(so visits within a patient are equally correlated and every patient changes the "
        "same way apart from a constant shift), and visits missing at random given the "
        "observed values and group."
    ),
    "ancova": (
        "The ANCOVA assumes normally distributed residuals with equal variance (on the log "
        "scale for SAA, CRP and ESR), a follow-up value linear in the (log) baseline value, "
        "and the same baseline slope in both groups (parallel slopes), and it uses only "
        "patients with both visits."
    ),
}

MIXED_COLUMNS = (
    "measure", "visit", "reference_visit", "group1", "group2", "outcome", "estimate", "se",
    "ci_lower", "ci_upper", "p", "ratio", "ratio_ci_lower", "ratio_ci_upper",
    "estimate_low", "estimate_high", "n_patients", "n_patients1", "n_patients2",
    "n_observations", "n_censored", "n_nonpositive", "converged", "note",
)  # fmt: skip
ANCOVA_COLUMNS = (
    "measure", "baseline", "followup", "group1", "group2", "outcome", "estimate", "se",
    "ci_lower", "ci_upper", "p", "ratio", "ratio_ci_lower", "ratio_ci_upper",
    "baseline_slope", "estimate_low", "estimate_high", "n", "n1", "n2", "n_censored",
    "n_nonpositive", "note",
)  # fmt: skip


def _prepare(
    frame: pd.DataFrame, labels: dict[str, str], compared: tuple[str, str], measure: str,
    visits: Sequence[str],
) -> tuple[pd.DataFrame, int]:  # fmt: skip
    """Rows of one measure at the given visits for the two compared groups, with ``group1``
    (1 for compared[0], 0 for compared[1]) and the outcome under both censoring choices
    (``at_limit``, ``substituted``); and how many values <= 0 were left out of a log."""
    member = {p: 1 for p, g in labels.items() if g == compared[0]}
    member |= {p: 0 for p, g in labels.items() if g == compared[1]}
    data = frame[
        (frame["measure"] == measure)
        & frame["visit"].isin(list(visits))
        & frame["patient_id"].isin(list(member))
        & frame["value"].notna()
    ]
    censored = data["censored"] if "censored" in data else pd.Series("", index=data.index)
    out = pd.DataFrame(
        {
            "patient": data["patient_id"].astype(str),
            "visit": data["visit"].astype(str),
            "group1": data["patient_id"].map(member).astype(int),
            "value": data["value"].astype(float),
            "censored": censored.fillna("").astype(str),
        }
    )
    nonpositive = 0
    if measure in LOG_MEASURES:
        keep = out["value"] > 0
        nonpositive = int((~keep).sum())
        out = out[keep]
    factor = out["censored"].map(SUBSTITUTE).fillna(1.0)
    transform = np.log if measure in LOG_MEASURES else (lambda v: v)
    out = out.assign(at_limit=transform(out["value"]), substituted=transform(out["value"] * factor))
    return out.reset_index(drop=True), nonpositive


def _captured(caught: list[warnings.WarningMessage]) -> list[str]:
    """Distinct warning texts, in order, for the note (the warnings themselves are kept in)."""
    return list(dict.fromkeys(str(w.message).strip() for w in caught))


def _ratio(value: float) -> float:
    return math.exp(value) if np.isfinite(value) else math.nan


def _add_ratios(row: dict[str, Any]) -> None:
    """On the log scale, the estimate and its interval as ratios too."""
    if row["outcome"] == "log value":
        row.update(
            ratio=_ratio(row["estimate"]),
            ratio_ci_lower=_ratio(row["ci_lower"]),
            ratio_ci_upper=_ratio(row["ci_upper"]),
        )


def _range(at_limit: float, other: float | None) -> tuple[float, float]:
    """(low, high) over the two censoring choices; ``other`` is None when nothing was
    censored (one fit), NaN when the second fit failed (range unknown)."""
    if other is None:
        return at_limit, at_limit
    if not (np.isfinite(at_limit) and np.isfinite(other)):
        return math.nan, math.nan
    return min(at_limit, other), max(at_limit, other)


def _fit_mixed(y: np.ndarray, exog: pd.DataFrame, patients: np.ndarray) -> tuple[Any, list[str]]:
    """A REML random-intercept fit, or None; with every warning and error as note text."""
    if np.linalg.matrix_rank(exog.to_numpy()) < exog.shape[1]:
        return None, ["not fitted: the design is not of full rank"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = MixedLM(y, exog, groups=patients)
            # bfgs first (statsmodels' default): lbfgs can step onto a singular random-effects
            # covariance and raise where bfgs converges (the demo's two-visit data)
            result = model.fit(reml=True, method=["bfgs", "lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, [f"fit failed: {type(error).__name__}: {error}"]
    notes = _captured(caught)
    if not result.converged:
        notes.insert(0, "did not converge")
    return result, notes


def _mixed_design(data: pd.DataFrame, visits: Sequence[str]) -> pd.DataFrame:
    """C(visit) * C(group) coded by hand (first visit and group2 as reference), so the
    coefficient names do not depend on the formula engine."""
    group = data["group1"].to_numpy(float)
    columns: dict[str, Any] = {"intercept": np.ones(len(data)), "group": group}
    for k, visit in enumerate(visits[1:], start=1):
        at = (data["visit"] == visit).to_numpy(float)
        columns[f"visit{k}"] = at
        columns[f"visit{k}:group"] = at * group
    return pd.DataFrame(columns, index=data.index)


def mixed_model(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    visits: Sequence[str],
    measures: Sequence[str] = MEASURES,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Group x visit interaction of a random-intercept mixed model per measure: how much
    more compared[0] changed from ``visits[0]`` to each later visit than compared[1] (a
    difference of log changes, and its exp the ratio of geometric-mean ratios, for the
    markers). One row per measure present and later visit, columns :data:`MIXED_COLUMNS`."""
    visits = list(visits)
    rows: list[dict[str, Any]] = []
    for measure in [m for m in measures if m in set(frame["measure"])]:
        data, nonpositive = _prepare(frame, labels, compared, measure, visits)
        # An interaction at a visit one group never attended is not estimable: leave it out.
        both = [v for v in visits if data.loc[data["visit"] == v, "group1"].nunique() == 2]
        used = [visits[0]] + [v for v in visits[1:] if v in both]
        data = data[data["visit"].isin(used)].reset_index(drop=True)
        n1 = data.loc[data["group1"] == 1, "patient"].nunique()
        n2 = data.loc[data["group1"] == 0, "patient"].nunique()
        n_censored = int((data["censored"] != "").sum())
        common: dict[str, Any] = dict(
            measure=measure, reference_visit=visits[0], group1=compared[0], group2=compared[1],
            outcome="log value" if measure in LOG_MEASURES else "score", n_patients=n1 + n2,
            n_patients1=n1, n_patients2=n2, n_observations=len(data), n_censored=n_censored,
            n_nonpositive=nonpositive, converged=False,
        )  # fmt: skip
        notes = [f"{nonpositive} value(s) <= 0 left out (no log)"] if nonpositive else []
        fits: dict[str, tuple[Any, list[str]]] = {}
        if visits[0] not in both:
            notes.append(f"not fitted: a group has no {visits[0]} value")
        elif min(n1, n2) < MIN_PATIENTS_PER_GROUP:
            notes.append(f"not fitted: fewer than {MIN_PATIENTS_PER_GROUP} patients in a group")
        else:
            exog = _mixed_design(data, used)
            patients = data["patient"].to_numpy()
            fits["at_limit"] = _fit_mixed(data["at_limit"].to_numpy(), exog, patients)
            if n_censored:
                fits["substituted"] = _fit_mixed(data["substituted"].to_numpy(), exog, patients)
        for visit in visits[1:]:
            row = dict.fromkeys(MIXED_COLUMNS, math.nan) | common | {"visit": visit}
            row["note"] = "; ".join(notes + _mixed_effect(row, fits, used, visit, alpha))
            rows.append(row)
    return pd.DataFrame(rows, columns=list(MIXED_COLUMNS))


def _mixed_effect(
    row: dict[str, Any], fits: dict[str, tuple[Any, list[str]]], used: list[str], visit: str,
    alpha: float,
) -> list[str]:  # fmt: skip
    """Fill ``row`` with the interaction at ``visit`` from the fits; return the notes."""
    if not fits:
        return []
    if visit not in used:
        return ["not estimated: a group has no value at this visit"]
    term = f"visit{used.index(visit)}:group"
    result, notes = fits["at_limit"]
    if result is None or not result.converged:
        return notes
    ci = result.conf_int(alpha=alpha).loc[term]
    row.update(
        estimate=float(result.fe_params[term]), se=float(result.bse_fe[term]),
        ci_lower=float(ci.iloc[0]), ci_upper=float(ci.iloc[1]),
        p=float(result.pvalues[term]), converged=True,
    )  # fmt: skip
    other = None
    if "substituted" in fits:
        second, second_notes = fits["substituted"]
        ok = second is not None and second.converged
        other = float(second.fe_params[term]) if ok else math.nan
        notes = notes + [f"half/twice-limit fit: {n}" for n in second_notes]
    row["estimate_low"], row["estimate_high"] = _range(row["estimate"], other)
    _add_ratios(row)
    return notes


def _fit_ols(y: np.ndarray, exog: np.ndarray) -> tuple[Any, list[str]]:
    if exog.shape[0] <= exog.shape[1] or np.linalg.matrix_rank(exog) < exog.shape[1]:
        return None, ["not fitted: too few patients or a constant baseline"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = sm.OLS(y, exog).fit()
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, [f"fit failed: {type(error).__name__}: {error}"]
    return result, _captured(caught)


def ancova(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    baseline: str = "baseline",
    followup: str = "month3",
    measures: Sequence[str] = MEASURES,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """OLS of the (log) follow-up value on the (log) baseline value and a compared[0]
    indicator, per measure, over patients with both visits: the group coefficient is the
    difference of adjusted means (its exp the ratio of adjusted geometric means for the
    markers). One row per measure present, columns :data:`ANCOVA_COLUMNS`."""
    rows: list[dict[str, Any]] = []
    for measure in [m for m in measures if m in set(frame["measure"])]:
        data, nonpositive = _prepare(frame, labels, compared, measure, (baseline, followup))
        wide = _paired(data, baseline, followup)
        group = wide["group1"].to_numpy(float)
        n_censored = int(wide["n_censored"].sum())
        row = dict.fromkeys(ANCOVA_COLUMNS, math.nan) | dict(
            measure=measure, baseline=baseline, followup=followup, group1=compared[0],
            group2=compared[1], outcome="log value" if measure in LOG_MEASURES else "score",
            n=len(wide), n1=int(group.sum()), n2=int(len(group) - group.sum()),
            n_censored=n_censored, n_nonpositive=nonpositive,
        )  # fmt: skip
        notes = [f"{nonpositive} value(s) <= 0 left out (no log)"] if nonpositive else []
        if min(row["n1"], row["n2"]) < MIN_PATIENTS_PER_GROUP:
            notes.append(
                f"not fitted: fewer than {MIN_PATIENTS_PER_GROUP} patients with both visits "
                "in a group"
            )
        else:
            notes += _ancova_effect(row, wide, group, alpha)
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(ANCOVA_COLUMNS))


def _paired(data: pd.DataFrame, baseline: str, followup: str) -> pd.DataFrame:
    """One row per patient with both visits: outcome at baseline (``_0``) and follow-up
    (``_1``) under both censoring choices, ``group1`` and how many of the two are censored."""
    columns = ["at_limit_0", "at_limit_1", "substituted_0", "substituted_1", "group1"]
    by_visit = {v: data[data["visit"] == v].set_index("patient") for v in (baseline, followup)}
    patients = by_visit[baseline].index.intersection(by_visit[followup].index).sort_values()
    first, second = (by_visit[v].loc[patients] for v in (baseline, followup))
    wide = pd.DataFrame(index=patients, columns=columns, dtype=float)
    for choice in ("at_limit", "substituted"):
        wide[f"{choice}_0"], wide[f"{choice}_1"] = first[choice], second[choice]
    wide["group1"] = first["group1"]
    wide["n_censored"] = (first["censored"] != "").astype(int) + (second["censored"] != "")
    return wide


def _ancova_effect(
    row: dict[str, Any], wide: pd.DataFrame, group: np.ndarray, alpha: float
) -> list[str]:
    """Fill ``row`` from the at-limit and (if anything is censored) substituted fits."""
    results = {}
    notes: list[str] = []
    for choice in ["at_limit"] + (["substituted"] if row["n_censored"] else []):
        exog = np.column_stack([np.ones(len(wide)), wide[f"{choice}_0"].to_numpy(float), group])
        results[choice], fit_notes = _fit_ols(wide[f"{choice}_1"].to_numpy(float), exog)
        prefix = "" if choice == "at_limit" else "half/twice-limit fit: "
        notes += [prefix + n for n in fit_notes]
    result = results["at_limit"]
    if result is None:
        return notes
    ci = result.conf_int(alpha=alpha)[2]
    row.update(
        estimate=float(result.params[2]), se=float(result.bse[2]), ci_lower=float(ci[0]),
        ci_upper=float(ci[1]), p=float(result.pvalues[2]), baseline_slope=float(result.params[1]),
    )  # fmt: skip
    other = None
    if "substituted" in results:
        second = results["substituted"]
        other = float(second.params[2]) if second is not None else math.nan
    row["estimate_low"], row["estimate_high"] = _range(row["estimate"], other)
    _add_ratios(row)
    return notes
