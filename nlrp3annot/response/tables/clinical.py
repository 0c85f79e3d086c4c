"""Clinical input for the genotype/response comparison: anakinra response measurements and
the patient-to-VCF-sample sheet. Files in, tidy tables out; no statistics here.

Files: CSV, TSV or TXT (delimiter sniffed from the header line, UTF-8 or Windows-1252) and
Excel ``.xlsx`` (the first sheet, unless a sheet is named like "response", "clinical" or
"measurements"; for the samples sheet, like "samples"). Every cell is read as text, so
``<5`` and ``8,5`` reach the value rules below unchanged. Rows are numbered as a spreadsheet
user counts them: the header is row 1, the first data row is row 2. Blank rows are ignored.

Column names are matched ignoring case, spaces, underscores, hyphens and dots; the first
alias listed wins when a file has several (for CDISC files, PARAMCD before PARAM, and AVAL
before AVALC, falling back to the next one on rows where the first is empty):

- ``patient_id``: patient_id, patient, patient id, subject, subject_id, USUBJID, SUBJID, id
- ``visit``: visit, AVISIT, timepoint, time point
- ``day``: day, ADY, study day, days (optional)
- ``measure``: measure, PARAMCD, PARAM, parameter, test, analyte
- ``value``: value, AVAL, result, AVALC
- ``unit``: unit, AVALU, units (optional)

Layouts, told apart by the columns:

- long: one row per patient x visit x measure (has a measure or value column);
- wide: one row per patient x visit, one column per measure, e.g. ``SAA (mg/L)``,
  ``CRP_mg_dL``, ``crp``, ``diary score``, ``ESR``. The unit comes from a ``<measure>_unit``
  column on that row, else from the column name (``(mg/dL)``, ``[mg/L]``, ``_mg_dL``), else it
  is the measure's canonical unit. Columns that name no measure (age, sex, notes) are ignored.

Measures (canonical name: aliases) and units (all converted to the canonical unit, first):

- ``diary``: diary, diary score, symptom score, DSS, daily diary score. Unitless: score,
  points or empty.
- ``saa``: SAA, serum amyloid A. mg/L; ug/mL (= mg/L); mg/dL (x 10).
- ``crp``: CRP, C-reactive protein, hsCRP. mg/L; ug/mL (= mg/L); mg/dL (x 10, 1 mg/dL = 10 mg/L).
- ``esr``: ESR, sed rate, erythrocyte sedimentation rate. mm/h (mm/hr).

An empty unit means the canonical unit; any other unit is refused (RecordError naming the
file, row and accepted units), because a wrong guess changes the value tenfold. Long-format
rows of other measures (IL-6, WBC in a CDISC lab file) are listed in ``skipped``.

Values: ``8,5`` (decimal comma) is 8.5; ``<5``, ``< 0.3``, ``>200`` are censored at the limit
(value = limit in the canonical unit, ``censored`` = ``<`` or ``>``); ND, n/a, NA, ``-`` or an
empty cell put the row in ``skipped`` with reason "no value (ND)"; anything else is refused.

Visits: ``baseline`` (baseline, BL, day 0, pre, pre-treatment, week 0, M0), ``month3``
(month 3, M3, 3 months, 3m, week 12, W12, day 90), ``flare`` (flare, at flare, withdrawal
flare, relapse), ``screening``; any other label is lower-cased with spaces as ``_`` (Week 4
-> week_4). The baseline of a patient's measure is, in this order: the row flagged
``ABLFL = Y`` (CDISC ADaM) when the table has that column; else the row named baseline; else,
when there is none, the screening row (a screening visit beside a baseline stays a visit of
its own, so two different values never clash).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nlrp3annot.errors import InputFileError, RecordError
from nlrp3annot.response.tables.clinical_terms import (
    _CLINICAL_ROLES,
    _SAMPLE_ROLES,
    CANONICAL_UNITS,
    EVENT_DAYS,
    MEASUREMENT_COLUMNS,
    NO_VALUE,
    REPORT_COLUMNS,
    SAMPLE_COLUMNS,
    _factor,
    _parse_day,
    _parse_label,
    _parse_value,
    canonical_measure,
    measure_units,
    normalise_visit,
)
from nlrp3annot.response.tables.sheets import (
    _alias_hint,
    _first,
    _missing,
    _read_sheet,
    _roles,
    _Sheet,
)


@dataclass
class ClinicalTable:
    """Measurements in canonical measures/units, the rows left out and the layout.

    ``skipped`` entries: {"file", "row", "reason", "measure"} (measure may be empty); a wide
    row can be skipped once per empty measure cell.
    """

    measurements: pd.DataFrame
    skipped: list[dict] = field(default_factory=list)
    layout: str = "long"


@dataclass
class SamplesSheet:
    """Patient-to-VCF-sample rows with treatment and withdrawal/flare days."""

    table: pd.DataFrame
    skipped: list[dict] = field(default_factory=list)


def read_clinical(path: str | Path) -> ClinicalTable:
    """Read response measurements (long or wide layout) into canonical measures and units."""
    sheet = _read_sheet(path, ("response", "clinical", "measurement"))
    roles = _roles(sheet.header, _CLINICAL_ROLES)
    if "measure" in roles or "value" in roles:
        layout = "long"
        required = ["patient_id", "visit", "measure", "value"]
        missing = [r for r in required if r not in roles]
        if missing:
            expected = required + ["day (optional)", "unit (optional)"]
            _missing(sheet, "long layout", missing, expected, _CLINICAL_ROLES)
        rows, skipped = _long_rows(sheet, roles)
    else:
        columns = _wide_columns(sheet, roles)
        if not columns:
            raise InputFileError(
                sheet.path,
                f"no measurement columns; found {', '.join(sheet.header)}",
                "long layout: columns patient_id, visit, day, measure, value, unit; wide layout: "
                "patient_id, visit and one column per measure (diary, SAA, CRP, ESR); accepted "
                f"names (any case) {_alias_hint(_CLINICAL_ROLES, list(_CLINICAL_ROLES))}",
            )
        layout = "wide"
        missing = [r for r in ("patient_id", "visit") if r not in roles]
        if missing:
            expected = ["patient_id", "visit", "day (optional)"]
            _missing(sheet, "wide layout", missing, expected, _CLINICAL_ROLES)
        rows, skipped = _wide_rows(sheet, roles, columns)
    table = _choose_baseline(pd.DataFrame(rows, columns=[*MEASUREMENT_COLUMNS, "flag"]))
    table = table[list(MEASUREMENT_COLUMNS)]
    table["day"] = table["day"].astype(float)
    table["value"] = table["value"].astype(float)
    return ClinicalTable(measurements=table, skipped=skipped, layout=layout)


def _choose_baseline(table: pd.DataFrame) -> pd.DataFrame:
    """The baseline rule of the module notes: ABLFL = Y, else the baseline visit, else the
    screening visit; flagged rows become ``baseline`` and other rows named baseline
    ``baseline_unflagged`` for measures that have a flagged row."""
    table = table.copy()
    key = ["patient_id", "measure"]
    flagged = table["flag"].fillna("").astype(str).str.strip().str.upper() == "Y"
    if flagged.any():
        has_flag = table[flagged].set_index(key).index
        in_flagged = table.set_index(key).index.isin(has_flag)
        named = (table["visit"] == "baseline") & ~flagged & in_flagged
        table.loc[named, "visit"] = "baseline_unflagged"
        table.loc[flagged, "visit"] = "baseline"
    has_baseline = table[table["visit"] == "baseline"].set_index(key).index
    screening = (table["visit"] == "screening") & ~table.set_index(key).index.isin(has_baseline)
    table.loc[screening, "visit"] = "baseline"
    return table


def _skip(sheet: _Sheet, row: int, reason: str, measure: str = "") -> dict:
    return {"file": sheet.path.name, "row": row, "reason": reason, "measure": measure}


def _measurement(
    sheet: _Sheet,
    row: int,
    patient: str,
    visit: str,
    day: float,
    measure: str,
    raw: str,
    factor: float,
    parsed: tuple[float, str],
    flag: str = "",
) -> dict:
    number, mark = parsed
    return {
        "patient_id": patient,
        "visit": normalise_visit(visit),
        "day": day,
        "measure": measure,
        "value": number * factor,
        "unit": CANONICAL_UNITS[measure],
        "censored": mark,
        "raw_value": raw,
        "source": f"{sheet.path.name}:row {row}",
        "flag": flag,
    }


def _value(sheet: _Sheet, row: int, measure: str, raw: str) -> tuple[float, str] | None:
    try:
        return _parse_value(raw)
    except ValueError as problem:
        raise RecordError(
            sheet.path,
            f"row {row}",
            f"{measure} value '{raw}' {problem}; write e.g. 8.5, '<5' or '>200' for a "
            "value beyond the assay limit, or ND when not measured",
        ) from None


def _long_rows(sheet: _Sheet, roles: dict[str, list[int]]) -> tuple[list[dict], list[dict]]:
    rows: list[dict] = []
    skipped: list[dict] = []
    for n, cells in sheet.rows:
        patient = _first(cells, roles["patient_id"])
        label = _first(cells, roles["measure"])
        visit = _first(cells, roles["visit"])
        measure, label_unit = _parse_label(label)
        if not patient:
            skipped.append(_skip(sheet, n, "no patient_id", measure or ""))
            continue
        if measure is None:
            reason = f"measure '{label}' not used (diary, saa, crp, esr)" if label else "no measure"
            skipped.append(_skip(sheet, n, reason))
            continue
        if not visit:
            skipped.append(_skip(sheet, n, "no visit", measure))
            continue
        raw = _first(cells, roles["value"])
        parsed = _value(sheet, n, measure, raw)
        if parsed is None:
            skipped.append(_skip(sheet, n, NO_VALUE, measure))
            continue
        unit = _first(cells, roles.get("unit"))
        factor = _factor(sheet, n, measure, unit or label_unit)
        if unit and label_unit and _factor(sheet, n, measure, label_unit) != factor:
            raise RecordError(
                sheet.path,
                f"row {n}",
                f"measure '{label}' says {label_unit} but the unit column says {unit}; fix one",
            )
        day = _parse_day(sheet, n, _first(cells, roles.get("day")))
        flag = _first(cells, roles.get("baseline_flag"))
        rows.append(_measurement(sheet, n, patient, visit, day, measure, raw, factor, parsed, flag))
    return rows, skipped


@dataclass(frozen=True)
class _WideColumn:
    index: int
    name: str
    measure: str
    unit: str | None  # from the column name
    unit_index: int | None  # the <measure>_unit column, if any


def _wide_columns(sheet: _Sheet, roles: dict[str, list[int]]) -> list[_WideColumn]:
    used = {i for idx in roles.values() for i in idx}
    unit_columns: dict[str, int] = {}
    measure_columns: list[tuple[int, str, str, str | None]] = []
    for i, name in enumerate(sheet.header):
        if i in used or not name:
            continue
        tokens = [t for t in re.split(r"[\s_]+", name) if t]
        if len(tokens) > 1 and tokens[-1].lower() in ("unit", "units"):
            measure = canonical_measure(" ".join(tokens[:-1]))
            if measure:
                unit_columns[measure] = i
                continue
        measure, unit = _parse_label(name)
        if measure:
            measure_columns.append((i, name, measure, unit))
    out = []
    for i, name, measure, unit in measure_columns:
        if unit:
            # Refuse now: a column named "CRP (mmol/L)" or "CRP baseline" cannot be read.
            _factor(sheet, sheet.header_row, measure, unit, f" (header), column '{name}'")
        out.append(_WideColumn(i, name, measure, unit, unit_columns.get(measure)))
    return out


def _wide_rows(
    sheet: _Sheet, roles: dict[str, list[int]], columns: list[_WideColumn]
) -> tuple[list[dict], list[dict]]:
    rows: list[dict] = []
    skipped: list[dict] = []
    for n, cells in sheet.rows:
        patient = _first(cells, roles["patient_id"])
        visit = _first(cells, roles["visit"])
        if not patient or not visit:
            skipped.append(_skip(sheet, n, "no patient_id" if not patient else "no visit"))
            continue
        day = _parse_day(sheet, n, _first(cells, roles.get("day")))
        for col in columns:
            raw = cells[col.index]
            parsed = _value(sheet, n, col.measure, raw)
            if parsed is None:
                skipped.append(_skip(sheet, n, NO_VALUE, col.measure))
                continue
            row_unit = cells[col.unit_index] if col.unit_index is not None else ""
            where = f", column '{col.name}'"
            factor = _factor(sheet, n, col.measure, row_unit or col.unit, where)
            if row_unit and col.unit and _factor(sheet, n, col.measure, col.unit) != factor:
                raise RecordError(
                    sheet.path,
                    f"row {n}",
                    f"column '{col.name}' says {col.unit} but the {col.measure} unit column "
                    f"says {row_unit}; fix one",
                )
            rows.append(
                _measurement(sheet, n, patient, visit, day, col.measure, raw, factor, parsed)
            )
    return rows, skipped


def read_samples(path: str | Path) -> SamplesSheet:
    """Read the patient-to-VCF-sample sheet (several samples per patient allowed).

    A row with an empty sample_id is a patient without sequencing. ``flare_censored`` is
    true when a withdrawal day is given but no flare day: no flare was observed, and the
    time to flare is unknown (no end of follow-up is invented; see ``followup_end_day``).
    """
    sheet = _read_sheet(path, ("sample",))
    roles = _roles(sheet.header, _SAMPLE_ROLES)
    missing = [r for r in ("patient_id", "sample_id") if r not in roles]
    if missing:
        _missing(sheet, "samples sheet", missing, list(_SAMPLE_ROLES), _SAMPLE_ROLES)
    rows: list[dict] = []
    skipped: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    owner: dict[str, tuple[str, int]] = {}
    for n, cells in sheet.rows:
        patient = _first(cells, roles["patient_id"])
        sample = _first(cells, roles["sample_id"])
        if not patient:
            reason = f"no patient_id (sample '{sample}')"
            skipped.append({"file": sheet.path.name, "row": n, "reason": reason})
            continue
        if (patient, sample) in seen:
            raise RecordError(
                sheet.path,
                f"row {n}",
                f"patient '{patient}' with sample '{sample}' is already on row "
                f"{seen[(patient, sample)]}; keep one row per patient and sample",
            )
        seen[(patient, sample)] = n
        if sample and sample in owner and owner[sample][0] != patient:
            other, row = owner[sample]
            raise RecordError(
                sheet.path,
                f"row {n}",
                f"sample '{sample}' is given to patient '{patient}' but to '{other}' on row "
                f"{row}; a VCF sample belongs to one patient",
            )
        if sample:
            owner[sample] = (patient, n)
        days = {
            role: _parse_day(sheet, n, _first(cells, roles.get(role)), role) for role in EVENT_DAYS
        }
        rows.append(
            {
                "patient_id": patient,
                "sample_id": sample,
                "tissue": _first(cells, roles.get("tissue")),
                "treatment": _first(cells, roles.get("treatment")),
                "dose": _first(cells, roles.get("dose")),
                **days,
                "flare_censored": not math.isnan(days["withdrawal_day"])
                and math.isnan(days["flare_day"]),
                "diagnosis": _first(cells, roles.get("diagnosis")),
                **{column: _first(cells, roles.get(column)) for column in REPORT_COLUMNS},
                "source": f"{sheet.path.name}:row {n}",
            }
        )
    table = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    for column in EVENT_DAYS:
        table[column] = table[column].astype(float)
    table["flare_censored"] = table["flare_censored"].astype(bool)
    return SamplesSheet(table=table, skipped=skipped)


__all__ = [
    "CANONICAL_UNITS",
    "MEASUREMENT_COLUMNS",
    "SAMPLE_COLUMNS",
    "ClinicalTable",
    "SamplesSheet",
    "measure_units",
    "normalise_visit",
    "read_clinical",
    "read_samples",
]
