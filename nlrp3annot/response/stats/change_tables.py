"""The within-group and between-group tables of changes: per measure, group and change, the
test (signed-rank within, Mann-Whitney or Gehan between, from :mod:`rank_tests` and
:mod:`censored`), the estimate over the values detection limits allow and the interval that
inverts the test (:mod:`inversion`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nlrp3annot.response.stats.censored import paired_bounds
from nlrp3annot.response.stats.comparison_data import BETWEEN_COLUMNS, WITHIN_COLUMNS, _members
from nlrp3annot.response.stats.inversion import between_effect, median_estimate, within_effect
from nlrp3annot.response.stats.rank_tests import (
    critical_count,
    has_ties,
    mann_whitney_null_counts,
    paired_changes,
    wilcoxon_columns,
)


def within_table(
    ranked: pd.DataFrame,
    raw: pd.DataFrame,
    labels: dict[str, str],
    groups: Sequence[str],
    changes: Sequence[tuple[str, str]],
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per measure, group and change: the signed-rank test of the changes as ``ranked``
    (values at their limit, or tied at the highest limit), its interval by inversion, and the
    median and Hodges-Lehmann change of the ``raw`` values over what their limits allow."""
    rows = []
    for measure in sorted(ranked["measure"].unique()):
        for group in groups:
            patients = _members(labels, group)
            for earlier, later in changes:
                diffs = paired_changes(ranked, measure, earlier, later, patients).to_numpy(float)
                bounds = paired_bounds(raw, measure, earlier, later, patients)
                row = {"measure": measure, "group": group, "change": f"{earlier}->{later}"}
                row |= wilcoxon_columns(diffs)
                median = median_estimate(bounds)
                row |= {
                    "median_diff": median.value,
                    "median_diff_text": median.text(_g) if bounds else "",
                }
                row |= {"hl_change": math.nan, "hl_change_text": "", "hl_ci_lower": math.nan,
                        "hl_ci_upper": math.nan}  # fmt: skip
                if diffs.size:
                    effect = within_effect(bounds, diffs, alpha)
                    ci = effect.interval
                    row |= {
                        "hl_change": effect.estimate.value,
                        "hl_change_text": effect.estimate.text(_g),
                        "hl_ci_lower": ci.lower if ci.finite else math.nan,
                        "hl_ci_upper": ci.upper if ci.finite else math.nan,
                    }
                    if not ci.finite and row["note"].find("no test") < 0:
                        row["note"] = "; ".join(
                            n for n in (row["note"], "no CI: too few patients") if n
                        )
                rows.append(row)
    return pd.DataFrame(rows, columns=list(WITHIN_COLUMNS))


def _g(value: float) -> str:
    return f"{value:.4g}"


def between_table(
    raw: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    earlier: str,
    later: str,
    alpha: float,
) -> pd.DataFrame:
    """Per measure: the change from ``earlier`` to ``later`` compared between the groups,
    each patient's change taken as the interval its values' limits allow (a point where
    both are measured): Mann-Whitney where all are points, Gehan otherwise; the
    Hodges-Lehmann shift over the allowed values and the interval inverting that test."""
    first, second = compared
    rows = []
    for measure in sorted(raw["measure"].unique()):
        x, y = (paired_bounds(raw, measure, earlier, later, _members(labels, g)) for g in compared)
        m1, m2 = median_estimate(x), median_estimate(y)
        row: dict[str, Any] = dict.fromkeys(BETWEEN_COLUMNS, math.nan)
        row.update(
            measure=measure, change=f"{earlier}->{later}", group1=first, group2=second,
            n1=len(x), n2=len(y), median_change1=m1.value, median_change2=m2.value,
            median_change1_text=m1.text(_g) if x else "",
            median_change2_text=m2.text(_g) if y else "",
            method=None, hl_shift_text="", ci_critical_u=None, ci_coverage=None, note="",
        )  # fmt: skip
        rows.append(row)
        if not x or not y:
            row["note"] = "no test: a group has no patient with both visits"
            continue
        effect = between_effect(x, y, alpha)
        ci = effect.interval
        row.update(
            u_statistic=effect.statistic, p=effect.p, method=effect.method,
            hl_shift=effect.estimate.value, hl_shift_low=effect.estimate.low,
            hl_shift_high=effect.estimate.high, hl_shift_text=effect.estimate.text(_g),
            ci_lower=ci.lower if ci.informative else math.nan,
            ci_upper=ci.upper if ci.informative else math.nan,
        )  # fmt: skip
        notes = []
        censored = not all(b.exact for b in (*x, *y))
        values = np.array([b.low for b in (*x, *y)])
        if censored:
            notes.append(
                "a change involves a value below (or above) a detection limit: Gehan's test "
                "of the changes as intervals, the shift given over the values the limits allow"
            )
        elif has_ties(values):
            notes.append(
                "tied changes: exact P over midranks; the interval inverts that test, its "
                "coverage approximate"
            )
        if not censored and effect.method == "exact":  # untied data: the exact coverage
            critical, coverage = critical_count(
                mann_whitney_null_counts(len(x), len(y)), math.comb(len(x) + len(y), len(x)),
                alpha,
            )  # fmt: skip
            row.update(ci_critical_u=critical, ci_coverage=coverage)
        if not ci.informative:
            notes.append(
                f"no {1 - alpha:.0%} CI: too few patients (even the widest interval covers "
                f"with probability {1 - 2 / math.comb(len(x) + len(y), len(x)):.3f})"
            )
        if ci.excludes(0) and ci.finite and 0 in (ci.lower, ci.upper):
            notes.append("the interval is open at 0 (the test rejects 0 itself)")
        if math.isnan(row["p"]):
            notes.append("P undefined (all changes equal)")
        row["note"] = "; ".join(notes)
    table = pd.DataFrame(rows, columns=list(BETWEEN_COLUMNS))
    # Keep the critical value an integer even where some rows have none.
    table["ci_critical_u"] = table["ci_critical_u"].astype("Int64")
    return table
