"""Secondary analyses that use every visit: a linear mixed model and an ANCOVA.

The primary comparison (ratios.py, compare.py) reduces each patient to one change and
tests it by ranks, which assumes little but drops every visit but two and every patient
missing one of them. These models keep them, at the price of assumptions stated in
:data:`ASSUMPTIONS` and reported next to the results; they are sensitivity analyses.

SAA, CRP and ESR are modelled on the log scale (see ratios.py for why a fall to a tenth
should count the same from any start), so group effects are ratios of geometric means;
a value of 0 has no log and is left out and counted. The diary score is modelled raw.

A value below a detection limit is not a number, and no substitute (the limit, half of it)
is right. Both models therefore treat it as censored, an observation known only to lie
below its limit (above it for ">"), in a normal likelihood on the model's scale (Tobit-type,
tobit.py), maximised by scipy. With nothing censored the fits are the ordinary ones (the
ANCOVA is OLS; the mixed model the ML fit statsmodels' MixedLM gives). Inference is by
Student's t with stated degrees of freedom, not by z: for the mixed model the
between-patient df (patients - 2, the df of a two-group comparison of patients, which
ignores the information within patients and so errs on the cautious side), for the
ANCOVA the residual df (n - 3), with the ML standard error scaled by sqrt(n / (n - 3))
(exactly the OLS standard error when nothing is censored). The interval and the P come from
the same estimate, SE and df, so the interval excludes the null exactly when P < alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nlrp3annot.response.stats.tobit import (
    CensoredFit,
    fit_ancova,
    fit_random_intercept,
    signs,
    t_inference,
)

LOG_MEASURES = ("saa", "crp", "esr")
MEASURES = ("saa", "crp", "esr", "diary")
MIN_PATIENTS_PER_GROUP = 2
MIXED_METHOD = (
    "random-intercept mixed model, ML, below-limit values censored (Tobit likelihood); "
    "t with between-patient df (patients - 2)"
)
ANCOVA_METHOD = (
    "ANCOVA, ML, below-limit baseline and follow-up values censored (Tobit likelihood); "
    "t with residual df (n - 3), SE scaled by sqrt(n / (n - 3))"
)

ASSUMPTIONS: dict[str, str] = {
    "mixed_model": (
        "The linear mixed model assumes normally distributed residuals (on the log scale "
        "for SAA, CRP and ESR, raw for the diary score), also beyond the detection limits "
        "(below-limit values enter as censored observations of that normal distribution), "
        "a random intercept per patient only (so visits within a patient are equally "
        "correlated and every patient changes the same way apart from a constant shift), "
        "and visits missing at random given the observed values and group."
    ),
    "ancova": (
        "The ANCOVA assumes normally distributed residuals with equal variance (on the log "
        "scale for SAA, CRP and ESR), also beyond the detection limits (below-limit values "
        "enter as censored observations), a follow-up value linear in the (log) baseline "
        "value, the same baseline slope in both groups (parallel slopes), a normal baseline "
        "with a mean per group (needed to account for a censored baseline), and it uses "
        "only patients with both visits."
    ),
}

MIXED_COLUMNS = (
    "measure", "visit", "reference_visit", "group1", "group2", "outcome", "estimate", "se",
    "df", "ci_lower", "ci_upper", "p", "ratio", "ratio_ci_lower", "ratio_ci_upper", "method",
    "n_patients", "n_patients1", "n_patients2", "n_observations", "n_censored",
    "n_nonpositive", "converged", "note",
)  # fmt: skip
ANCOVA_COLUMNS = (
    "measure", "baseline", "followup", "group1", "group2", "outcome", "estimate", "se", "df",
    "ci_lower", "ci_upper", "p", "ratio", "ratio_ci_lower", "ratio_ci_upper",
    "baseline_slope", "method", "n", "n1", "n2", "n_censored", "n_nonpositive", "note",
)  # fmt: skip


def _prepare(
    frame: pd.DataFrame, labels: dict[str, str], compared: tuple[str, str], measure: str,
    visits: Sequence[str],
) -> tuple[pd.DataFrame, int]:  # fmt: skip
    """Rows of one measure at the given visits for the two compared groups, with ``group1``
    (1 for compared[0], 0 for compared[1]), the outcome ``y`` on the model's scale (the
    limit itself for a censored value) and its ``sign`` (tobit.SIGN); and how many values
    <= 0 were left out of a log."""
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
    y = np.log(out["value"]) if measure in LOG_MEASURES else out["value"]
    out = out.assign(y=y, sign=signs(out["censored"].to_numpy()))
    return out.reset_index(drop=True), nonpositive


def _ratio(value: float) -> float:
    if not np.isfinite(value):
        return math.nan
    return math.exp(value) if value < 700 else math.inf


def _add_ratios(row: dict[str, Any]) -> None:
    """On the log scale, the estimate and its interval as ratios too."""
    if row["outcome"] == "log value":
        row.update(
            ratio=_ratio(row["estimate"]),
            ratio_ci_lower=_ratio(row["ci_lower"]),
            ratio_ci_upper=_ratio(row["ci_upper"]),
        )


def _fill(row: dict[str, Any], estimate: float, se: float, df: float, alpha: float) -> None:
    """Estimate, SE, df, the t interval and the t P of one fit into ``row``."""
    lower, upper, p = t_inference(estimate, se, df, alpha)
    row.update(estimate=estimate, se=se, df=df, ci_lower=lower, ci_upper=upper, p=p)
    _add_ratios(row)


def _fit_mixed(data: pd.DataFrame, exog: pd.DataFrame) -> tuple[CensoredFit | None, list[str]]:
    """The censored random-intercept ML fit, or None; with anything unusual as note text."""
    design = exog.to_numpy(float)
    if np.linalg.matrix_rank(design) >= design.shape[1]:
        patient = pd.factorize(data["patient"])[0]
        fit = fit_random_intercept(
            data["y"].to_numpy(float), design, patient, data["sign"].to_numpy(float)
        )
        return fit, [fit.note] if fit.note else []
    return None, ["not fitted: the design is not of full rank"]


def _all_censored(data: pd.DataFrame, visit: str, column: str = "visit") -> str:
    """Why the censored likelihood has no finite maximum at ``visit`` (every value of a
    group there censored on the same side), or ""."""
    for group, name in ((1, "group1"), (0, "group2")):
        signs_here = data.loc[(data[column] == visit) & (data["group1"] == group), "sign"]
        if len(signs_here) and (signs_here == 1).all() | (signs_here == -1).all():
            return f"every {name} value at {visit} is censored (no finite maximum likelihood)"
    return ""


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
    markers). Below-limit values are censored observations (:data:`MIXED_METHOD`). One row
    per measure present and later visit, columns :data:`MIXED_COLUMNS`."""
    visits = list(visits)
    rows: list[dict[str, Any]] = []
    for measure in [m for m in measures if m in set(frame["measure"])]:
        data, nonpositive = _prepare(frame, labels, compared, measure, visits)
        # An interaction at a visit one group never attended is not estimable: leave it out.
        both = [v for v in visits if data.loc[data["visit"] == v, "group1"].nunique() == 2]
        used = [visits[0]] + [v for v in visits[1:] if v in both]
        # every value of a group at a visit censored: the likelihood rises for ever as that
        # cell's mean falls (no finite maximum), so that visit is not estimated either
        unbounded = {v: _all_censored(data, v) for v in used}
        used = [visits[0]] + [v for v in used[1:] if not unbounded[v]]
        data = data[data["visit"].isin(used)].reset_index(drop=True)
        n1 = data.loc[data["group1"] == 1, "patient"].nunique()
        n2 = data.loc[data["group1"] == 0, "patient"].nunique()
        common: dict[str, Any] = dict(
            measure=measure, reference_visit=visits[0], group1=compared[0], group2=compared[1],
            outcome="log value" if measure in LOG_MEASURES else "score", method=MIXED_METHOD,
            n_patients=n1 + n2, n_patients1=n1, n_patients2=n2, n_observations=len(data),
            n_censored=int((data["sign"] != 0).sum()), n_nonpositive=nonpositive,
            converged=False,
        )  # fmt: skip
        notes = [f"{nonpositive} value(s) <= 0 left out (no log)"] if nonpositive else []
        fit: CensoredFit | None = None
        if visits[0] not in both:
            notes.append(f"not fitted: a group has no {visits[0]} value")
        elif unbounded[visits[0]]:
            notes.append(f"not fitted: {unbounded[visits[0]]}")
        elif min(n1, n2) < MIN_PATIENTS_PER_GROUP:
            notes.append(f"not fitted: fewer than {MIN_PATIENTS_PER_GROUP} patients in a group")
        else:
            exog = _mixed_design(data, used)
            fit, fit_notes = _fit_mixed(data, exog)
            notes += fit_notes
            terms = list(exog.columns)
        for visit in visits[1:]:
            row = dict.fromkeys(MIXED_COLUMNS, math.nan) | common | {"visit": visit}
            extra = []
            if fit is not None and unbounded.get(visit):
                extra = [f"not estimated: {unbounded[visit]}"]
            elif fit is not None and visit not in used:
                extra = ["not estimated: a group has no value at this visit"]
            elif fit is not None and fit.converged:
                k = terms.index(f"visit{used.index(visit)}:group")
                se = math.sqrt(fit.cov[k, k])
                _fill(row, float(fit.params[k]), se, n1 + n2 - 2, alpha)
                row["converged"] = True
            row["note"] = "; ".join(notes + extra)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(MIXED_COLUMNS))


def ancova(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    baseline: str = "baseline",
    followup: str = "month3",
    measures: Sequence[str] = MEASURES,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The (log) follow-up value on the (log) baseline value and a compared[0] indicator,
    per measure, over patients with both visits, below-limit values censored
    (:data:`ANCOVA_METHOD`): the group coefficient is the difference of adjusted means (its
    exp the ratio of adjusted geometric means for the markers). One row per measure
    present, columns :data:`ANCOVA_COLUMNS`."""
    rows: list[dict[str, Any]] = []
    for measure in [m for m in measures if m in set(frame["measure"])]:
        data, nonpositive = _prepare(frame, labels, compared, measure, (baseline, followup))
        wide = _paired(data, baseline, followup)
        group = wide["group1"].to_numpy(float)
        row = dict.fromkeys(ANCOVA_COLUMNS, math.nan) | dict(
            measure=measure, baseline=baseline, followup=followup, group1=compared[0],
            group2=compared[1], outcome="log value" if measure in LOG_MEASURES else "score",
            method=ANCOVA_METHOD, n=len(wide), n1=int(group.sum()),
            n2=int(len(group) - group.sum()),
            n_censored=int((wide[["sign_0", "sign_1"]] != 0).to_numpy().sum()),
            n_nonpositive=nonpositive,
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
    """One row per patient with both visits: outcome (``y``) and censoring sign at baseline
    (``_0``) and follow-up (``_1``), and ``group1``."""
    by_visit = {v: data[data["visit"] == v].set_index("patient") for v in (baseline, followup)}
    patients = by_visit[baseline].index.intersection(by_visit[followup].index).sort_values()
    first, second = (by_visit[v].loc[patients] for v in (baseline, followup))
    return pd.DataFrame(
        {
            "y_0": first["y"].astype(float), "y_1": second["y"].astype(float),
            "sign_0": first["sign"].astype(float), "sign_1": second["sign"].astype(float),
            "group1": first["group1"],
        },
        index=patients,
    )  # fmt: skip


def _ancova_effect(
    row: dict[str, Any], wide: pd.DataFrame, group: np.ndarray, alpha: float
) -> list[str]:
    """Fill ``row`` from the censored ANCOVA fit; return the notes."""
    y0, y1, c0, c1 = (wide[c].to_numpy(float) for c in ("y_0", "y_1", "sign_0", "sign_1"))
    n = len(wide)
    design = np.column_stack([np.ones(n), y0, group])
    if n <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return ["not fitted: too few patients or a constant baseline"]
    for sign, visit in ((c0, row["baseline"]), (c1, row["followup"])):
        long = pd.DataFrame({"visit": visit, "group1": group, "sign": sign})
        if why := _all_censored(long, visit):
            return [f"not fitted: {why}"]
    fit = fit_ancova(y0, y1, c0, c1, group)
    notes = [fit.note] if fit.note else []
    if not fit.converged:
        return notes
    df = n - design.shape[1]
    se = math.sqrt(fit.cov[5, 5] * n / df)  # b2; the ML variance scaled to the OLS one
    _fill(row, float(fit.params[5]), se, df, alpha)
    row["baseline_slope"] = float(fit.params[4])
    return notes
