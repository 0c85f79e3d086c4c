"""Effects on the log scale for the inflammation markers (SAA, CRP, ESR).

SAA and CRP fall by orders of magnitude under IL-1 blockade, so an absolute change favours
whoever starts highest: a patient going from 300 to 30 mg/L "changed" 270, one going from 20
to 2 only 18, though both fell to a tenth. The primary effect for these markers is the ratio
later / earlier per patient, analysed as a log ratio:

- within a group: the Hodges-Lehmann ratio, exp(median of the Walsh averages of the log
  ratios), with the distribution-free CI from the exact signed-rank distribution, and the
  exact Wilcoxon P of the log ratios;
- between groups: the ratio of ratios, exp(Hodges-Lehmann shift of the log ratios), with its
  exact CI (order statistics of the pairwise differences), and the Mann-Whitney P.

Values at a detection limit enter at the limit (their ratio is then a bound); a value of 0
has no log and leaves that patient out of the ratio, with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nlrp3annot.response.comparison_data import _members
from nlrp3annot.response.rank_tests import (
    hodges_lehmann_ci,
    mann_whitney_exact_p,
    signed_rank_exact_p,
    walsh_hl_ci,
)

RATIO_MEASURES = ("saa", "crp", "esr")
RATIO_WITHIN_COLUMNS = (
    "measure", "group", "change", "n", "ratio", "ci_lower", "ci_upper", "ci_coverage",
    "median_ratio", "p", "note",
)  # fmt: skip
RATIO_BETWEEN_COLUMNS = (
    "measure", "change", "group1", "group2", "n1", "n2", "ratio1", "ratio2",
    "ratio_of_ratios", "ci_lower", "ci_upper", "ci_coverage", "p", "method", "note",
    "p_gehan", "gehan_method",
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
    frame: pd.DataFrame,
    labels: dict[str, str],
    groups: Sequence[str],
    compared: tuple[str, str],
    changes: Sequence[tuple[str, str]],
    alpha: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(within-group ratios, between-group ratios of ratios) for the markers present."""
    within, between = [], []
    measures = [m for m in RATIO_MEASURES if m in set(frame["measure"])]
    for measure in measures:
        for earlier, later in changes:
            change = f"{earlier}->{later}"
            logs_of = {}
            for group in groups:
                logs, zeros = log_ratios(frame, measure, earlier, later, _members(labels, group))
                logs_of[group] = logs.to_numpy(float)
                within.append(_within_row(measure, group, change, logs_of[group], zeros, alpha))
            between.append(
                _between_row(
                    measure, change, compared, logs_of[compared[0]], logs_of[compared[1]], alpha
                )
            )
    return (
        pd.DataFrame(within, columns=list(RATIO_WITHIN_COLUMNS)),
        pd.DataFrame(between, columns=list(RATIO_BETWEEN_COLUMNS)),
    )


def _within_row(measure, group, change, logs: np.ndarray, zeros: int, alpha) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RATIO_WITHIN_COLUMNS, math.nan)
    row.update(measure=measure, group=group, change=change, n=int(logs.size), note="")
    notes = [f"{zeros} patient(s) with a value of 0 left out (no ratio)"] if zeros else []
    if logs.size:
        estimate, lower, upper, coverage = walsh_hl_ci(logs, alpha)
        row.update(
            ratio=math.exp(estimate),
            ci_lower=math.exp(lower) if math.isfinite(lower) else math.nan,
            ci_upper=math.exp(upper) if math.isfinite(upper) else math.nan,
            ci_coverage=coverage,
            median_ratio=math.exp(float(np.median(logs))),
        )
        nonzero = logs[logs != 0]
        if logs.size >= 2 and nonzero.size and nonzero.size <= 50:
            row["p"] = signed_rank_exact_p(nonzero)[1]
        if not math.isfinite(lower):
            notes.append("no CI: too few patients")
    row["note"] = "; ".join(notes)
    return row


def _between_row(measure, change, compared, x: np.ndarray, y: np.ndarray, alpha) -> dict:
    row: dict[str, Any] = dict.fromkeys(RATIO_BETWEEN_COLUMNS, math.nan)
    row.update(
        measure=measure, change=change, group1=compared[0], group2=compared[1],
        n1=int(x.size), n2=int(y.size), method=None, note="",
    )  # fmt: skip
    if not x.size or not y.size:
        row["note"] = "no comparison: a group has no ratio"
        return row
    row["ratio1"] = math.exp(walsh_hl_ci(x, alpha)[0])
    row["ratio2"] = math.exp(walsh_hl_ci(y, alpha)[0])
    shift, lower, upper, _, coverage = hodges_lehmann_ci(x, y, alpha)
    row.update(
        ratio_of_ratios=math.exp(shift),
        ci_lower=math.exp(lower) if math.isfinite(lower) else math.nan,
        ci_upper=math.exp(upper) if math.isfinite(upper) else math.nan,
        ci_coverage=coverage if coverage is not None else math.nan,
    )
    if x.size <= 50 and y.size <= 50:
        row["p"] = mann_whitney_exact_p(x, y)[1]
        row["method"] = "exact"
    if not math.isfinite(lower):
        row["note"] = "no CI: too few patients"
    return row
