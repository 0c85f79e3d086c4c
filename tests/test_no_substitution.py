"""No table holds a number computed from a below-limit value put at its limit (issue 26).

A cohort with CRP and SAA below several limits, in both groups and at baseline, is compared,
and so is the demo; every numeric cell of every table in a row of a censored measure is
scanned for a detection limit (or half of it, the other common substitution). The limits are
chosen off the grid of counts and measured values, so a match can only be a substitution.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from nlrp3annot.response.stats.compare import run_comparison

COLUMNS = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
POS, NEG = "mutation_positive", "mutation_negative"
LIMITS = {"saa": (7.5, 12.5), "crp": (0.35, 3.3)}
# columns that count, or hold a rank statistic (integers or half-integers by construction)
COUNT_COLUMNS = {"n", "n1", "n2", "n_nonzero", "statistic", "u_statistic", "ci_critical_u",
                 "events", "events1", "events2", "at_risk", "time", "day", "n_patients",
                 "n_observations"}  # fmt: skip
# ends of intervals: a CI inverting a test of changes as intervals ends where a patient's
# change interval (whose end may be a limit) starts to be certainly ordered, so a limit there
# is an interval's end, not a value put in for an unknown one
BOUND_COLUMNS = {"ci_lower", "ci_upper", "hl_ci_lower", "hl_ci_upper"}


def censored_cohort() -> pd.DataFrame:
    """SAA and CRP from two assays each: below-limit values in both groups, at baseline and
    at month 3, with measured values between the limits."""
    saa = {  # patient: (baseline, month 3), "<L" as a string
        "P1": ("310", "<7.5"), "P2": ("<12.5", "<7.5"), "P3": ("280", "<12.5"),
        "P4": ("190", "9"), "P5": ("<7.5", "<12.5"), "P6": ("240", "15"),
        "N1": ("150", "<12.5"), "N2": ("<7.5", "21"), "N3": ("95", "<7.5"),
        "N4": ("130", "11"),
    }  # fmt: skip
    crp = {
        "P1": ("41", "<0.35"), "P2": ("<3.3", "<0.35"), "P3": ("56", "<3.3"),
        "P4": ("38", "1.2"), "P5": ("<0.35", "<3.3"), "P6": ("62", "4.4"),
        "N1": ("29", "<3.3"), "N2": ("<0.35", "2.6"), "N3": ("33", "<0.35"),
        "N4": ("47", "0.9"),
    }  # fmt: skip
    rows = []
    for measure, values in (("saa", saa), ("crp", crp)):
        for patient, visits in values.items():
            for visit, day, text in zip(("baseline", "month3"), (0, 90), visits, strict=True):
                mark = "<" if text.startswith("<") else ""
                rows.append((patient, visit, day, measure, float(text.lstrip("<")), "mg/L", mark))
    return pd.DataFrame(rows, columns=COLUMNS)


def substituted_cells(tables: dict[str, pd.DataFrame], limits: dict) -> list[str]:
    """Every numeric cell, in a row of a measure with below-limit values, equal to one of
    its limits or half of one."""
    found = []
    for name, table in tables.items():
        if "measure" not in table.columns or name in {"measurements", "responders"}:
            continue  # the raw values (each beside its mark) are data, not results
        for index, row in table.iterrows():
            measure = row["measure"]
            if measure not in limits:
                continue
            suspects = [v for limit in limits[measure] for v in (limit, limit / 2)]
            for column, value in row.items():
                if column in COUNT_COLUMNS | BOUND_COLUMNS or column.endswith(("_low", "_high")):
                    continue
                if isinstance(value, bool | str) or value is None:
                    continue
                numeric = isinstance(value, int | float) and math.isfinite(value)
                if numeric and any(abs(value - s) < 1e-9 for s in suspects):
                    found.append(f"{name}[{index}].{column} = {value} ({measure})")
    return found


def test_no_table_holds_a_limit_where_the_data_were_censored():
    measurements = censored_cohort()
    ids = sorted(set(measurements["patient_id"]))
    groups = pd.DataFrame({"patient_id": ids, "group": [NEG if i[0] == "N" else POS for i in ids]})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    result = run_comparison(measurements, groups, events)
    assert substituted_cells(result.tables, LIMITS) == []
    # the scan does find a substitution: a quartile computed with "<7.5" at 7.5 (P1, P2 and
    # N3 at month 3 lie below 7.5; sorted by their limits, q1 of the 10 falls on one)
    planted = {"descriptives": pd.DataFrame([{"measure": "saa", "q1": 7.5}])}
    assert substituted_cells(planted, LIMITS) == ["descriptives[0].q1 = 7.5 (saa)"]
    # and the descriptives say what the data allow instead: SAA at month 3 (all 10),
    # lows 0, 0, 0, 0, 0, 0, 9, 11, 15, 21 and highs 7.5, 7.5, 7.5, 9, 11, 12.5, 12.5,
    # 12.5, 15, 21: numpy's linear quantiles at 0.25 (position 2.25) and 0.5 (4.5)
    d = result.tables["descriptives"].set_index(["measure", "visit", "group"])
    cell = d.loc[("saa", "month3", "all")]
    assert math.isnan(cell["q1"]) and cell["q1_text"] == f"< {7.5 + 0.25 * 1.5:g}"
    assert math.isnan(cell["median"]) and cell["median_text"] == f"< {11 + 0.5 * 1.5:g}"
    assert cell["q3_text"] == f"{9 + 0.75 * 2:g} to {12.5:g}"


def test_the_demo_results_hold_no_substituted_limit(demo: Path):
    measurements = pd.read_csv(demo / "tables" / "measurements.tsv", sep="\t", dtype=str)
    censored = measurements[measurements["censored"].fillna("") != ""]
    assert not censored.empty  # the demo has below-limit SAA values
    limits = {
        m: tuple(sorted(set(part["value"].astype(float))))
        for m, part in censored.groupby("measure")
    }
    tables = {
        path.stem: pd.read_csv(path, sep="\t") for path in sorted((demo / "tables").glob("*.tsv"))
    }
    assert substituted_cells(tables, limits) == []


@pytest.mark.parametrize("table", ["within", "ratios_within", "between", "ratios_between"])
def test_censored_rows_name_their_interval_method(table: str):
    measurements = censored_cohort()
    ids = sorted(set(measurements["patient_id"]))
    groups = pd.DataFrame({"patient_id": ids, "group": [NEG if i[0] == "N" else POS for i in ids]})
    events = pd.DataFrame({"patient_id": [], "withdrawal_day": [], "flare_day": []})
    rows = run_comparison(measurements, groups, events).tables[table]
    rows = rows[rows["change"] == "baseline->month3"]
    methods = set(rows["method"].dropna())
    assert methods and all(m.startswith(("Gehan", "interval ranks")) for m in methods)
