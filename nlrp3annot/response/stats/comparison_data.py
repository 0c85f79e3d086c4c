"""The comparison's tables and their cleaning: column layouts, the result type, and the
checks every input table passes before any statistic is computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

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
# Up to these sizes the rank tests are exact, with or without ties (their permutation
# distributions over midranks, by dynamic programming: well under a second); beyond them,
# the normal approximation with tie and continuity correction.
WILCOXON_EXACT_MAX_N = 50  # non-zero paired differences
MANNWHITNEY_EXACT_MAX_N = 50  # patients per group
SURVIVAL_COLUMNS = (
    "group", "time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper"
)  # fmt: skip
# Estimates (medians, Hodges-Lehmann) come from the values as measured: where a value below
# a limit can move one, the number is NaN and its ``_text`` gives the range ("-110 to -100",
# "< -45"); P and CI come from one test each (the CI inverts it: response/inversion.py).
WITHIN_COLUMNS = (
    "measure", "group", "change", "n", "n_nonzero", "median_diff", "median_diff_text",
    "hl_change", "hl_change_text", "hl_ci_lower", "hl_ci_upper", "hl_ci_text", "statistic", "p",
    "method_requested", "method", "note",
)  # fmt: skip
BETWEEN_COLUMNS = (
    "measure", "change", "group1", "group2", "n1", "n2", "median_change1", "median_change2",
    "median_change1_text", "median_change2_text", "u_statistic", "p", "method", "hl_shift",
    "hl_shift_low", "hl_shift_high", "hl_shift_text", "ci_lower", "ci_upper", "ci_text",
    "ci_critical_u", "ci_coverage", "note",
)  # fmt: skip
DESCRIPTIVE_COLUMNS = (
    "measure", "visit", "group", "n", "median", "median_text", "q1", "q1_text", "q3",
    "q3_text", "n_censored", "n_below_limit", "n_above_limit",
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
