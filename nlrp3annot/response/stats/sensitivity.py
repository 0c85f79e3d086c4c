"""Sensitivity to who counts as mutation-positive: the genotype comparison (primary or
exploratory, as the plan says) under each group rule (strict, germline_only,
vus_as_positive) side by side, so a reader sees whether the answer depends on counting
mosaic or VUS carriers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from nlrp3annot.response.plan import AnalysisPlan
from nlrp3annot.response.stats.comparison_data import ComparisonResult

SENSITIVITY_COLUMNS = (
    "group_rule", "role", "endpoint", "n1", "n2", "estimate", "ci_lower", "ci_upper", "ci_text",
    "p",
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
            plan=replace(plan, group_rule=rule), family_only=True,
        )  # fmt: skip
        frames.append(_rows(result, rule, "sensitivity"))
    return pd.concat(frames, ignore_index=True)[list(SENSITIVITY_COLUMNS)]


def _rows(result: ComparisonResult, rule: str, role: str) -> pd.DataFrame:
    family = result.tables["genotype_endpoints"].copy()
    family["role"] = role
    family.insert(0, "group_rule", rule)
    return family


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """One row per end point, one column per rule: "estimate (CI); P" (the adjusted P when
    the plan adjusts the genotype comparison), open interval ends marked as in the tables."""
    if table.empty:
        return table
    from nlrp3annot.response.stats.primary import ci_shown

    def cell(row) -> str:
        if not row["estimate"]:
            return "n/a"
        ci = ci_shown(row["ci_lower"], row["ci_upper"], row["ci_text"], lambda v: f"{v:.3g}")
        adjusted = not str(row["adjustment"]).startswith(("unadjusted", "none"))
        named, p = ("P adj", row["p_adjusted"]) if adjusted else ("P", row["p"])
        sizes = f"n={row['n1']} vs {row['n2']}"
        return f"{row['estimate']} ({ci or 'no CI'}); {named} {p:.2g} ({sizes})"

    shown = table.assign(cell=table.apply(cell, axis=1))
    wide = shown.pivot(index="endpoint", columns="group_rule", values="cell")
    order = list(dict.fromkeys(table["endpoint"]))
    rules = list(dict.fromkeys(table["group_rule"]))
    return wide.loc[order, rules].reset_index()
