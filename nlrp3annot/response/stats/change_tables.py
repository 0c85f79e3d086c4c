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

from nlrp3annot.response.stats.censored import certain_sign, paired_bounds
from nlrp3annot.response.stats.comparison_data import BETWEEN_COLUMNS, WITHIN_COLUMNS, _members
from nlrp3annot.response.stats.inversion import (
    RANGE_OUTSIDE_NOTE,
    between_effect,
    median_estimate,
    range_outside,
    within_effect,
)
from nlrp3annot.response.stats.rank_tests import (
    critical_count,
    has_ties,
    mann_whitney_null_counts,
    wilcoxon_columns,
)


def within_table(
    raw: pd.DataFrame,
    labels: dict[str, str],
    groups: Sequence[str],
    changes: Sequence[tuple[str, str]],
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per measure, group and change: the signed-rank test of the changes (measured, or as
    the intervals their limits allow: :func:`inversion.within_effect`), its interval by
    inversion, and the median and Hodges-Lehmann change over what the limits allow."""
    rows = []
    for measure in sorted(raw["measure"].unique()):
        for group in groups:
            patients = _members(labels, group)
            for earlier, later in changes:
                bounds = paired_bounds(raw, measure, earlier, later, patients)
                row = {"measure": measure, "group": group, "change": f"{earlier}->{later}"}
                row |= within_columns(bounds, alpha)
                median = median_estimate(bounds)
                row |= {
                    "median_diff": median.value,
                    "median_diff_text": median.text(_g) if bounds else "",
                }
                rows.append(row)
    return pd.DataFrame(rows, columns=list(WITHIN_COLUMNS))


def within_columns(bounds: list, alpha: float) -> dict[str, Any]:
    """The test, estimate and interval columns of one within-group row."""
    if all(b.exact for b in bounds):
        row = wilcoxon_columns(np.array([b.low for b in bounds], dtype=float))
    else:
        signed = sum(certain_sign(b) != 0 for b in bounds)
        row = {"n": len(bounds), "n_nonzero": signed, "statistic": math.nan, "p": math.nan,
               "method_requested": None, "method": None, "note": ""}  # fmt: skip
        if len(bounds) < 2:
            row["note"] = f"no test: {len(bounds)} patient(s) with both visits (need at least 2)"
        elif signed == 0:
            row["note"] = "no test: no change is certainly above or below 0"
        notes = [
            "a change involves a value below (or above) a detection limit: signed-rank test of "
            "the changes as intervals (sizes ranked Gehan's way, changes of unknown sign "
            "dropped like zeros)"
        ]
        if signed < len(bounds):
            notes.append(f"{len(bounds) - signed} change(s) of unknown sign or zero dropped")
        row["note"] = "; ".join(n for n in (row["note"], *notes) if n)
    row |= {"hl_change": math.nan, "hl_change_text": "", "hl_ci_lower": math.nan,
            "hl_ci_upper": math.nan, "hl_ci_text": ""}  # fmt: skip
    if not bounds:
        return row
    effect = within_effect(bounds, alpha)
    if not all(b.exact for b in bounds) and len(bounds) >= 2 and row["n_nonzero"]:
        row.update(statistic=effect.statistic, p=effect.p, method=effect.method,
                   method_requested=effect.method)  # fmt: skip
    ci = effect.interval
    row |= {
        "hl_change": effect.estimate.value,
        "hl_change_text": effect.estimate.text(_g),
        "hl_ci_lower": ci.lower if ci.finite else math.nan,
        "hl_ci_upper": ci.upper if ci.finite else math.nan,
        "hl_ci_text": ci.text(_g) if ci.finite else "",
    }
    if range_outside(effect):
        row["note"] = "; ".join(n for n in (row["note"], RANGE_OUTSIDE_NOTE) if n)
    if not ci.finite and row["note"].find("no test") < 0:
        row["note"] = "; ".join(n for n in (row["note"], "no CI: too few patients") if n)
    return row


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
            method=None, hl_shift_text="", ci_text="", ci_critical_u=None, ci_coverage=None,
            note="",
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
            ci_upper=ci.upper if ci.informative else math.nan, ci_text=ci.text(_g),
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
        if range_outside(effect):
            notes.append(RANGE_OUTSIDE_NOTE)
        row["note"] = "; ".join(notes)
    table = pd.DataFrame(rows, columns=list(BETWEEN_COLUMNS))
    # Keep the critical value an integer even where some rows have none.
    table["ci_critical_u"] = table["ci_critical_u"].astype("Int64")
    return table
