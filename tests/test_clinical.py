"""Clinical input: response measurements (long, wide, CDISC) and the samples sheet, read from
real CSV/TSV/XLSX files written here. Expected values follow the unit rules stated in
nlrp3annot.clinical: CRP/SAA in mg/L, 1 mg/dL = 10 mg/L, 1 ug/mL = 1 mg/L, ESR in mm/h."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from nlrp3annot.errors import InputFileError, Nlrp3AnnotError, RecordError
from nlrp3annot.response.tables.clinical import (
    CANONICAL_UNITS,
    MEASUREMENT_COLUMNS,
    ClinicalTable,
    measure_units,
    normalise_visit,
    read_clinical,
    read_samples,
)

MG_DL_TO_MG_L = 10.0  # 1 mg/dL = 10 mg/L (1 dL = 0.1 L)


def write_csv(path: Path, rows: list[dict], sep: str = ",") -> Path:
    pd.DataFrame(rows).to_csv(path, sep=sep, index=False)
    return path


def one(table: ClinicalTable, **where: object) -> pd.Series:
    m = table.measurements
    mask = pd.Series(True, index=m.index)
    for column, value in where.items():
        mask &= m[column] == value
    found = m[mask]
    assert len(found) == 1, found
    return found.iloc[0]


def test_long_csv_mixed_units_rows(tmp_path: Path):
    rows = [
        # patient P1: CRP in mg/dL at baseline, in mg/L at month 3 (two labs)
        ("P1", "Baseline", "0", "CRP", "2.5", "mg/dL"),
        ("P1", "M3", "91", "C-reactive protein", "4", "mg/L"),
        ("P1", "Baseline", "0", "SAA", "120", "ug/mL"),
        ("P1", "3 months", "91", "serum amyloid A", "<5", ""),
        ("P1", "Baseline", "0", "ESR", "40", "mm/hr"),
        ("P1", "Baseline", "0", "diary score", "8,5", "points"),
        ("P1", "Week 4", "28", "DSS", "3", ""),
        ("P2", "pre-treatment", "", "hsCRP", "< 0.3", "mg/dL"),
        ("P2", "at flare", "200", "crp", ">200", "mg/L"),
        ("P2", "week 12", "84", "CRP", "ND", "mg/L"),
        ("P2", "week 12", "84", "SAA", "n/a", "mg/L"),
    ]
    columns = ["Patient", "Visit", "Day", "Measure", "Value", "Unit"]
    path = write_csv(
        tmp_path / "response.csv",
        [dict(zip(columns, r, strict=True)) for r in rows],
    )
    table = read_clinical(path)
    assert table.layout == "long"
    assert list(table.measurements.columns) == MEASUREMENT_COLUMNS
    assert len(table.measurements) == 9

    crp_bl = one(table, patient_id="P1", visit="baseline", measure="crp")
    assert crp_bl["value"] == pytest.approx(2.5 * MG_DL_TO_MG_L)
    assert crp_bl["unit"] == "mg/L"
    assert crp_bl["day"] == 0.0
    assert crp_bl["source"] == "response.csv:row 2"  # header is row 1
    assert crp_bl["raw_value"] == "2.5"
    crp_m3 = one(table, patient_id="P1", visit="month3", measure="crp")
    assert crp_m3["value"] == pytest.approx(4.0)
    assert one(table, patient_id="P1", visit="baseline", measure="saa")["value"] == 120.0

    saa_m3 = one(table, patient_id="P1", visit="month3", measure="saa")
    assert (saa_m3["value"], saa_m3["censored"], saa_m3["unit"]) == (5.0, "<", "mg/L")
    esr = one(table, patient_id="P1", measure="esr")
    assert (esr["value"], esr["unit"]) == (40.0, "mm/h")
    diary = one(table, patient_id="P1", visit="baseline", measure="diary")
    assert (diary["value"], diary["unit"], diary["raw_value"]) == (8.5, "score", "8,5")
    assert one(table, patient_id="P1", visit="week_4")["measure"] == "diary"

    low = one(table, patient_id="P2", visit="baseline")
    assert low["measure"] == "crp"
    assert low["value"] == pytest.approx(0.3 * MG_DL_TO_MG_L)
    assert low["censored"] == "<"
    assert math.isnan(low["day"])
    high = one(table, patient_id="P2", visit="flare")
    assert (high["value"], high["censored"]) == (200.0, ">")

    # ND and n/a are kept as skipped rows, with their spreadsheet row numbers
    assert [(s["file"], s["row"], s["reason"]) for s in table.skipped] == [
        ("response.csv", 11, "no value (ND)"),
        ("response.csv", 12, "no value (ND)"),
    ]
    assert table.measurements["censored"].tolist().count("") == 6  # 3 of 9 censored


def test_semicolon_csv_with_decimal_commas_and_empty_values(tmp_path: Path):
    path = tmp_path / "eu.csv"
    path.write_text(
        "patient id;time point;analyte;result;units\n"
        "A;BL;CRP;8,5;mg/L\n"
        "A;BL;SAA;;mg/L\n"
        "A;M3;CRP;-;mg/L\n"
        "A;M3;ESR;NA;mm/h\n"
        "A;M3;SAA;0,7;mg/dL\n",
        encoding="utf-8",
    )
    table = read_clinical(path)
    assert one(table, measure="crp")["value"] == 8.5
    assert one(table, measure="saa")["value"] == pytest.approx(0.7 * MG_DL_TO_MG_L)
    assert [(s["row"], s["reason"]) for s in table.skipped] == [
        (3, "no value (ND)"),
        (4, "no value (ND)"),
        (5, "no value (ND)"),
    ]


def test_wide_xlsx_mixed_unit_columns(tmp_path: Path):
    path = tmp_path / "clinic.xlsx"
    wide = pd.DataFrame(
        {
            "Subject": [101, 101, 102],
            "Timepoint": ["Baseline", "Month 3", "Flare"],
            "Study day": [0, 90, 250],
            "CRP (mg/dL)": [3.2, None, None],  # lab 1 reports CRP in mg/dL
            "hsCRP [mg/L]": [None, "<5", 61],  # lab 2 in mg/L
            "SAA_ug_mL": [150, "8,5", "ND"],
            "diary score": [4.5, 0.5, 6],
            "ESR": [55, 12, 48],
            "sex": ["F", "F", "M"],  # not a measure: ignored
        }
    )
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="Notes", index=False)
        wide.to_excel(writer, sheet_name="Response data", index=False)
    table = read_clinical(path)
    assert table.layout == "wide"

    crp_bl = one(table, patient_id="101", visit="baseline", measure="crp")
    assert crp_bl["value"] == pytest.approx(3.2 * MG_DL_TO_MG_L)
    assert crp_bl["source"] == "clinic.xlsx:row 2"
    assert crp_bl["day"] == 0.0
    crp_m3 = one(table, patient_id="101", visit="month3", measure="crp")
    assert (crp_m3["value"], crp_m3["censored"], crp_m3["unit"]) == (5.0, "<", "mg/L")
    assert one(table, patient_id="102", measure="crp")["value"] == 61.0
    assert one(table, patient_id="101", visit="month3", measure="saa")["value"] == 8.5
    assert one(table, patient_id="102", measure="diary")["value"] == 6.0
    assert one(table, patient_id="101", visit="baseline", measure="esr")["unit"] == "mm/h"
    assert set(table.measurements["measure"]) == {"crp", "saa", "diary", "esr"}
    # empty CRP cells and the SAA "ND" are listed, not dropped
    skipped = {(s["row"], s["measure"], s["reason"]) for s in table.skipped}
    assert skipped == {
        (2, "crp", "no value (ND)"),  # hsCRP empty at baseline
        (3, "crp", "no value (ND)"),  # CRP mg/dL empty at month 3
        (4, "crp", "no value (ND)"),
        (4, "saa", "no value (ND)"),
    }


def test_wide_tsv_unit_column_per_row(tmp_path: Path):
    path = write_csv(
        tmp_path / "wide.tsv",
        [
            {"id": "P1", "visit": "baseline", "CRP": "1.5", "crp_unit": "mg/dL", "ESR": "30"},
            {"id": "P2", "visit": "baseline", "CRP": "15", "crp_unit": "mg/L", "ESR": "31"},
            {"id": "P3", "visit": "baseline", "CRP": "15", "crp_unit": "", "ESR": "32"},
        ],
        sep="\t",
    )
    table = read_clinical(path)
    values = table.measurements.query("measure == 'crp'").set_index("patient_id")["value"]
    assert values["P1"] == pytest.approx(1.5 * MG_DL_TO_MG_L)
    assert values["P2"] == 15.0
    assert values["P3"] == 15.0  # empty unit: the canonical mg/L


def test_cdisc_columns(tmp_path: Path):
    path = write_csv(
        tmp_path / "adlb.csv",
        [
            {"USUBJID": "S-01", "VISIT": "SCREENING", "ADY": "-7", "PARAMCD": "CRP",
             "AVAL": "1.1", "AVALU": "mg/dL"},
            {"USUBJID": "S-01", "VISIT": "WEEK 12", "ADY": "85", "PARAMCD": "CRP",
             "AVAL": "3", "AVALU": "mg/L"},
            {"USUBJID": "S-01", "VISIT": "WEEK 12", "ADY": "85", "PARAMCD": "IL6",
             "AVAL": "2", "AVALU": "pg/mL"},
            {"USUBJID": "S-01", "VISIT": "UNSCHEDULED 1", "ADY": "40", "PARAMCD": "SAA",
             "AVAL": "12", "AVALU": "MG/L"},
        ],
    )  # fmt: skip
    table = read_clinical(path)
    assert table.layout == "long"
    bl = one(table, visit="baseline")
    assert (bl["patient_id"], bl["day"]) == ("S-01", -7.0)
    assert bl["value"] == pytest.approx(1.1 * MG_DL_TO_MG_L)
    assert one(table, visit="month3")["value"] == 3.0
    assert one(table, measure="saa")["visit"] == "unscheduled_1"
    assert len(table.skipped) == 1
    assert table.skipped[0]["row"] == 4
    assert "IL6" in table.skipped[0]["reason"]


def test_cdisc_avalc_used_when_aval_empty(tmp_path: Path):
    path = write_csv(
        tmp_path / "adlb.csv",
        [
            {"USUBJID": "S-02", "AVISIT": "Baseline", "PARAMCD": "SAA", "PARAM":
             "Serum Amyloid A (mg/L)", "AVAL": "", "AVALC": "<3", "AVALU": ""},
        ],
    )  # fmt: skip
    row = one(read_clinical(path), patient_id="S-02")
    assert (row["measure"], row["value"], row["censored"]) == ("saa", 3.0, "<")


def test_unknown_unit_refused_with_file_and_row(tmp_path: Path):
    path = write_csv(
        tmp_path / "units.csv",
        [
            {"patient_id": "P1", "visit": "BL", "measure": "CRP", "value": "4", "unit": "mg/L"},
            {"patient_id": "P1", "visit": "M3", "measure": "CRP", "value": "4", "unit": "mmol/L"},
        ],
    )
    with pytest.raises(RecordError) as err:
        read_clinical(path)
    message = str(err.value)
    assert "units.csv" in message and "row 3" in message and "mmol/L" in message
    assert "mg/L" in message and "mg/dL" in message  # what to use instead
    assert "\n" not in message


def test_unknown_unit_in_wide_column_name_refused(tmp_path: Path):
    path = write_csv(tmp_path / "w.csv", [{"patient": "P1", "visit": "BL", "CRP (mmol/L)": "4"}])
    with pytest.raises(RecordError, match=r"w\.csv.*row 1.*CRP \(mmol/L\).*mg/L"):
        read_clinical(path)


def test_unparseable_value_refused(tmp_path: Path):
    path = write_csv(
        tmp_path / "bad.csv",
        [{"patient_id": "P1", "visit": "BL", "measure": "ESR", "value": "high", "unit": ""}],
    )
    with pytest.raises(RecordError, match=r"bad\.csv.*row 2.*'high'"):
        read_clinical(path)


def test_unquoted_decimal_comma_in_comma_csv_refused(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("patient,visit,measure,value,unit\nP1,BL,CRP,8,5,mg/L\n")
    with pytest.raises(RecordError, match=r"row 2.*decimal comma"):
        read_clinical(path)


def test_missing_columns_message(tmp_path: Path):
    path = write_csv(tmp_path / "m.csv", [{"patient": "P1", "parameter": "CRP", "value": "3"}])
    with pytest.raises(InputFileError) as err:
        read_clinical(path)
    message = str(err.value)
    assert "m.csv" in message
    assert "missing column(s) visit" in message
    assert "found patient, parameter, value" in message
    assert "timepoint" in message  # the aliases hint

    nothing = write_csv(tmp_path / "n.csv", [{"patient": "P1", "age": "7"}])
    with pytest.raises(InputFileError, match="no measurement columns; found patient, age"):
        read_clinical(nothing)


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(InputFileError, match="not found"):
        read_clinical(tmp_path / "absent.csv")
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    with pytest.raises(InputFileError, match=r"broken\.xlsx.*Excel"):
        read_clinical(broken)
    with pytest.raises(InputFileError, match="unsupported"):
        (tmp_path / "old.xls").write_bytes(b"\xd0\xcf")
        read_clinical(tmp_path / "old.xls")


def test_visit_labels():
    for label in ["baseline", "BL", "Day 0", "Pre", "pre-treatment", "week 0", "M0"]:
        assert normalise_visit(label) == "baseline", label
    for label in ["screening", "SCREENING", "Scr"]:  # a baseline only where none is given
        assert normalise_visit(label) == "screening", label
    for label in ["month 3", "M3", "3 months", "3m", "week 12", "W12", "day 90"]:
        assert normalise_visit(label) == "month3", label
    for label in ["flare", "At flare", "withdrawal flare", "Relapse"]:
        assert normalise_visit(label) == "flare", label
    assert normalise_visit(" Month  6 ") == "month6"  # the plan's durability visit
    assert normalise_visit(" Month  9 ") == "month_9"  # any other: cleaned, kept


def test_units_api():
    assert CANONICAL_UNITS == {"diary": "score", "saa": "mg/L", "crp": "mg/L", "esr": "mm/h"}
    units = measure_units()
    assert "mg/dL" in units["crp"] and "ug/mL" in units["saa"] and "mm/hr" in units["esr"]
    assert "mmol/L" not in units["crp"]
    assert set(units) == set(CANONICAL_UNITS)


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Samples"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


SAMPLE_HEADER = ["Patient", "VCF sample", "tissue", "treatment", "dose", "withdrawal day",
                 "flare_day"]  # fmt: skip


def test_samples_sheet(tmp_path: Path):
    path = write_xlsx(
        tmp_path / "samples.xlsx",
        SAMPLE_HEADER,
        [
            ["P1", "P1_blood", "blood", "anakinra", "anakinra 1-2 mg/kg/day", 180, 187],
            ["P1", "P1_buccal", "buccal", "anakinra", "anakinra 1-2 mg/kg/day", 180, 187],
            ["P2", None, None, "anakinra", "anakinra 1 mg/kg/day", 200, None],  # not sequenced
            ["P3", "S3", "blood", "anakinra", None, None, None],
        ],
    )
    sheet = read_samples(path)
    t = sheet.table
    assert list(t.columns) == [
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
        # the optional columns of a signed report, empty where the sheet has none
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
        "source",
    ]
    assert set(t["medical_record_number"]) == {""} and set(t["assay"]) == {""}
    assert t.query("patient_id == 'P1'")["sample_id"].tolist() == ["P1_blood", "P1_buccal"]
    p1 = t.iloc[0]
    assert (p1["withdrawal_day"], p1["flare_day"], p1["flare_censored"]) == (180.0, 187.0, False)
    assert p1["dose"] == "anakinra 1-2 mg/kg/day"
    p2 = t.query("patient_id == 'P2'").iloc[0]
    assert p2["sample_id"] == ""
    assert math.isnan(p2["flare_day"])  # no flare observed: not invented
    assert bool(p2["flare_censored"]) is True
    assert math.isnan(p2["followup_end_day"])  # no such column
    p3 = t.query("patient_id == 'P3'").iloc[0]
    assert bool(p3["flare_censored"]) is False  # never withdrawn
    assert p3["source"] == "samples.xlsx:row 5"
    assert sheet.skipped == []


def test_duplicate_sample_refused(tmp_path: Path):
    path = write_csv(
        tmp_path / "dup.csv",
        [
            {"patient_id": "P1", "sample": "S1"},
            {"patient_id": "P2", "sample": "S2"},
            {"patient_id": "P1", "sample": "S1"},
        ],
    )
    with pytest.raises(RecordError, match=r"dup\.csv.*row 4.*'S1'.*row 2"):
        read_samples(path)
    shared = write_csv(
        tmp_path / "shared.csv",
        [{"patient_id": "P1", "sample": "S1"}, {"patient_id": "P2", "sample": "S1"}],
    )
    with pytest.raises(RecordError, match=r"row 3.*'S1'.*'P1'"):
        read_samples(shared)


def test_samples_missing_sample_column(tmp_path: Path):
    path = write_csv(tmp_path / "s.csv", [{"patient_id": "P1", "tissue": "blood"}])
    with pytest.raises(Nlrp3AnnotError, match="missing column.*sample_id.*found patient_id"):
        read_samples(path)


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("response.csv", "xlsx", "is an Excel workbook (a zip file), not CSV text"),
        ("response.xlsx", "csv", "is not an Excel .xlsx workbook"),
        ("response.tsv", b"\x00\x01\x02\x03 binary", "holds binary data"),
        ("response.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 xls", "old Excel .xls workbook"),
    ],
)
def test_a_table_whose_bytes_disagree_with_its_name_is_named_for_what_it_is(
    tmp_path: Path, name: str, content, expected: str
):
    path = tmp_path / name
    if content == "xlsx":
        book = openpyxl.Workbook()
        book.active.append(["patient_id", "visit", "day", "measure", "value", "unit"])
        book.save(path)
    elif content == "csv":
        path.write_text("patient_id,visit,day,measure,value,unit\nP1,baseline,0,CRP,5,mg/L\n")
    else:
        path.write_bytes(content)
    with pytest.raises(InputFileError) as error:
        read_clinical(path)
    assert expected in str(error.value) and name in str(error.value)


def test_cdisc_baseline_is_ablfl_then_baseline_then_screening(tmp_path: Path):
    """A SCREENING visit beside BASELINE no longer clashes with it (the whole baseline of
    that patient used to disappear as a conflicting repeat); screening stands in only where
    there is no baseline; ABLFL = Y decides where the table has it."""
    path = tmp_path / "adlb.csv"
    path.write_text(
        "USUBJID,AVISIT,ADY,PARAMCD,AVAL,AVALU,ABLFL\n"
        "S-P1,SCREENING,-14,CRP,30,mg/L,\n"
        "S-P1,BASELINE,0,CRP,25,mg/L,\n"
        "S-P1,WEEK 12,84,CRP,5,mg/L,\n"
        "S-P2,SCREENING,-10,CRP,40,mg/L,\n"
        "S-P2,WEEK 12,84,CRP,4,mg/L,\n"
        "S-P3,SCREENING,-7,CRP,50,mg/L,Y\n"
        "S-P3,BASELINE,0,CRP,45,mg/L,\n"
        "S-P3,WEEK 12,84,CRP,6,mg/L,\n"
    )
    table = read_clinical(path).measurements
    baseline = table[table["visit"] == "baseline"].set_index("patient_id")["value"]
    assert baseline.to_dict() == {"S-P1": 25.0, "S-P2": 40.0, "S-P3": 50.0}
    visits = set(zip(table["patient_id"], table["visit"], strict=True))
    assert ("S-P1", "screening") in visits and ("S-P3", "baseline_unflagged") in visits
    assert not table.duplicated(["patient_id", "measure", "visit"]).any()


def test_samples_sheet_keeps_the_report_columns_under_their_usual_names(tmp_path: Path):
    """MRN, DOB, 'Ordering clinician', 'Specimen ID', 'Collection date', 'Assay' as labs write
    them reach the table under one name each, as written."""
    path = tmp_path / "samples.csv"
    path.write_text(
        "patient_id,sample_id,tissue,MRN,DOB,Sex,Ordering clinician,Specimen ID,"
        "Collection date,Received,Assay,Diagnosis code\n"
        "P1,P1-b,blood,H-0042,2011-02-03,F,Dr A,S-9,2026-10-01,2026-10-02,amplicon,"
        "MONDO:0011776\n"
    )
    row = read_samples(path).table.iloc[0]
    assert (row["medical_record_number"], row["date_of_birth"], row["sex"]) == (
        "H-0042", "2011-02-03", "F")  # fmt: skip
    assert (row["ordering_clinician"], row["specimen_id"], row["collection_date"]) == (
        "Dr A", "S-9", "2026-10-01")  # fmt: skip
    assert (row["receipt_date"], row["assay"], row["diagnosis_code"]) == (
        "2026-10-02", "amplicon", "MONDO:0011776")  # fmt: skip
    assert row["tissue"] == "blood"
