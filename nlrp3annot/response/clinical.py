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

Visits: ``baseline`` (baseline, BL, day 0, screening, pre, pre-treatment, week 0, M0),
``month3`` (month 3, M3, 3 months, 3m, week 12, W12, day 90), ``flare`` (flare, at flare,
withdrawal flare, relapse); any other label is lower-cased with spaces as ``_`` (Week 4 ->
week_4). Screening and baseline both become ``baseline``.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nlrp3annot.errors import InputFileError, RecordError

MEASUREMENT_COLUMNS = [
    "patient_id",
    "visit",
    "day",
    "measure",
    "value",
    "unit",
    "censored",
    "raw_value",
    "source",
]
SAMPLE_COLUMNS = [
    "patient_id",
    "sample_id",
    "tissue",
    "treatment",
    "dose",
    "withdrawal_day",
    "flare_day",
    "followup_end_day",
    "flare_censored",
    "source",
]
CANONICAL_UNITS: dict[str, str] = {"diary": "score", "saa": "mg/L", "crp": "mg/L", "esr": "mm/h"}
NO_VALUE = "no value (ND)"

# Accepted units as written in reports, with the factor to the canonical unit.
_UNITS: dict[str, tuple[tuple[str, float], ...]] = {
    "diary": (("score", 1.0), ("points", 1.0)),
    "saa": (("mg/L", 1.0), ("ug/mL", 1.0), ("mg/dL", 10.0)),
    "crp": (("mg/L", 1.0), ("ug/mL", 1.0), ("mg/dL", 10.0)),
    "esr": (("mm/h", 1.0), ("mm/hr", 1.0)),
}
_MEASURE_ALIASES: dict[str, tuple[str, ...]] = {
    "diary": ("diary", "diary score", "symptom score", "DSS", "daily diary score"),
    "saa": ("SAA", "serum amyloid A"),
    "crp": ("CRP", "C-reactive protein", "hsCRP"),
    "esr": ("ESR", "sed rate", "erythrocyte sedimentation rate"),
}
_CLINICAL_ROLES: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id",
        "patient",
        "patient id",
        "subject",
        "subject_id",
        "usubjid",
        "subjid",
        "id",
    ),
    "visit": ("visit", "avisit", "timepoint", "time point"),
    "day": ("day", "ady", "study day", "days"),
    "measure": ("measure", "paramcd", "param", "parameter", "test", "analyte"),
    "value": ("value", "aval", "result", "avalc"),
    "unit": ("unit", "avalu", "units"),
}
_SAMPLE_ROLES: dict[str, tuple[str, ...]] = {
    "patient_id": _CLINICAL_ROLES["patient_id"],
    "sample_id": ("sample_id", "sample", "sample id", "vcf_sample", "vcf sample id", "specimen"),
    "tissue": ("tissue", "sample type", "specimen type"),
    "treatment": ("treatment", "drug", "therapy"),
    "dose": ("dose", "dosage"),
    "withdrawal_day": ("withdrawal_day", "withdrawal day", "stop day"),
    "flare_day": ("flare_day", "flare day"),
    "followup_end_day": ("followup_end_day", "follow-up end day", "last followup day"),
}
_VISITS: dict[str, tuple[str, ...]] = {
    "baseline": (
        "baseline",
        "bl",
        "day 0",
        "d0",
        "screening",
        "pre",
        "pre-treatment",
        "pretreatment",
        "week 0",
        "w0",
        "m0",
        "month 0",
    ),
    "month3": ("month 3", "m3", "3 months", "3 month", "3m", "week 12", "w12", "day 90", "d90"),
    "flare": ("flare", "at flare", "withdrawal flare", "relapse"),
}
_ND = {"", "nd", "n.d.", "n/d", "na", "n/a", "n.a.", "-", "--", "\u2013", "\u2014", "not done"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_CENSORED = re.compile(r"(<=?|>=?|\u2264|\u2265)\s*(.+)")
_BRACKET_UNIT = re.compile(r"(.*?)[\s_]*[(\[]([^)\]]*)[)\]]\s*")


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


@dataclass
class _Sheet:
    """A file's cells as text: the header and (spreadsheet row number, cells) per data row."""

    path: Path
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]


def measure_units() -> dict[str, tuple[str, ...]]:
    """Accepted units per canonical measure (an empty unit is also accepted: canonical)."""
    return {m: tuple(u for u, _ in units) for m, units in _UNITS.items()}


def _key(text: str) -> str:
    """Column names match ignoring case, spaces, underscores, hyphens and dots."""
    return re.sub(r"[\s_.\-]+", "", text.strip().lower())


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_MEASURE_KEYS = {_alnum(a): m for m, aliases in _MEASURE_ALIASES.items() for a in aliases}
_VISIT_KEYS = {_alnum(a): v for v, aliases in _VISITS.items() for a in aliases}


def _unit_key(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "")
    u = u.replace("\u00b5", "u").replace("\u03bc", "u").replace("mcg", "ug")
    return re.sub(r"/(hr|hour)$", "/h", u)


def canonical_measure(label: str) -> str | None:
    """diary, saa, crp or esr for a measure name (unit suffix allowed), else None."""
    return _parse_label(label)[0]


def normalise_visit(label: str) -> str:
    """baseline, month3, flare, or the label lower-cased with spaces as underscores."""
    text = label.strip()
    found = _VISIT_KEYS.get(_alnum(text))
    if found:
        return found
    return re.sub(r"\s+", "_", text.lower())


def _parse_label(label: str) -> tuple[str | None, str | None]:
    """(measure, unit written in the label) for ``SAA (mg/L)``, ``CRP_mg_dL``, ``hsCRP``."""
    bracket = _BRACKET_UNIT.fullmatch(label.strip())
    if bracket:
        measure = _MEASURE_KEYS.get(_alnum(bracket.group(1)))
        if measure:
            return measure, bracket.group(2).strip() or None
    tokens = [t for t in re.split(r"[\s_]+", label.strip()) if t]
    # Longest measure name first, so "diary score" is the diary and not diary + unit "score".
    for k in range(len(tokens), 0, -1):
        measure = _MEASURE_KEYS.get(_alnum(" ".join(tokens[:k])))
        if measure:
            return measure, "/".join(tokens[k:]) or None
    return None, None


def _factor(sheet: _Sheet, row: int, measure: str, unit: str | None, where: str = "") -> float:
    """Multiplier from ``unit`` to the canonical unit; refuses units it does not know."""
    if not unit or not unit.strip():
        return 1.0
    key = _unit_key(unit)
    for name, factor in _UNITS[measure]:
        if _unit_key(name) == key:
            return factor
    accepted = ", ".join(u for u, _ in _UNITS[measure])
    raise RecordError(
        sheet.path,
        f"row {row}{where}",
        f"unit '{unit.strip()}' is not accepted for {measure}; use one of {accepted} "
        f"(values are converted to {CANONICAL_UNITS[measure]})",
    )


def _parse_number(text: str) -> float | None:
    """A plain number; one comma is a decimal comma (8,5 = 8.5). None if not a number."""
    t = text.strip().replace(" ", "")
    if not _NUMBER.fullmatch(t) or ("," in t and "." in t):
        return None
    return float(t.replace(",", "."))


def _parse_value(text: str) -> tuple[float, str] | None:
    """(number, censoring mark) or None for ND; raises ValueError when unparseable."""
    t = text.strip()
    if t.lower() in _ND:
        return None
    mark = ""
    censored = _CENSORED.fullmatch(t)
    if censored:
        mark = "<" if censored.group(1) in ("<", "<=", "\u2264") else ">"
        t = censored.group(2)
    number = _parse_number(t)
    if number is None:
        raise ValueError("is not a number")
    if number < 0:
        raise ValueError("is negative; diary scores and lab values cannot be")
    return number, mark


def _parse_day(sheet: _Sheet, row: int, text: str, column: str = "day") -> float:
    if not text.strip() or text.strip().lower() in _ND:
        return math.nan
    number = _parse_number(text)
    if number is None:
        raise RecordError(
            sheet.path, f"row {row}", f"{column} '{text}' is not a number of days; fix or empty it"
        )
    return number


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 101 as 101.0; an ID must stay "101"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _read_sheet(path: str | Path, preferred: Sequence[str]) -> _Sheet:
    """Cells of a CSV/TSV/TXT or XLSX file as text, with spreadsheet row numbers."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "file not found", "check the path")
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        numbered = _read_xlsx(p, preferred)
    elif suffix in (".csv", ".tsv", ".txt"):
        numbered = _read_delimited(p)
    else:
        raise InputFileError(
            p, f"unsupported file type '{p.suffix}'", "save it as .xlsx, .csv or .tsv"
        )
    numbered = [(n, cells) for n, cells in numbered if any(c.strip() for c in cells)]
    if not numbered:
        raise InputFileError(p, "the file is empty", "the first row must hold column names")
    header_row, header = numbered[0]
    header = [h.strip() for h in header]
    width = len(header)
    rows = []
    for n, cells in numbered[1:]:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            # Typical cause: an unquoted decimal comma (8,5) in a comma-separated file.
            raise RecordError(
                p,
                f"row {n}",
                f"{len(cells)} cells but {width} column names; quote values with decimal "
                "commas or save with ';' or tab as the delimiter",
            )
        rows.append((n, [c.strip() for c in cells[:width]] + [""] * (width - len(cells))))
    return _Sheet(p, header, header_row, rows)


def _read_xlsx(path: Path, preferred: Sequence[str]) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or non-xlsx file
        raise InputFileError(
            path, f"cannot read as an Excel .xlsx workbook ({type(exc).__name__})", "re-save it"
        ) from exc
    sheet = book.worksheets[0]
    for ws in book.worksheets:
        if any(word in _alnum(ws.title) for word in preferred):
            sheet = ws
            break
    first = sheet.min_row
    return [
        (first + i, [_cell_text(v) for v in values])
        for i, values in enumerate(sheet.iter_rows(min_row=first, values_only=True))
    ]


def _read_delimited(path: Path) -> list[tuple[int, list[str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # CSV saved by Excel on Windows
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    candidates = [d for d in "\t;,|" if d in header_line]
    if not candidates:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    elif len(candidates) == 1:
        delimiter = candidates[0]
    else:
        try:
            sample = "\n".join(lines[:50])
            delimiter = csv.Sniffer().sniff(sample, delimiters="".join(candidates)).delimiter
        except csv.Error:
            delimiter = max(candidates, key=header_line.count)
    return [
        (i + 1, [c.strip() for c in cells])
        for i, cells in enumerate(csv.reader(lines, delimiter=delimiter))
    ]


def _roles(header: list[str], roles: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
    """Column indices per role, in alias priority order."""
    keys = [_key(h) for h in header]
    found: dict[str, list[int]] = {}
    for role, aliases in roles.items():
        idx = [i for alias in aliases for i, k in enumerate(keys) if k == _key(alias)]
        if idx:
            found[role] = list(dict.fromkeys(idx))
    return found


def _first(cells: list[str], idx: list[int] | None) -> str:
    """The first non-empty cell among the role's columns (AVAL, then AVALC)."""
    for i in idx or []:
        if cells[i]:
            return cells[i]
    return ""


def _alias_hint(roles: dict[str, tuple[str, ...]], names: Sequence[str]) -> str:
    return "; ".join(f"{r}: {', '.join(roles[r])}" for r in names)


def _missing(
    sheet: _Sheet,
    what: str,
    missing: list[str],
    expected: list[str],
    aliases: dict[str, tuple[str, ...]],
) -> None:
    raise InputFileError(
        sheet.path,
        f"{what}: missing column(s) {', '.join(missing)}; found {', '.join(sheet.header)}",
        f"expected {', '.join(expected)}; accepted names (any case) "
        + _alias_hint(aliases, missing),
    )


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
    table = pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS)
    table["day"] = table["day"].astype(float)
    table["value"] = table["value"].astype(float)
    return ClinicalTable(measurements=table, skipped=skipped, layout=layout)


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
        rows.append(_measurement(sheet, n, patient, visit, day, measure, raw, factor, parsed))
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
            role: _parse_day(sheet, n, _first(cells, roles.get(role)), role)
            for role in ("withdrawal_day", "flare_day", "followup_end_day")
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
                "source": f"{sheet.path.name}:row {n}",
            }
        )
    table = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    for column in ("withdrawal_day", "flare_day", "followup_end_day"):
        table[column] = table[column].astype(float)
    table["flare_censored"] = table["flare_censored"].astype(bool)
    return SamplesSheet(table=table, skipped=skipped)
