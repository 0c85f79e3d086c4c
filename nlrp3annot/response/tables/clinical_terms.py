"""The clinical vocabulary: table columns, measures and their aliases, units and their
factors to the canonical unit, visit names, and the rules for values (decimal comma,
censored ``<5``, ND). Documented for users in :mod:`nlrp3annot.response.tables.clinical`."""

from __future__ import annotations

import math
import re

from nlrp3annot.errors import RecordError
from nlrp3annot.response.tables.sheets import _alnum, _Sheet

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
# Optional samples-sheet columns a signed clinical report states (ACMG/CAP, ISO 15189): who
# the patient is, the specimen and its dates, why it was tested and who asked. Kept as the
# lab wrote them; only the per-patient pages and Phenopackets read them.
REPORT_COLUMNS = (
    "diagnosis_code",
    "patient_name",
    "medical_record_number",
    "date_of_birth",
    "sex",
    "indication",
    "ordering_clinician",
    "specimen_id",
    "collection_date",
    "receipt_date",
    "assay",
)
# (io/redact.py empties the ones that name a person under --redact)
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
    "diagnosis",
    *REPORT_COLUMNS,
    "source",
]
EVENT_DAYS = ("withdrawal_day", "flare_day", "followup_end_day")  # samples-sheet day columns
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
    "baseline_flag": ("ablfl", "baseline flag", "baseline_flag", "base flag"),
    "unit": ("unit", "avalu", "units"),
}
_SAMPLE_ROLES: dict[str, tuple[str, ...]] = {
    "patient_id": _CLINICAL_ROLES["patient_id"],
    "sample_id": ("sample_id", "sample", "sample id", "vcf_sample", "vcf sample id", "specimen"),
    # the tissue decides which negative sample counts (nlrp3annot.patients.tissues)
    "tissue": ("tissue", "sample_type", "specimen type", "source"),
    "treatment": ("treatment", "drug", "therapy"),
    "dose": ("dose", "dosage"),
    "withdrawal_day": ("withdrawal_day", "withdrawal day", "stop day"),
    "flare_day": ("flare_day", "flare day"),
    "followup_end_day": ("followup_end_day", "follow-up end day", "last followup day"),
    # the clinical diagnosis (FCAS, MWS, NOMID/CINCA): the disease of a Phenopacket
    "diagnosis": ("diagnosis", "clinical diagnosis"),
    # a code for it: MONDO:..., ORPHA:..., ICD10:... (ICD-10 written M04.2 is read as ICD10)
    "diagnosis_code": ("diagnosis_code", "diagnosis code", "mondo", "orpha", "icd10", "icd-10"),
    "patient_name": ("patient_name", "patient name", "name"),
    "medical_record_number": (
        "medical_record_number",
        "mrn",
        "medical record number",
        "hospital number",
    ),
    "date_of_birth": ("date_of_birth", "date of birth", "dob", "birth date"),
    "sex": ("sex", "gender"),
    "indication": ("indication", "reason for testing", "reason for referral"),
    "ordering_clinician": (
        "ordering_clinician",
        "ordering clinician",
        "referring clinician",
        "ordered by",
        "referrer",
    ),
    "specimen_id": ("specimen_id", "specimen id", "accession", "lab number"),
    "collection_date": ("collection_date", "collection date", "collected"),
    "receipt_date": ("receipt_date", "receipt date", "received"),
    # the assay's design (capture, amplicon, WGS, UMI...): not a tissue
    "assay": ("assay", "assay type", "library", "design"),
}
_VISITS: dict[str, tuple[str, ...]] = {
    "baseline": (
        "baseline",
        "bl",
        "day 0",
        "d0",
        "pre",
        "pre-treatment",
        "pretreatment",
        "week 0",
        "w0",
        "m0",
        "month 0",
    ),
    "month3": ("month 3", "m3", "3 months", "3 month", "3m", "week 12", "w12", "day 90", "d90"),
    "month6": ("month 6", "m6", "6 months", "6 month", "6m", "week 24", "w24", "day 180"),
    "flare": ("flare", "at flare", "withdrawal flare", "relapse"),
    # after the flare, on anakinra again: did the patient respond again (within days)?
    "retreatment": ("retreatment", "re-treatment", "retreated", "after retreatment"),
    # kept apart from baseline: used as the baseline only where a patient has none
    "screening": ("screening", "scr", "screen"),
}
_ND = {"", "nd", "n.d.", "n/d", "na", "n/a", "n.a.", "-", "--", "\u2013", "\u2014", "not done"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_CENSORED = re.compile(r"(<=?|>=?|\u2264|\u2265)\s*(.+)")
_BRACKET_UNIT = re.compile(r"(.*?)[\s_]*[(\[]([^)\]]*)[)\]]\s*")


def measure_units() -> dict[str, tuple[str, ...]]:
    """Accepted units per canonical measure (an empty unit is also accepted: canonical)."""
    return {m: tuple(u for u, _ in units) for m, units in _UNITS.items()}


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
