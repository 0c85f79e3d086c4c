"""Compare NLRP3 mutation-positive with mutation-negative NOMID/CAPS patients on anakinra.

The comparison job: descriptives, the Holm adjustment, warnings, the summary and the methods
paragraph here; the tests themselves in :mod:`nlrp3annot.response.rank_tests` and
:mod:`nlrp3annot.response.survival`; table layouts and input checks in
:mod:`nlrp3annot.response.comparison_data`.

Pure functions over pandas tables (no file I/O): descriptives per measure, visit and group;
within-group Wilcoxon signed-rank tests of paired changes; a between-group Mann-Whitney test
of the baseline->follow-up change with a Hodges-Lehmann shift and its distribution-free CI;
Kaplan-Meier time to flare with a log-rank test; and a Holm adjustment across the primary
endpoints. Who is mutation-positive is decided upstream: group labels are taken as given.

Values censored at a detection limit ("<" or ">") are used at the limit for the rank
statistics and counted in the descriptives.
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
from statsmodels.stats.multitest import multipletests

from nlrp3annot.response.censored import (
    censor_at_highest_limit,
    censoring_warnings,
    dishonest_limits,
    median_text,
)
from nlrp3annot.response.comparison_data import (
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
from nlrp3annot.response.rank_tests import (
    _between,
    _within,
    hodges_lehmann_ci,
    mann_whitney_null_counts,
    mannwhitney_smallest_p,
    wilcoxon_smallest_p,
)
from nlrp3annot.response.survival import _flare_times, _time_to_flare

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
                values = data["value"]
                shown = median_text(data)
                rows.append(
                    {
                        "measure": measure,
                        "visit": visit,
                        "group": group,
                        "n": len(values),
                        # pandas' default quantile is numpy's linear interpolation.
                        # a median on a value below (above) a limit is a bound: no number
                        "median": values.median()
                        if shown[:1].isdigit() or shown[:1] == "-"
                        else math.nan,
                        "q1": values.quantile(0.25) if len(values) else math.nan,
                        "q3": values.quantile(0.75) if len(values) else math.nan,
                        "median_text": shown,
                        "n_censored": int((data["censored"] != "").sum()),
                        "n_below_limit": int((data["censored"] == "<").sum()),
                        "n_above_limit": int((data["censored"] == ">").sum()),
                    }
                )
    return pd.DataFrame(rows, columns=list(DESCRIPTIVE_COLUMNS))


# --------------------------------------------------------------------------------------------
# Holm adjustment, warnings, summary


def _holm(
    within: pd.DataFrame, between: pd.DataFrame, logrank: pd.DataFrame, compared: Sequence[str]
) -> pd.DataFrame:
    """Mark the primary endpoints, Holm-adjust their P values in place, return the family.

    The confirmatory family: within each compared group, baseline -> month 3 and month 3 ->
    flare (the seed study's two primary end points); between the groups, both changes; and
    the log-rank test. The "all" group (which includes VUS and not-assessable patients) is
    descriptive and stays out of the family."""
    within["primary"] = within["group"].isin(list(compared))
    between["primary"] = True
    logrank["primary"] = True
    family = []
    for name, table in (("within", within), ("between", between), ("logrank", logrank)):
        table["p_holm"] = math.nan
        for index, row in table[table["primary"]].iterrows():
            if math.isnan(row["p"]):
                continue  # an endpoint with no test is not part of the family
            if name == "within":
                label = f"within {row['group']} {row['measure']} {row['change']}"
            elif name == "between":
                label = f"between {row['group1']} vs {row['group2']} {row['measure']} "
                label += row["change"]
            else:
                label = f"log-rank time to flare {row['group1']} vs {row['group2']}"
            family.append({"endpoint": label, "table": name, "row": index, "p": row["p"]})
    frame = pd.DataFrame(family, columns=["endpoint", "table", "row", "p"])
    if not frame.empty:
        frame["p_holm"] = multipletests(frame["p"].to_numpy(float), method="holm")[1]
        tables = {"within": within, "between": between, "logrank": logrank}
        for row in frame.itertuples(index=False):
            tables[row.table].loc[row.row, "p_holm"] = row.p_holm
    else:
        frame["p_holm"] = pd.Series(dtype=float)
    return frame.drop(columns="row")


def _small_sample_warnings(within: pd.DataFrame, between: pd.DataFrame, alpha: float) -> list[str]:
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
    compared: tuple[str, str] = ("mutation_positive", "mutation_negative"),
    baseline: str = "baseline",
    followup: str = "month3",
    flare: str = "flare",
    alpha: float = 0.05,
) -> ComparisonResult:
    """Compare the two `compared` groups; see the module docstring for the analyses.

    "all" means every patient with any group label (including e.g. "vus" or "unknown");
    patients with data but no label are left out of every group statistic and counted.
    Primary endpoints, Holm-adjusted together: the within-group Wilcoxon P of each compared
    group (not "all") for baseline->followup and followup->flare, the between-group
    Mann-Whitney P for both changes, and the log-rank P.
    """
    compared = tuple(compared)  # type: ignore[assignment]
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

    report_groups = [*compared, ALL]
    visits = _ordered_visits(sorted(frame["visit"].unique()), [baseline, followup, flare])
    changes = [(baseline, followup), (followup, flare)]

    descriptives = _descriptives(frame, labels, report_groups, visits)
    # Rank tests see values below a limit that cannot be ranked there as tied at the highest
    # limit; the descriptives and the Gehan bounds keep the values as reported.
    limits = dishonest_limits(frame)
    ranked = censor_at_highest_limit(frame, limits)
    within = _within(ranked, frame, labels, report_groups, changes, alpha)
    # one table over both changes, from records (concatenating frames whose columns may be
    # all missing is deprecated in pandas)
    records = [
        record
        for a, b in changes
        for record in _between(frame, labels, compared, a, b, alpha).to_dict("records")
    ]
    between = pd.DataFrame(records, columns=list(BETWEEN_COLUMNS))
    between["ci_critical_u"] = between["ci_critical_u"].astype("Int64")
    from nlrp3annot.response.ratios import ratio_tables

    ratios_within, ratios_between = ratio_tables(
        ranked, frame, labels, report_groups, compared, changes, alpha
    )
    km, survival, logrank = _time_to_flare(times, compared, alpha)
    from nlrp3annot.response.inclusion import inclusion_table

    inclusion = inclusion_table(frame, labels, compared, changes, times, flare_excluded)
    primary = _holm(within, between, logrank, compared)
    warnings += _small_sample_warnings(within, between, alpha)
    warnings += censoring_warnings(frame)

    labelled_with_data = {p: g for p, g in labels.items() if p in with_data}
    n_patients = {
        g: sum(1 for v in labelled_with_data.values() if v == g)
        for g in sorted(set(labelled_with_data.values()) | set(compared))
    }
    n_patients[ALL] = len(labelled_with_data)
    n_patients[UNASSIGNED] = len(unassigned)
    n_patients["labelled_without_data"] = len(labels) - len(labelled_with_data)

    tables = {
        "descriptives": descriptives,
        "within": within,
        "between": between,
        "ratios_within": ratios_within,
        "ratios_between": ratios_between,
        "time_to_flare": km,
        "km_survival": survival,
        "logrank": logrank,
        "primary_endpoints": primary,
        "inclusion": inclusion,
    }
    summary = {
        "compared": list(compared),
        "alpha": alpha,
        "visits": {"baseline": baseline, "followup": followup, "flare": flare},
        "group_rule": (
            "Group labels are taken from the input as given; this analysis does not decide "
            "who is mutation-positive. 'all' = every patient with any group label."
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
        "primary_endpoints": {
            "adjustment": "holm",
            "family_size": len(primary),
            "endpoints": _records(primary),
        },
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


# --------------------------------------------------------------------------------------------
# Methods paragraph


def _count_methods(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("method"):
            counts[row["method"]] = counts.get(row["method"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none run"


def _censoring_methods(s: dict[str, Any]) -> str:
    """What was done with values at a detection limit, from the summary."""
    censoring = s.get("censoring", {})
    tied = censoring.get("tied_at_highest_limit", {})
    text = (
        "Values reported below (or above) a detection limit entered the rank statistics at "
        "that limit"
    )
    if tied:
        shown = ", ".join(f"{m} (<{v:g})" for m, v in tied.items())
        text += (
            f", except for {shown}: there several limits occurred or a limit lay above "
            f"measured values, so every value below the highest limit was treated as tied at "
            f"that limit in the rank tests (censoring at the highest detection limit), and "
            f"between groups the P reported is Gehan's generalised Wilcoxon test on each "
            f"patient's change (or log ratio) taken as the interval its bounds allow (a pair "
            f"of patients is ordered only when their intervals do not overlap; exact "
            f"permutation distribution of Mantel's scores for up to 50 patients per group)"
        )
    if censoring.get("gehan_rows"):
        text += (
            "; wherever a censored value entered a between-group change, that Gehan P is "
            "also given beside the other (p_gehan)"
        )
    return text + ". "


def methods_text(result: ComparisonResult, group_rule: str | None = None) -> str:
    """A plain-English methods paragraph describing what run_comparison did.
    ``group_rule``: the rule that derived the groups from genotype status (None: the groups
    were given with the data)."""
    s = result.summary
    first, second = s["compared"]
    visits = s["visits"]
    level = 1 - s["alpha"]
    soft = s["software"]
    # The coverage is exact only for untied data; with tied changes it is approximate.
    coverages = [
        f"{r['measure']} {r['ci_coverage']:.4f}"
        + (" (ties: approximate)" if "tied" in r["note"] else "")
        for r in s["between"]
        if r["ci_coverage"] is not None
    ]
    coverage_text = f"; coverage achieved: {', '.join(coverages)}" if coverages else ""
    if group_rule is None:
        grouping = (
            f"Patients were compared by the group labels supplied with the data ({first} "
            f"versus {second}); the labels were not derived in this analysis, and patients "
            f"without a label were excluded and counted. "
        )
    else:
        grouping = (
            f"Patients were compared as {first} versus {second}, the groups derived from "
            f"each patient's genotype status by the '{group_rule}' rule; patients in neither "
            f"group were excluded and counted. "
        )
    ps = s.get("time_to_flare", {}).get("logrank", {})
    permutation = (
        ", with the exact permutation P over all assignments of the patients to groups of "
        "the observed sizes also given"
        if ps.get("p_permutation") is not None
        else ""
    )
    return (
        grouping + _censoring_methods(s) + f"The descriptive tables give medians and "
        f"interquartile ranges (linear interpolation) of the values as reported, with "
        f"below- and above-limit values counted and a median that falls on one shown as "
        f"'< L' or '> L'. Within each group, and in all labelled patients together, paired "
        f"changes ({visits['baseline']} to {visits['followup']}, and {visits['followup']} to "
        f"{visits['flare']}) were tested with the two-sided Wilcoxon signed-rank test with "
        f"zero differences dropped (Wilcoxon's method), exact for up to 50 non-zero "
        f"differences, with or without ties (the permutation distribution of the signed "
        f"midranks, P = P(|T - E| >= |t - E|)), else the normal approximation with tie and "
        f"continuity correction (methods used: {_count_methods(s['within'])}). Both "
        f"changes were compared between groups with the two-sided Mann-Whitney U test, "
        f"exact for up to 50 patients per group, with or without ties (the permutation "
        f"distribution of midrank sums over all splits of the patients, "
        f"P = P(|U - E| >= |u - E|)), else the tie-corrected normal "
        f"approximation with continuity correction (methods used: "
        f"{_count_methods(s['between'])}); the difference between groups is "
        f"given as the Hodges-Lehmann shift ({first} minus {second}, the median of all "
        f"pairwise differences) with a distribution-free {level:.0%} confidence interval from "
        f"the order statistics of those differences at the critical value of the exact null "
        f"distribution of U, chosen as the narrowest such interval with coverage at least "
        f"{level:.0%} ({visits['baseline']} to {visits['followup']}{coverage_text}). "
        f"For SAA, CRP and ESR, which fall by orders of magnitude, the effect is also given "
        f"on the log scale (tables ratios_within and ratios_between): per patient the ratio "
        f"of the later to the earlier value; within a group the Hodges-Lehmann ratio (the "
        f"exponentiated median of the Walsh averages of the log ratios) with its "
        f"distribution-free {level:.0%} CI from the exact signed-rank distribution and the "
        f"exact Wilcoxon P of the log ratios; between groups the ratio of ratios (the "
        f"exponentiated Hodges-Lehmann shift of the log ratios) with its exact CI and the "
        f"exact Mann-Whitney P, for both changes; a value of 0 has no ratio and leaves that "
        f"patient out of it. These are reported beside the absolute changes and are not in "
        f"the Holm family below. "
        f"Time from anakinra withdrawal to flare was "
        f"estimated by the Kaplan-Meier method, with patients without a flare censored at the "
        f"end of follow-up, medians (the first time the curve is at or below one half, "
        f"within 1e-9, and each confidence limit by the same rule on its band) with "
        f"{level:.0%} confidence intervals, and the groups compared with the log-rank test "
        f"(asymptotic chi-square P{permutation}). P values of the primary endpoints (the "
        f"within-group tests of {first} and {second} for {visits['baseline']} to "
        f"{visits['followup']} and {visits['followup']} to {visits['flare']}, the "
        f"between-group tests of both changes and the log-rank test; "
        f"{s['primary_endpoints']['family_size']} tests) were adjusted together by Holm's "
        f"method; the group of all patients (which includes VUS and not-assessable patients) "
        f"is descriptive and not in that family. Analyses used Python {soft['python']}, numpy "
        f"{soft['numpy']}, pandas {soft['pandas']}, scipy {soft['scipy']}, statsmodels "
        f"{soft['statsmodels']} and lifelines {soft['lifelines']}."
    )


__all__ = [
    "ComparisonResult",
    "hodges_lehmann_ci",
    "mann_whitney_null_counts",
    "methods_text",
    "run_comparison",
]
