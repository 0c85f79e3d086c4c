"""Effects on the log scale for the inflammation markers (SAA, CRP, ESR).

SAA and CRP fall by orders of magnitude under IL-1 blockade, so an absolute change favours
whoever starts highest: a patient going from 300 to 30 mg/L "changed" 270, one going from 20
to 2 only 18, though both fell to a tenth. The effect for these markers is the ratio
later / earlier per patient, analysed as a log ratio:

- within a group: the Hodges-Lehmann ratio, exp(median of the Walsh averages of the log
  ratios), with the interval inverting the signed-rank test of the log ratios and its P
  (where a value is censored, the test of the log ratios as intervals:
  :func:`nlrp3annot.response.stats.inversion.within_effect`);
- between groups: the Hodges-Lehmann ratio of ratios, exp(median over every pair of a
  group 1 and a group 2 patient of the difference of their log ratios): the typical factor
  by which a group 1 patient's ratio exceeds a group 2 patient's. It is not the quotient of
  the two groups' ratios (those are medians of different sets). Its interval inverts the
  Mann-Whitney test (Gehan's, where a value is censored) whose P is reported.

Estimates come from the values as measured, a value below a limit as the interval [0, L):
where that can move an estimate, it is given as a range (or a bound). A value of 0 has no
log and leaves that patient out of the ratio, with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nlrp3annot.response.stats.censored import paired_bounds
from nlrp3annot.response.stats.comparison_data import _members
from nlrp3annot.response.stats.inversion import (
    RANGE_OUTSIDE_NOTE,
    Effect,
    Estimate,
    Interval,
    between_effect,
    median_estimate,
    range_outside,
    within_effect,
)

RATIO_MEASURES = ("saa", "crp", "esr")
RATIO_WITHIN_COLUMNS = (
    "measure", "group", "change", "n", "ratio", "ratio_low", "ratio_high", "ratio_text",
    "ci_lower", "ci_upper", "ci_text", "median_ratio", "median_ratio_text", "p", "method", "note",
)  # fmt: skip
RATIO_BETWEEN_COLUMNS = (
    "measure", "change", "group1", "group2", "n1", "n2", "ratio1", "ratio2",
    "hl_ratio_of_ratios", "hl_ratio_of_ratios_text", "ci_lower", "ci_upper", "ci_text", "p",
    "method",
    "note",
)  # fmt: skip


def log_ratios(
    frame: pd.DataFrame, measure: str, earlier: str, later: str, patients: set[str]
) -> tuple[pd.Series, int]:
    """log(later / earlier) per patient with both visits and both values above 0, and how
    many were left out for a value of 0."""
    data = frame[(frame["measure"] == measure) & frame["patient_id"].isin(patients)]
    wide = data.pivot(index="patient_id", columns="visit", values="value")
    if earlier not in wide.columns or later not in wide.columns:
        return pd.Series(dtype=float), 0
    paired = wide[[earlier, later]].dropna()
    positive = (paired[earlier] > 0) & (paired[later] > 0)
    logs = np.log(paired.loc[positive, later] / paired.loc[positive, earlier])
    return logs.sort_index(), int((~positive).sum())


def ratio_tables(
    raw: pd.DataFrame,
    labels: dict[str, str],
    groups: Sequence[str],
    compared: tuple[str, str],
    changes: Sequence[tuple[str, str]],
    alpha: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(within-group ratios, between-group ratios of ratios) for the markers present, from
    the values as measured (a below-limit value as the interval its limit allows)."""
    within, between = [], []
    measures = [m for m in RATIO_MEASURES if m in set(raw["measure"])]
    for measure in measures:
        for earlier, later in changes:
            change = f"{earlier}->{later}"
            bounds_of, ratio_of = {}, {}
            for group in groups:
                patients = _members(labels, group)
                logs, zeros = log_ratios(raw, measure, earlier, later, patients)
                bounds = paired_bounds(raw, measure, earlier, later, patients, ratio=True)
                bounds_of[group] = bounds
                row = _within_row(measure, group, change, logs.to_numpy(float), bounds, zeros,
                                  alpha)  # fmt: skip
                ratio_of[group] = row["ratio"]
                within.append(row)
            x, y = (bounds_of[g] for g in compared)
            row = _between_row(measure, change, compared, x, y, alpha)
            if x and y:  # each group's own Hodges-Lehmann ratio, as its within row gives it
                row.update(ratio1=ratio_of[compared[0]], ratio2=ratio_of[compared[1]])
            between.append(row)
    return (
        pd.DataFrame(within, columns=list(RATIO_WITHIN_COLUMNS)),
        pd.DataFrame(between, columns=list(RATIO_BETWEEN_COLUMNS)),
    )


def _ratio(value: float) -> float:
    return math.exp(value) if not math.isnan(value) else math.nan


def _ratio_text(estimate: Estimate) -> str:
    # a log ratio unbounded below (a later value "<L") is a ratio bounded only above
    low = _ratio(estimate.low) if estimate.low > -math.inf else -math.inf
    return Estimate(low, _ratio(estimate.high)).text(lambda v: f"{v:.3g}")


def _interval(effect: Effect) -> dict[str, float]:
    # one end may be unbounded (0 or infinity: censored values the data cannot bound);
    # both unbounded is no interval at all
    ci = effect.interval
    if ci.informative:
        shown = Interval(_ratio(ci.lower), _ratio(ci.upper), ci.lower_open, ci.upper_open,
                         tuple(_ratio(h) for h in ci.holes))  # fmt: skip
        return {"ci_lower": shown.lower, "ci_upper": shown.upper,
                "ci_text": shown.text(lambda v: f"{v:.3g}")}  # fmt: skip
    return {"ci_lower": math.nan, "ci_upper": math.nan, "ci_text": ""}


def _within_row(measure, group, change, logs: np.ndarray, bounds, zeros: int, alpha) -> dict:
    row: dict[str, Any] = dict.fromkeys(RATIO_WITHIN_COLUMNS, math.nan)
    row.update(measure=measure, group=group, change=change, n=int(logs.size), method=None,
               ratio_text="", median_ratio_text="", ci_text="", note="")  # fmt: skip
    notes = [f"{zeros} patient(s) with a value of 0 left out (no ratio)"] if zeros else []
    if logs.size:
        effect = within_effect(bounds, alpha)
        median = median_estimate(bounds)
        row.update(
            ratio=_ratio(effect.estimate.value), ratio_text=_ratio_text(effect.estimate),
            ratio_low=_ratio(effect.estimate.low), ratio_high=_ratio(effect.estimate.high),
            median_ratio=_ratio(median.value), median_ratio_text=_ratio_text(median),
            **_interval(effect),
        )  # fmt: skip
        if logs.size >= 2 and not math.isnan(effect.p):
            row.update(p=effect.p, method=effect.method)
        if not effect.interval.informative:
            notes.append("no CI: too few patients")
        if range_outside(effect):
            notes.append(RANGE_OUTSIDE_NOTE)
    row["note"] = "; ".join(notes)
    return row


def _between_row(measure, change, compared, x: list, y: list, alpha) -> dict:
    row: dict[str, Any] = dict.fromkeys(RATIO_BETWEEN_COLUMNS, math.nan)
    row.update(
        measure=measure, change=change, group1=compared[0], group2=compared[1],
        n1=len(x), n2=len(y), method=None, hl_ratio_of_ratios_text="", ci_text="", note="",
    )  # fmt: skip
    if not x or not y:
        row["note"] = "no comparison: a group has no ratio"
        return row
    effect = between_effect(x, y, alpha)
    row.update(
        hl_ratio_of_ratios=_ratio(effect.estimate.value),
        hl_ratio_of_ratios_text=_ratio_text(effect.estimate),
        p=effect.p, method=effect.method, **_interval(effect),
    )  # fmt: skip
    notes = ["no CI: too few patients"] if not effect.interval.informative else []
    if range_outside(effect):
        notes.append(RANGE_OUTSIDE_NOTE)
    row["note"] = "; ".join(notes)
    return row
