"""Compare NLRP3 mutation-positive with mutation-negative NOMID/CAPS patients on anakinra,
as the statistical analysis plan says (:mod:`nlrp3annot.response.plan`).

The comparison job: it cleans the tables, runs each analysis and gathers the result; the
analyses live in their modules: rank tests with their estimates and inverted intervals
(:mod:`~nlrp3annot.response.stats.rank_tests`, :mod:`~nlrp3annot.response.stats.ratios`,
:mod:`~nlrp3annot.response.stats.inversion`), censored values as bounds
(:mod:`~nlrp3annot.response.stats.censored`), time to flare
(:mod:`~nlrp3annot.response.stats.survival`, :mod:`~nlrp3annot.response.stats.hazard`), the primary
family and its multiplicity (:mod:`~nlrp3annot.response.stats.primary`), the secondary analyses
(:mod:`~nlrp3annot.response.stats.secondary`); the methods paragraph is the report's
(:mod:`nlrp3annot.response.report.methods`).

Pure functions over pandas tables (no file I/O). Who is mutation-positive is decided
upstream: group labels are taken as given.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from typing import Any

import lifelines
import numpy as np
import pandas as pd
import scipy
import statsmodels

from nlrp3annot.response.plan import AnalysisPlan, plan_to_dict, with_overrides
from nlrp3annot.response.stats.censored import (
    censor_at_highest_limit,
    censoring_warnings,
    dishonest_limits,
    quantile_range,
    range_text,
)
from nlrp3annot.response.stats.change_tables import between_table, within_table
from nlrp3annot.response.stats.comparison_data import (
    ALL,
    BETWEEN_COLUMNS,
    DESCRIPTIVE_COLUMNS,
    UNASSIGNED,
    ComparisonResult,
    _clean_groups,
    _clean_measurements,
    _ids,
    _members,
    _ordered_visits,
)
from nlrp3annot.response.stats.primary import (
    family_table,
    not_tested,
    power_summary,
    study_table,
)
from nlrp3annot.response.stats.rank_tests import (
    hodges_lehmann_ci,
    mann_whitney_null_counts,
    mannwhitney_smallest_p,
    wilcoxon_smallest_p,
)
from nlrp3annot.response.stats.secondary import (
    hazard_table,
    patient_values,
    secondary_analyses,
    secondary_table,
)
from nlrp3annot.response.stats.survival import _flare_times, _time_to_flare

# --------------------------------------------------------------------------------------------
# Descriptives


def _descriptives(
    frame: pd.DataFrame, labels: dict[str, str], groups: Sequence[str], visits: Sequence[str]
) -> pd.DataFrame:
    rows = []
    for measure in sorted(frame["measure"].unique()):
        of_measure = frame[frame["measure"] == measure]
        for visit in visits:
            cell = of_measure[of_measure["visit"] == visit]
            for group in groups:
                data = cell[cell["patient_id"].isin(_members(labels, group))]
                row = {"measure": measure, "visit": visit, "group": group, "n": len(data)}
                # pandas' default quantile is numpy's linear interpolation; where a value
                # below (above) a limit can move a quantile it is no number, only its range
                for name, q in (("median", 0.5), ("q1", 0.25), ("q3", 0.75)):
                    low, high = quantile_range(data, q)
                    row[name] = low if low == high else math.nan
                    row[f"{name}_text"] = range_text(low, high)
                row |= {
                    "n_censored": int((data["censored"] != "").sum()),
                    "n_below_limit": int((data["censored"] == "<").sum()),
                    "n_above_limit": int((data["censored"] == ">").sum()),
                }
                rows.append(row)
    return pd.DataFrame(rows, columns=list(DESCRIPTIVE_COLUMNS))


# --------------------------------------------------------------------------------------------
# Warnings, summary


def _small_sample_warnings(
    within: pd.DataFrame, between: pd.DataFrame, alpha: float, plan: AnalysisPlan
) -> list[str]:
    """Tests that cannot reach alpha, for the tests the plan asks for only: the study's
    within-patient changes in all patients (primary end points, and secondary ones when the
    question is the study's), the between-group tests of the primary end points (and
    secondary ones when the question is the genotype comparison), and the compared groups'
    own changes only when the plan tests them (``within_group = "tested"``). A secondary
    end point whose visits no patient has is said in its row, not warned about."""
    primary = {(e.measure, "->".join(e.change)) for e in plan.primary}
    secondary = {(e.measure, "->".join(e.change)) for e in plan.secondary}
    study = primary | (secondary if plan.question == "study" else set())
    genotype = primary | (secondary if plan.question == "genotype" else set())

    def named(table: pd.DataFrame, planned: set, groups: set | None = None) -> pd.DataFrame:
        keys = zip(table["measure"], table["change"], strict=True)
        keep = [key in planned for key in keys]
        if groups is not None:
            keep = [k and g in groups for k, g in zip(keep, table["group"], strict=True)]
        kept = table[np.array(keep, dtype=bool)]  # (a plain [] would select no columns)
        size = kept["n"] if "n" in kept else kept["n1"] + kept["n2"]
        absent = [(m, c) in secondary - primary for m, c in
                  zip(kept["measure"], kept["change"], strict=True)]  # fmt: skip
        return kept[~(pd.Series(absent, index=kept.index, dtype=bool) & (size == 0))]

    tested_groups = set(plan.compared) if plan.within_group == "tested" else set()
    within = pd.concat([named(within, study, {ALL}), named(within, primary, tested_groups)])
    between = named(between, genotype)
    warnings = []
    for row in within.itertuples(index=False):
        if row.n_nonzero >= 1 and wilcoxon_smallest_p(row.n_nonzero) < alpha:
            continue
        if row.n < 2:
            reason = f"only {row.n} patient(s) have both visits, so no test is possible"
        else:
            reason = (
                f"only {row.n_nonzero} non-zero paired difference(s), so the smallest "
                f"attainable exact two-sided Wilcoxon P is 2/2**{row.n_nonzero} = "
                f"{wilcoxon_smallest_p(row.n_nonzero):.4g}, not below {alpha:g}"
            )
        warnings.append(f"{row.group}, {row.measure} {row.change}: {reason}.")
    for row in between.itertuples(index=False):
        if row.n1 == 0 or row.n2 == 0:
            warnings.append(
                f"{row.group1} vs {row.group2}, {row.measure} {row.change}: a group has no "
                f"patient with both visits, so no test is possible."
            )
        elif mannwhitney_smallest_p(row.n1, row.n2) >= alpha:
            warnings.append(
                f"{row.group1} vs {row.group2}, {row.measure} {row.change}: with {row.n1} and "
                f"{row.n2} patients the smallest attainable exact two-sided Mann-Whitney P is "
                f"2/C({row.n1 + row.n2},{row.n1}) = {mannwhitney_smallest_p(row.n1, row.n2):.4g},"
                f" not below {alpha:g}."
            )
    return warnings


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN/inf to None, containers recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot make {type(value).__name__} JSON-serialisable")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _plain(frame.to_dict("records"))


def _status_reasons(groups: pd.DataFrame) -> dict[str, str]:
    """Patient -> why its samples gave its status (the ``status_reason`` column a joined
    cohort's groups carry; {} for groups given without one)."""
    if "status_reason" not in groups.columns:
        return {}
    reasons = groups["status_reason"].fillna("").astype(str)
    return {str(p): r for p, r in zip(groups["patient_id"], reasons, strict=True) if r}


def software_versions() -> dict[str, str]:
    """Versions of the software whose numbers the comparison reports."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "lifelines": lifelines.__version__,
    }


def run_comparison(
    measurements: pd.DataFrame,
    groups: pd.DataFrame,
    events: pd.DataFrame,
    compared: tuple[str, str] | None = None,
    baseline: str = "baseline",
    followup: str = "month3",
    flare: str = "flare",
    alpha: float | None = None,
    plan: AnalysisPlan | None = None,
    family_only: bool = False,
) -> ComparisonResult:
    """Compare the two compared groups as the analysis ``plan`` says (default: the NEJM 2006
    plan, :func:`nlrp3annot.response.plan.default_plan`); see the module docstring.

    ``family_only``: only the genotype comparison's family (``genotype_endpoints``), as a
    sensitivity analysis under another group rule needs it: what does not depend on the
    group rule (the descriptives, every patient's within-patient changes, the models, the
    responders) is left to the main analysis instead of being computed again per rule.

    ``compared``, ``alpha`` and the visit names, when given, override the plan's. "all" means
    every patient with any group label (whatever the label); patients with data but no label
    are left out of every group statistic and counted. The primary family (the between-group
    tests of the plan's primary end points and, when primary, time to flare) is adjusted as
    the plan says (:mod:`nlrp3annot.response.stats.primary`).
    """
    plan = with_overrides(plan, compared, alpha, (baseline, followup, flare))
    compared, alpha = plan.compared, plan.alpha
    baseline, followup, flare = plan.visits.baseline, plan.visits.followup, plan.visits.flare
    if len(compared) != 2 or compared[0] == compared[1] or ALL in compared:
        raise ValueError("compared must name two different group labels (not 'all')")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie between 0 and 1")
    warnings: list[str] = []
    frame = _clean_measurements(measurements, warnings)
    labels = _clean_groups(groups, warnings)
    times, flare_excluded = _flare_times(events, labels, warnings)

    with_data = set(frame["patient_id"]) | set(_ids(events["patient_id"]))
    unassigned = sorted(with_data - set(labels))
    if unassigned:
        warnings.append(
            f"{len(unassigned)} patient(s) have measurements or events but no group label and "
            f"were left out of every group statistic, including 'all': {', '.join(unassigned)}."
        )
    for group in compared:
        if not _members(labels, group) & with_data:
            warnings.append(f"No patient with data carries the group label {group!r}.")
    frame = frame[frame["patient_id"].isin(set(labels))]
    times = times[times["group"].notna()]

    report_groups = [*compared] if family_only else [*compared, ALL]
    visits = _ordered_visits(
        sorted(frame["visit"].unique()), [baseline, followup, *plan.visits.extra, flare]
    )
    # every change an end point of the plan names, and no other
    changes = list(dict.fromkeys(e.change for e in (*plan.primary, *plan.secondary)))

    if family_only:
        return _family_only(frame, labels, compared, changes, times, plan)
    descriptives = _descriptives(frame, labels, report_groups, visits)
    # Rank tests see values below a limit that cannot be ranked there as tied at the highest
    # limit; the descriptives and the Gehan bounds keep the values as reported.
    limits = dishonest_limits(frame)
    ranked = censor_at_highest_limit(frame, limits)
    within = within_table(frame, labels, report_groups, changes, alpha)
    from nlrp3annot.response.stats.inclusion import inclusion_table

    inclusion = inclusion_table(
        frame, labels, compared, changes, times, flare_excluded, _status_reasons(groups)
    )
    tables = {
        "descriptives": descriptives,
        "within": within,
        **_comparison_tables(frame, labels, report_groups, compared, changes, times, plan),
    }
    between, ratios_within, ratios_between = (
        tables[name] for name in ("between", "ratios_within", "ratios_between")
    )
    km, survival, logrank, hazard = (
        tables[name] for name in ("time_to_flare", "km_survival", "logrank", "hazard_ratio")
    )
    genotype = _genotype_family(frame, ranked, labels, compared, changes, times, tables, plan)
    study = study_table(tables=tables, plan=plan)
    secondary = secondary_table(plan, tables, times)
    role = {
        "descriptive": "descriptive: nominal P, not a test of the plan",
        "tested": "tested: unadjusted, outside the primary family",
    }[plan.within_group]
    for name in ("within", "ratios_within"):
        tables[name]["role"] = role
    extra = secondary_analyses(frame, labels, plan, visits)
    warnings += _small_sample_warnings(within, between, alpha, plan)
    warnings += censoring_warnings(frame)

    labelled_with_data = {p: g for p, g in labels.items() if p in with_data}
    n_patients = {
        g: sum(1 for v in labelled_with_data.values() if v == g)
        for g in sorted(set(labelled_with_data.values()) | set(compared))
    }
    n_patients[ALL] = len(labelled_with_data)
    n_patients[UNASSIGNED] = len(unassigned)
    n_patients["labelled_without_data"] = len(labels) - len(labelled_with_data)

    # the plan's question first: the study's within-patient changes, then the genotype
    # comparison (one of the two is the primary family, the other labelled: plan.question)
    tables |= {"study_endpoints": study, "genotype_endpoints": genotype,
               "secondary_endpoints": secondary, **extra, "inclusion": inclusion}  # fmt: skip
    primary = study if plan.question == "study" else genotype
    power = power_summary(plan.question, study, genotype, alpha)
    summary = {
        "compared": list(compared),
        "alpha": alpha,
        "visits": {"baseline": baseline, "followup": followup, "flare": flare},
        "group_rule": (
            "Group labels are taken from the input as given; this analysis does not decide "
            "who is mutation-positive. 'all' = every patient with any group label (whatever "
            "the label: VUS, not assessable, or a group of its own)."
        ),
        "n_patients": n_patients,
        "descriptives": _records(descriptives),
        "within": _records(within),
        "between": _records(between),
        "ratios_within": _records(ratios_within),
        "ratios_between": _records(ratios_between),
        "time_to_flare": {
            "groups": {
                row["group"]: row
                | {"survival": _records(survival[survival["group"] == row["group"]])}
                for row in _records(km)
            },
            "logrank": _records(logrank)[0],
        },
        "hazard_ratio": _records(hazard)[0] if len(hazard) else None,
        "plan": plan_to_dict(plan),
        "question": plan.question,
        "primary_endpoints": {
            "question": plan.question,
            "table": f"{plan.question}_endpoints",
            "adjustment": plan.multiplicity,
            # the plan's family, tested or not: an untested end point is not rejected
            "family_size": len(primary),
            "not_tested": not_tested(primary),
            "endpoints": _records(primary),
            # the primary family's power lines; none for the study's within-patient tests,
            # then power_family/power_note name the family the report's lines are about
            **power["primary_endpoints"],
        },
        "study_endpoints": {
            "role": str(study["role"].iloc[0]) if len(study) else "",
            "endpoints": _records(study),
            **power["study_endpoints"],
        },
        "genotype_endpoints": {
            "role": str(genotype["role"].iloc[0]) if len(genotype) else "",
            "not_tested": not_tested(genotype),
            "endpoints": _records(genotype),
            **power["genotype_endpoints"],
        },
        "secondary_endpoints": _records(secondary),
        "responders": _records(extra["responder_comparison"]),
        "responder_definition": str(extra["responder_comparison"]["definition"].iloc[0]),
        "mixed_model": _records(extra["mixed_model"]),
        "ancova": _records(extra["ancova"]),
        "censoring": {
            "tied_at_highest_limit": limits,
            "gehan_rows": int(between["method"].fillna("").str.startswith("Gehan").sum())
            + int(ratios_between["method"].fillna("").str.startswith("Gehan").sum()),
        },
        "excluded": {
            "unassigned_patients": unassigned,
            "time_to_flare_patients": sorted(flare_excluded),
        },
        "warnings": warnings,
        "software": software_versions(),
    }
    return ComparisonResult(tables=tables, summary=_plain(summary))


def _family_only(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    changes: list[tuple[str, str]],
    times: pd.DataFrame,
    plan: AnalysisPlan,
) -> ComparisonResult:
    """The genotype family alone, from the tables its rows read (the between-group changes
    and ratios, time to flare): the same functions as the full comparison, fewer tables."""
    tables = _comparison_tables(frame, labels, list(compared), compared, changes, times, plan)
    ranked = censor_at_highest_limit(frame, dishonest_limits(frame))
    family = _genotype_family(frame, ranked, labels, compared, changes, times, tables, plan)
    return ComparisonResult(tables={"genotype_endpoints": family}, summary={})


def _comparison_tables(
    frame: pd.DataFrame,
    labels: dict[str, str],
    groups: list[str],
    compared: tuple[str, str],
    changes: list[tuple[str, str]],
    times: pd.DataFrame,
    plan: AnalysisPlan,
) -> dict[str, pd.DataFrame]:
    """The between-group changes, the ratios (within ``groups`` and between the compared
    two) and time to flare: what the genotype family reads, under any group rule."""
    from nlrp3annot.response.stats.ratios import ratio_tables

    alpha = plan.alpha
    # one table over both changes, from records (concatenating frames whose columns may be
    # all missing is deprecated in pandas)
    records = [
        record
        for a, b in changes
        for record in between_table(frame, labels, compared, a, b, alpha).to_dict("records")
    ]
    between = pd.DataFrame(records, columns=list(BETWEEN_COLUMNS))
    between["ci_critical_u"] = between["ci_critical_u"].astype("Int64")
    ratios_within, ratios_between = ratio_tables(frame, labels, groups, compared, changes, alpha)
    km, survival, logrank = _time_to_flare(times, compared, alpha)
    return {
        "between": between, "ratios_within": ratios_within, "ratios_between": ratios_between,
        "time_to_flare": km, "km_survival": survival, "logrank": logrank,
        "hazard_ratio": hazard_table(times, compared, alpha, plan.flare_test),
    }  # fmt: skip


def _genotype_family(
    frame: pd.DataFrame,
    ranked: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    changes: list[tuple[str, str]],
    times: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    plan: AnalysisPlan,
) -> pd.DataFrame:
    """The genotype comparison's family, with each row's detectable effect from the
    patients' values (``ranked``) and how the assays censored them (``frame``)."""
    from nlrp3annot.response.stats.power_censored import assay_patterns
    from nlrp3annot.response.stats.ratios import RATIO_MEASURES

    values = patient_values(ranked, labels, compared, changes)
    patterns = assay_patterns(frame, labels, compared, changes, tuple(RATIO_MEASURES))
    return family_table(plan, tables, values, patterns, times)


__all__ = [
    "ComparisonResult",
    "hodges_lehmann_ci",
    "mann_whitney_null_counts",
    "run_comparison",
]
