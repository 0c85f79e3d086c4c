"""Sensitivity to who counts as mutation-positive: the plan's primary family under each
group rule (strict, germline_only, vus_as_positive) side by side, so a reader sees whether
the answer depends on counting mosaic or VUS carriers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from nlrp3annot.response.plan import AnalysisPlan
from nlrp3annot.response.stats.comparison_data import ComparisonResult

SENSITIVITY_COLUMNS = (
    "group_rule", "role", "endpoint", "n1", "n2", "estimate", "ci_lower", "ci_upper", "p",
    "p_adjusted", "adjustment", "significant",
)  # fmt: skip


def sensitivity_table(
    main: ComparisonResult,
    plan: AnalysisPlan,
    cohort_of: Callable[[str], object],
    measurements: pd.DataFrame,
) -> pd.DataFrame:
    """The primary family of the main analysis and of each sensitivity rule, long format
    (one row per rule and end point). ``cohort_of(rule)`` joins the cohort under a rule."""
    from nlrp3annot.response.stats.compare import run_comparison

    frames = [_rows(main, plan.group_rule, "main")]
    for rule in plan.sensitivity_group_rules:
        cohort = cohort_of(rule)
        result = run_comparison(
            measurements, cohort.groups[["patient_id", "group"]], cohort.events,
            plan=replace(plan, group_rule=rule),
        )  # fmt: skip
        frames.append(_rows(result, rule, "sensitivity"))
    return pd.concat(frames, ignore_index=True)[list(SENSITIVITY_COLUMNS)]


def _rows(result: ComparisonResult, rule: str, role: str) -> pd.DataFrame:
    family = result.tables["primary_endpoints"].copy()
    family.insert(0, "role", role)
    family.insert(0, "group_rule", rule)
    return family


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """One row per end point, one column per rule: "estimate (CI); adjusted P"."""
    if table.empty:
        return table

    def cell(row) -> str:
        if not row["estimate"]:
            return "n/a"
        ci = f"{row['ci_lower']:.3g} to {row['ci_upper']:.3g}"
        named = "P" if str(row["adjustment"]).startswith("unadjusted") else "P adj"
        return (
            f"{row['estimate']} ({ci}); {named} {row['p_adjusted']:.2g} "
            f"(n={row['n1']} vs {row['n2']})"
        )

    shown = table.assign(cell=table.apply(cell, axis=1))
    wide = shown.pivot(index="endpoint", columns="group_rule", values="cell")
    order = list(dict.fromkeys(table["endpoint"]))
    rules = list(dict.fromkeys(table["group_rule"]))
    return wide.loc[order, rules].reset_index()
