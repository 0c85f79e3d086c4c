"""Compare NLRP3 mutation-positive with mutation-negative NOMID/CAPS patients on anakinra.

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
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import lifelines
import numpy as np
import pandas as pd
import scipy
import statsmodels
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times
from scipy import stats
from statsmodels.stats.multitest import multipletests

MEASUREMENT_COLUMNS = ("patient_id", "visit", "day", "measure", "value", "unit", "censored")
GROUP_COLUMNS = ("patient_id", "group")
EVENT_COLUMNS = ("patient_id", "withdrawal_day", "flare_day")
ALL = "all"
UNASSIGNED = "unassigned"
CENSOR_MARKS = ("", "<", ">")
# Units the laboratory measures are reported in; a row in another unit would be silently
# mixed with the rest, so it is left out (with a warning) rather than guessed at.
EXPECTED_UNITS = {"saa": "mg/l", "crp": "mg/l", "esr": "mm/h"}
# Measurements arrive as decimals, and their float differences carry rounding noise
# (2.3 - 1.1 != 3.3 - 2.1); rounding far below any assay's precision lets equal changes tie,
# as they do on paper, so the tie rules below see them.
DIFF_DECIMALS = 9
# Largest sample for which scipy.stats.wilcoxon(method="auto") runs a complete (hence exact)
# sign-flip permutation test when there are ties or zeros: 2**13 <= its 9999 resamples.
WILCOXON_PERMUTATION_MAX_N = 13
WILCOXON_EXACT_MAX_N = 50
MANNWHITNEY_EXACT_MAX_N = 8
SURVIVAL_COLUMNS = (
    "group", "time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper"
)  # fmt: skip
WITHIN_COLUMNS = (
    "measure", "group", "change", "n", "n_nonzero", "median_diff", "statistic", "p",
    "method_requested", "method", "note",
)  # fmt: skip
BETWEEN_COLUMNS = (
    "measure", "change", "group1", "group2", "n1", "n2", "median_change1", "median_change2",
    "u_statistic", "p", "method", "hl_shift", "ci_lower", "ci_upper", "ci_critical_u",
    "ci_coverage", "note",
)  # fmt: skip
DESCRIPTIVE_COLUMNS = (
    "measure", "visit", "group", "n", "median", "q1", "q3", "n_censored", "n_below_limit",
    "n_above_limit",
)  # fmt: skip


@dataclass
class ComparisonResult:
    """Tables (pandas) for reports and a JSON-serialisable summary of the same numbers."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]

    @property
    def warnings(self) -> list[str]:
        """Plain-sentence warnings, as in summary["warnings"]."""
        return self.summary["warnings"]


# --------------------------------------------------------------------------------------------
# Input cleaning


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s): {', '.join(missing)}")


def _ids(values: pd.Series) -> pd.Series:
    # Patient IDs may be read as int in one table and str in another; compare them as text
    # so a join never drops everyone silently.
    return values.astype(str).str.strip()


def _clean_measurements(measurements: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """One row per patient, measure and visit, with a float value and a censor mark."""
    _require_columns(measurements, MEASUREMENT_COLUMNS, "measurements")
    frame = measurements.loc[:, list(MEASUREMENT_COLUMNS)].copy()
    frame["patient_id"] = _ids(frame["patient_id"])
    frame["visit"] = frame["visit"].astype(str).str.strip()
    frame["measure"] = frame["measure"].astype(str).str.strip().str.lower()
    frame["unit"] = frame["unit"].fillna("").astype(str).str.strip()
    frame["censored"] = frame["censored"].fillna("").astype(str).str.strip()
    bad_marks = sorted(set(frame["censored"]) - set(CENSOR_MARKS))
    if bad_marks:
        raise ValueError(f"censored must be '', '<' or '>', not {bad_marks}")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")

    missing = frame["value"].isna()
    if missing.any():
        warnings.append(
            f"{int(missing.sum())} measurement row(s) without a numeric value were left out."
        )
    frame = frame[~missing]

    expected = frame["measure"].map(EXPECTED_UNITS)
    wrong_unit = expected.notna() & (frame["unit"].str.lower() != expected)
    if wrong_unit.any():
        for measure, rows in frame[wrong_unit].groupby("measure"):
            units = ", ".join(sorted(set(rows["unit"])))
            warnings.append(
                f"{len(rows)} {measure} row(s) in unit(s) {units!r} instead of "
                f"{EXPECTED_UNITS[measure]!r} were left out (no unit conversion is attempted)."
            )
    frame = frame[~wrong_unit]

    # Exact repeats are harmless; repeats that disagree cannot be paired honestly.
    frame = frame.drop_duplicates(["patient_id", "measure", "visit", "value", "censored"])
    key = ["patient_id", "measure", "visit"]
    clash = frame.duplicated(key, keep=False)
    if clash.any():
        cells = frame[clash].drop_duplicates(key)
        listed = "; ".join(f"{p} {m} {v}" for p, m, v in cells[key].itertuples(index=False))
        warnings.append(
            f"{len(cells)} patient/measure/visit cell(s) had conflicting repeated values and "
            f"were left out: {listed}."
        )
    return frame[~clash].reset_index(drop=True)


def _clean_groups(groups: pd.DataFrame, warnings: list[str]) -> dict[str, str]:
    """Patient -> group label, dropping blank labels and patients with conflicting labels."""
    _require_columns(groups, GROUP_COLUMNS, "groups")
    frame = groups.loc[:, list(GROUP_COLUMNS)].copy()
    frame["patient_id"] = _ids(frame["patient_id"])
    frame["group"] = frame["group"].fillna("").astype(str).str.strip()
    frame = frame[frame["group"] != ""].drop_duplicates()
    conflicting = sorted(frame.loc[frame["patient_id"].duplicated(), "patient_id"].unique())
    if conflicting:
        warnings.append(
            f"{len(conflicting)} patient(s) had more than one group label and were treated as "
            f"unassigned: {', '.join(conflicting)}."
        )
        frame = frame[~frame["patient_id"].isin(conflicting)]
    return dict(zip(frame["patient_id"], frame["group"], strict=True))


def _members(labels: dict[str, str], group: str) -> set[str]:
    if group == ALL:
        return set(labels)
    return {p for p, g in labels.items() if g == group}


def _ordered_visits(present: Sequence[str], named: Sequence[str]) -> list[str]:
    first = [v for v in named if v in present]
    return first + sorted(set(present) - set(first))


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
                rows.append(
                    {
                        "measure": measure,
                        "visit": visit,
                        "group": group,
                        "n": len(values),
                        # pandas' default quantile is numpy's linear interpolation.
                        "median": values.median() if len(values) else math.nan,
                        "q1": values.quantile(0.25) if len(values) else math.nan,
                        "q3": values.quantile(0.75) if len(values) else math.nan,
                        "n_censored": int((data["censored"] != "").sum()),
                        "n_below_limit": int((data["censored"] == "<").sum()),
                        "n_above_limit": int((data["censored"] == ">").sum()),
                    }
                )
    return pd.DataFrame(rows, columns=list(DESCRIPTIVE_COLUMNS))


# --------------------------------------------------------------------------------------------
# Paired changes and the Wilcoxon signed-rank test


def _changes(
    frame: pd.DataFrame, measure: str, earlier: str, later: str, patients: set[str]
) -> pd.Series:
    """later - earlier per patient with both visits (censored values at their limit)."""
    data = frame[(frame["measure"] == measure) & frame["patient_id"].isin(patients)]
    wide = data.pivot(index="patient_id", columns="visit", values="value")
    if earlier not in wide.columns or later not in wide.columns:
        return pd.Series(dtype=float)
    paired = wide[[earlier, later]].dropna()
    return (paired[later] - paired[earlier]).round(DIFF_DECIMALS).sort_index()


def _has_ties(values: np.ndarray) -> bool:
    return bool(np.unique(values).size < values.size)


def wilcoxon_smallest_p(n_nonzero: int) -> float:
    """Smallest two-sided P the exact signed-rank test can give with n non-zero differences:
    all signs alike, 2 / 2**n."""
    return min(1.0, 2.0 / 2.0**n_nonzero)


def mannwhitney_smallest_p(n1: int, n2: int) -> float:
    """Smallest two-sided P the exact Mann-Whitney test can give: complete separation of the
    two groups, 2 / C(n1 + n2, n1)."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def _wilcoxon(diffs: np.ndarray) -> dict[str, Any]:
    n = int(diffs.size)
    nonzero = diffs[diffs != 0]
    out: dict[str, Any] = {
        "n": n,
        "n_nonzero": int(nonzero.size),
        "median_diff": float(np.median(diffs)) if n else math.nan,
        "statistic": math.nan,
        "p": math.nan,
        "method_requested": None,
        "method": None,
        "note": "",
    }
    if n < 2:
        out["note"] = f"no test: {n} patient(s) with both visits (need at least 2)"
        return out
    if nonzero.size == 0:
        out["note"] = "no test: every paired difference is zero"
        return out
    ties_or_zeros = nonzero.size < n or _has_ties(np.abs(nonzero))
    if n <= WILCOXON_EXACT_MAX_N and not ties_or_zeros:
        requested = used = "exact"
    else:
        requested = "auto"
        # scipy does not report which method "auto" chose; this mirrors its rule (checked
        # against scipy 1.17): >50 pairs -> normal approximation; ties or zeros with at most
        # 13 pairs -> complete sign-flip permutation; otherwise normal approximation.
        used = "permutation" if n <= WILCOXON_PERMUTATION_MAX_N else "asymptotic"
    result = stats.wilcoxon(diffs, alternative="two-sided", method=requested)
    out.update(
        statistic=float(result.statistic),
        p=float(result.pvalue),
        method_requested=requested,
        method=used,
    )
    notes = []
    if nonzero.size < n:
        notes.append(f"{n - nonzero.size} zero difference(s) dropped (Wilcoxon's method)")
    if _has_ties(np.abs(nonzero)):
        notes.append("tied absolute differences")
    out["note"] = "; ".join(notes)
    return out


def _within(
    frame: pd.DataFrame,
    labels: dict[str, str],
    groups: Sequence[str],
    changes: Sequence[tuple[str, str]],
) -> pd.DataFrame:
    rows = []
    for measure in sorted(frame["measure"].unique()):
        for group in groups:
            patients = _members(labels, group)
            for earlier, later in changes:
                diffs = _changes(frame, measure, earlier, later, patients).to_numpy(float)
                row = {"measure": measure, "group": group, "change": f"{earlier}->{later}"}
                rows.append(row | _wilcoxon(diffs))
    return pd.DataFrame(rows, columns=list(WITHIN_COLUMNS))


# --------------------------------------------------------------------------------------------
# Mann-Whitney, Hodges-Lehmann shift and its exact confidence interval


def mann_whitney_null_counts(n1: int, n2: int) -> list[int]:
    """Number of the C(n1+n2, n1) equally likely rank arrangements giving U = 0 .. n1*n2.

    This is the standard exact null distribution of the Mann-Whitney U statistic (no ties).
    scipy computes it only inside the private scipy.stats._mannwhitneyu module and exposes no
    public distribution object, so it is computed here from its standard generating function,
    the Gaussian binomial coefficient  prod_{i=1..n1} (1 - q**(n2+i)) / (1 - q**i), with exact
    integers (the counts overflow int64 beyond about 66 patients).
    """
    if n1 < 0 or n2 < 0:
        raise ValueError("group sizes must be non-negative")
    size = n1 * n2 + 1
    counts = [0] * size
    counts[0] = 1
    for i in range(1, n1 + 1):
        step = n2 + i
        for k in range(size - 1, step - 1, -1):  # multiply by (1 - q**step)
            counts[k] -= counts[k - step]
        for k in range(i, size):  # divide by (1 - q**i), a power-series division
            counts[k] += counts[k - i]
    # Truncating at degree n1*n2 is exact: the final product is a polynomial of that degree,
    # and power-series division never lets higher terms reach lower ones.
    return counts


def hodges_lehmann_ci(
    x: np.ndarray, y: np.ndarray, alpha: float = 0.05
) -> tuple[float, float, float, int | None, float | None]:
    """Hodges-Lehmann shift (x - y) and its distribution-free CI.

    With the n1*n2 pairwise differences D sorted, the interval [D_(c+1), D_(n1*n2-c)] covers
    the true shift with probability exactly 1 - 2*P(U <= c) under the null distribution of U
    (continuous data, pure shift model), where c is the largest integer with
    P(U <= c) <= alpha/2. Returns (shift, lower, upper, c, coverage); the interval is
    (nan, nan) with c and coverage None when even [min D, max D] has coverage below 1 - alpha.
    """
    n1, n2 = int(x.size), int(y.size)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan, None, None
    pairwise = np.sort(np.subtract.outer(x, y).ravel())
    shift = float(np.median(pairwise))
    counts = mann_whitney_null_counts(n1, n2)
    total = math.comb(n1 + n2, n1)
    # Compare exact fractions so a P landing exactly on alpha/2 is not lost to float rounding.
    half_alpha = Fraction(repr(alpha)) / 2
    cumulative, critical = 0, None
    for u, count in enumerate(counts):
        cumulative += count
        if Fraction(cumulative, total) > half_alpha:
            break
        critical = u
    if critical is None:
        return shift, math.nan, math.nan, None, None
    tail = sum(counts[: critical + 1])
    coverage = float(1 - Fraction(2 * tail, total))
    lower = float(pairwise[critical])
    upper = float(pairwise[pairwise.size - 1 - critical])
    return shift, lower, upper, critical, coverage


def _between(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    earlier: str,
    later: str,
    alpha: float,
) -> pd.DataFrame:
    first, second = compared
    rows = []
    for measure in sorted(frame["measure"].unique()):
        x = _changes(frame, measure, earlier, later, _members(labels, first)).to_numpy(float)
        y = _changes(frame, measure, earlier, later, _members(labels, second)).to_numpy(float)
        row: dict[str, Any] = {
            "measure": measure,
            "change": f"{earlier}->{later}",
            "group1": first,
            "group2": second,
            "n1": int(x.size),
            "n2": int(y.size),
            "median_change1": float(np.median(x)) if x.size else math.nan,
            "median_change2": float(np.median(y)) if y.size else math.nan,
            "u_statistic": math.nan,
            "p": math.nan,
            "method": None,
            "hl_shift": math.nan,
            "ci_lower": math.nan,
            "ci_upper": math.nan,
            "ci_critical_u": None,
            "ci_coverage": None,
            "note": "",
        }
        rows.append(row)
        if x.size == 0 or y.size == 0:
            row["note"] = "no test: a group has no patient with both visits"
            continue
        ties = _has_ties(np.concatenate([x, y]))
        small = x.size <= MANNWHITNEY_EXACT_MAX_N and y.size <= MANNWHITNEY_EXACT_MAX_N
        method = "exact" if small and not ties else "asymptotic"
        result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
        shift, lower, upper, critical, coverage = hodges_lehmann_ci(x, y, alpha)
        row.update(
            u_statistic=float(result.statistic),
            p=float(result.pvalue),
            method=method,
            hl_shift=shift,
            ci_lower=lower,
            ci_upper=upper,
            ci_critical_u=critical,
            ci_coverage=coverage,
        )
        notes = []
        if ties:
            notes.append(
                "tied changes: normal approximation with tie correction, CI coverage approximate"
            )
        if critical is None:
            notes.append(
                f"no {1 - alpha:.0%} CI: too few patients (even the full range of pairwise "
                f"differences covers with probability "
                f"{1 - 2 / math.comb(x.size + y.size, x.size):.3f})"
            )
        if math.isnan(row["p"]):
            notes.append("P undefined (all changes equal)")
        row["note"] = "; ".join(notes)
    table = pd.DataFrame(rows, columns=list(BETWEEN_COLUMNS))
    # Keep the critical value an integer even where some rows have none.
    table["ci_critical_u"] = table["ci_critical_u"].astype("Int64")
    return table


# --------------------------------------------------------------------------------------------
# Time to flare


def _flare_times(
    events: pd.DataFrame, labels: dict[str, str], warnings: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Per patient: duration (days from withdrawal), event flag and group label."""
    _require_columns(events, EVENT_COLUMNS, "events")
    frame = events.copy()
    frame["patient_id"] = _ids(frame["patient_id"])
    has_end = "followup_end_day" in frame.columns
    for column in ("withdrawal_day", "flare_day") + (("followup_end_day",) if has_end else ()):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    excluded: list[str] = []

    repeated = sorted(frame.loc[frame["patient_id"].duplicated(), "patient_id"].unique())
    if repeated:
        warnings.append(
            f"{len(repeated)} patient(s) with more than one events row were left out of the "
            f"time-to-flare analysis: {', '.join(repeated)}."
        )
        frame = frame[~frame["patient_id"].isin(repeated)]
        excluded += repeated

    flared = frame["flare_day"].notna()
    end = frame["followup_end_day"] if has_end else pd.Series(math.nan, index=frame.index)
    frame["event"] = flared.astype(int)
    frame["duration"] = np.where(
        flared, frame["flare_day"] - frame["withdrawal_day"], end - frame["withdrawal_day"]
    )

    no_withdrawal = frame["withdrawal_day"].isna()
    if no_withdrawal.any():
        ids = sorted(frame.loc[no_withdrawal, "patient_id"])
        warnings.append(
            f"{len(ids)} patient(s) without a withdrawal day were left out of the time-to-flare "
            f"analysis: {', '.join(ids)}."
        )
        excluded += ids
    no_end = ~no_withdrawal & ~flared & frame["duration"].isna()
    if no_end.any():
        ids = sorted(frame.loc[no_end, "patient_id"])
        where = "no followup_end_day" if has_end else "no followup_end_day column"
        warnings.append(
            f"{len(ids)} patient(s) without an observed flare could not be censored ({where}) "
            f"and were left out of the Kaplan-Meier analysis: {', '.join(ids)}."
        )
        excluded += ids
    negative = frame["duration"] < 0
    if negative.any():
        ids = sorted(frame.loc[negative, "patient_id"])
        warnings.append(
            f"{len(ids)} patient(s) whose flare or end of follow-up precedes withdrawal were "
            f"left out of the time-to-flare analysis: {', '.join(ids)}."
        )
        excluded += ids
    frame = frame[frame["duration"].notna() & ~negative]
    frame = frame.assign(group=frame["patient_id"].map(labels))
    return frame[["patient_id", "group", "duration", "event"]], excluded


def _time_to_flare(
    times: pd.DataFrame, compared: tuple[str, str], alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    summaries, survival = [], []
    for group in compared:
        data = times[times["group"] == group]
        row: dict[str, Any] = {
            "group": group,
            "n": len(data),
            "events": int(data["event"].sum()),
            "median": math.nan,
            "median_ci_lower": math.nan,
            "median_ci_upper": math.nan,
            "median_reached": False,
            "note": "",
        }
        summaries.append(row)
        if data.empty:
            row["note"] = "no patients with time-to-flare data"
            continue
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(data["duration"], event_observed=data["event"], label=group)
        median = float(kmf.median_survival_time_)
        ci = median_survival_times(kmf.confidence_interval_).iloc[0]
        row["median_reached"] = math.isfinite(median)
        # An infinite median or bound means the survival curve (or its CI limit) never fell
        # to 0.5 within follow-up: "not reached", reported as missing rather than inf.
        row["median"] = median if math.isfinite(median) else math.nan
        lower, upper = float(ci.iloc[0]), float(ci.iloc[1])
        row["median_ci_lower"] = lower if math.isfinite(lower) else math.nan
        row["median_ci_upper"] = upper if math.isfinite(upper) else math.nan
        if not row["median_reached"]:
            row["note"] = "median time to flare not reached"
        elif not (math.isfinite(lower) and math.isfinite(upper)):
            row["note"] = "a confidence limit of the median is not reached"
        # lifelines names the curve and its limits after the label; give them fixed names.
        curve = kmf.survival_function_.join(kmf.confidence_interval_)
        curve.columns = ["survival", "ci_lower", "ci_upper"]
        table = kmf.event_table.join(curve).rename(columns={"observed": "events"})
        table = table.reset_index(names="time").assign(group=group)
        survival.append(table[list(SURVIVAL_COLUMNS)])

    a, b = (times[times["group"] == g] for g in compared)
    logrank: dict[str, Any] = {
        "group1": compared[0],
        "group2": compared[1],
        "n1": len(a),
        "n2": len(b),
        "events1": int(a["event"].sum()),
        "events2": int(b["event"].sum()),
        "test_statistic": math.nan,
        "p": math.nan,
        "note": "",
    }
    if a.empty or b.empty:
        logrank["note"] = "no test: a group has no time-to-flare data"
    elif logrank["events1"] + logrank["events2"] == 0:
        logrank["note"] = "no test: no flare observed in either group"
    else:
        result = logrank_test(
            a["duration"], b["duration"], event_observed_A=a["event"], event_observed_B=b["event"]
        )
        logrank["test_statistic"] = float(result.test_statistic)
        logrank["p"] = float(result.p_value)
    survival_table = (
        pd.concat(survival, ignore_index=True)
        if survival
        else pd.DataFrame(columns=list(SURVIVAL_COLUMNS))
    )
    return pd.DataFrame(summaries), survival_table, pd.DataFrame([logrank])


# --------------------------------------------------------------------------------------------
# Holm adjustment, warnings, summary


def _holm(
    within: pd.DataFrame, between: pd.DataFrame, logrank: pd.DataFrame, primary_change: str
) -> pd.DataFrame:
    """Mark the primary endpoints, Holm-adjust their P values in place, return the family."""
    within["primary"] = within["change"] == primary_change
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
    Primary endpoints, Holm-adjusted together: each within-group (compared groups and "all")
    baseline->followup Wilcoxon P, each between-group Mann-Whitney P, and the log-rank P.
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
    primary_change = f"{baseline}->{followup}"

    descriptives = _descriptives(frame, labels, report_groups, visits)
    within = _within(frame, labels, report_groups, changes)
    between = _between(frame, labels, compared, baseline, followup, alpha)
    km, survival, logrank = _time_to_flare(times, compared, alpha)
    primary = _holm(within, between, logrank, primary_change)
    warnings += _small_sample_warnings(within, between, alpha)

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
        "time_to_flare": km,
        "km_survival": survival,
        "logrank": logrank,
        "primary_endpoints": primary,
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


def methods_text(result: ComparisonResult) -> str:
    """A plain-English methods paragraph describing what run_comparison did."""
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
    return (
        f"Patients were compared by the group labels supplied with the data ({first} versus "
        f"{second}); the labels were not derived in this analysis, and patients without a "
        f"label were excluded and counted. Values reported below (or above) a detection limit "
        f"were set to that limit for all rank-based statistics and counted separately in the "
        f"descriptive tables, which give medians and interquartile ranges (linear "
        f"interpolation). Within each group, and in all labelled patients together, paired "
        f"changes ({visits['baseline']} to {visits['followup']}, and {visits['followup']} to "
        f"{visits['flare']}) were tested with the two-sided Wilcoxon signed-rank test, exact "
        f"when there were at most 50 pairs and no zero or tied differences and otherwise by "
        f"scipy's automatic choice (a complete sign-flip permutation for up to 13 pairs, "
        f"else the normal approximation), with zero differences dropped (Wilcoxon's method) "
        f"(methods used: {_count_methods(s['within'])}). The {visits['baseline']} to "
        f"{visits['followup']} change was compared between groups with the two-sided "
        f"Mann-Whitney U test, exact when both groups had at most 8 patients and there were no "
        f"ties, otherwise the tie-corrected normal approximation with continuity correction "
        f"(methods used: {_count_methods(s['between'])}); the difference between groups is "
        f"given as the Hodges-Lehmann shift ({first} minus {second}, the median of all "
        f"pairwise differences) with a distribution-free {level:.0%} confidence interval from "
        f"the order statistics of those differences at the critical value of the exact null "
        f"distribution of U, chosen as the narrowest such interval with coverage at least "
        f"{level:.0%} ({visits['baseline']} to {visits['followup']}{coverage_text}). "
        f"Time from anakinra withdrawal to flare was "
        f"estimated by the Kaplan-Meier method, with patients without a flare censored at the "
        f"end of follow-up, medians with {level:.0%} confidence intervals, and the groups "
        f"compared with the log-rank test. P values of the primary endpoints (each "
        f"within-group {visits['baseline']} to {visits['followup']} test, each between-group "
        f"test and the log-rank test; {s['primary_endpoints']['family_size']} tests) were "
        f"adjusted by Holm's method. Analyses used Python {soft['python']}, numpy "
        f"{soft['numpy']}, pandas {soft['pandas']}, scipy {soft['scipy']}, statsmodels "
        f"{soft['statsmodels']} and lifelines {soft['lifelines']}."
    )
