"""A patient's status from several samples is tissue-aware: a negative needs an assessable
blood/myeloid sample or every sample assessable (issue 17). Expected values are the rule as
the issue writes it, not the code's output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nlrp3annot.patients.tissues import (
    SampleStatus,
    describe_samples,
    is_blood_or_myeloid,
    patient_status,
)
from nlrp3annot.response.tables.clinical import read_samples
from nlrp3annot.response.tables.cohort import join

LIMIT_NOTE = (
    "scan: limit of detection 6.2% at the known pathogenic alleles, above 5.0%: a smaller "
    "mosaic could be missed (deeper sequencing needed); 600 reads"
)


def _status(*samples: tuple[str, str, str]) -> str:
    return patient_status([SampleStatus(s, t, st) for s, t, st in samples]).status


@pytest.mark.parametrize(
    "samples, expected",
    [
        # blood not assessable, buccal negative: the buccal negative excludes nothing
        ((("B", "blood", "not_assessable"), ("M", "buccal", "negative")), "not_assessable"),
        # blood negative, buccal not assessable: (a) an assessable blood negative decides
        ((("B", "blood", "negative"), ("M", "buccal", "not_assessable")), "negative"),
        # buccal and skin negative, no blood: negatives from non-blood tissues alone exclude
        # no myeloid mosaic (issue 26; before, every sample assessable made it negative)
        ((("M", "buccal", "negative"), ("K", "skin", "negative")), "not_assessable"),
        ((("M", "buccal", "negative"),), "not_assessable"),
        ((("S", "Saliva", "negative"),), "not_assessable"),
        ((("F", "skin fibroblasts", "negative"),), "not_assessable"),
        ((("H", "hair follicles", "negative"),), "not_assessable"),
        ((("T", "T cells", "negative"),), "not_assessable"),  # lymphoid, not myeloid
        # a negative without a tissue may be blood: a single sample decides alone, as before
        ((("S", "", "negative"),), "negative"),
        ((("S", "", "negative"), ("M", "buccal", "negative")), "negative"),
        # blood beside buccal, both negative: (a)
        ((("B", "blood", "negative"), ("M", "buccal", "negative")), "negative"),
        ((("M", "buccal", "not_assessable"),), "not_assessable"),
        # a clone in one tissue counts, whatever the blood shows
        ((("B", "blood", "not_assessable"), ("M", "buccal", "positive_mosaic")), "positive_mosaic"),
        ((("B", "blood", "negative"), ("M", "buccal", "positive_germline")), "positive_germline"),
        # several samples without tissues: (b) applies
        ((("S1", "", "negative"), ("S2", "", "negative")), "negative"),
        ((("S1", "", "negative"), ("S2", "", "not_assessable")), "not_assessable"),
        # a sample without tissue is not blood: (a) cannot apply
        ((("S1", "", "negative"), ("B", "blood", "not_assessable")), "not_assessable"),
        # a myeloid fraction counts as blood
        ((("G", "Granulocytes", "negative"), ("B", "blood", "not_assessable")), "negative"),
        # a lymphoid fraction does not
        ((("T", "T cells", "negative"), ("B", "blood", "not_assessable")), "not_assessable"),
        # a blood sample the sheet lists but the genotypes lack is not assessable
        ((("M", "buccal", "negative"), ("B", "blood", "")), "not_assessable"),
        ((("B", "blood", "negative"), ("M", "buccal", "")), "negative"),
    ],
)
def test_the_rule(samples, expected):
    assert _status(*samples) == expected


@pytest.mark.parametrize(
    "tissue",
    ["blood", "Whole blood", "peripheral-blood", "PBMC", "PBMCs", "granulocytes", "neutrophils",
     "Monocytes", "myeloid cells", "bone marrow", "Blood DNA", "EDTA blood"],
)  # fmt: skip
def test_blood_and_myeloid_names(tissue):
    assert is_blood_or_myeloid(tissue)


@pytest.mark.parametrize("tissue", ["", "buccal", "saliva", "skin fibroblasts", "T cells", "hair"])
def test_other_tissues_are_not_blood(tissue):
    assert not is_blood_or_myeloid(tissue)


def test_the_note_names_the_tissues_and_why():
    decided = patient_status(
        [
            SampleStatus("P1-blood", "blood", "not_assessable", LIMIT_NOTE),
            SampleStatus("P1-buccal", "buccal", "negative"),
        ]
    )
    assert decided.status == "not_assessable"
    assert decided.best is not None and decided.best.sample == "P1-blood"
    assert decided.reason.startswith("negative in buccal (P1-buccal); blood (P1-blood) not ")
    assert "limit of detection 6.2%" in decided.reason and "600 reads" not in decided.reason
    assert "NOMID mosaicism is often highest in myeloid cells" in decided.reason
    assert "a negative needs an assessable blood/myeloid sample or every sample assessable" in (
        decided.reason
    )
    single = patient_status([SampleStatus("S", "", "negative")])
    assert single == patient_status([SampleStatus("S", "", "negative")]) and single.reason == ""


def test_a_non_blood_negative_says_why_and_the_plan_may_count_it():
    """The reason names the tissues and the myeloid mosaic; with the plan's key the patient
    is negative, and the note still says it came from buccal cells only."""
    buccal = [SampleStatus("P5-buccal", "buccal", "negative")]
    decided = patient_status(buccal)
    assert decided.status == "not_assessable" and decided.best == buccal[0]
    assert decided.reason.startswith("negative in buccal (P5-buccal) only, no blood or myeloid")
    assert "NOMID mosaicism is often highest in myeloid cells" in decided.reason
    counted = patient_status(buccal, count_non_blood=True)
    assert counted.status == "negative"
    assert "negative in buccal (P5-buccal) only" in counted.reason
    assert 'non_blood_negative = "negative"' in counted.reason
    blood = [SampleStatus("B", "blood", "negative")]  # the key changes nothing else
    assert patient_status(blood, count_non_blood=True) == patient_status(blood)


def test_describe_samples():
    text = describe_samples(
        [
            SampleStatus("S1", "blood", "not_assessable"),
            SampleStatus("S2", "", "negative"),
            SampleStatus("S3", "skin", ""),
        ]
    )
    assert (
        text
        == "S1 (blood): not_assessable; S2 (tissue not given): negative; S3 (skin): not genotyped"
    )


def _measured(*patients: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"patient_id": p, "visit": "baseline", "day": 0, "measure": "saa", "value": 5.0,
             "unit": "mg/L", "censored": ""}
            for p in patients
        ]
    )  # fmt: skip


def _genotypes(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"file": "a.vcf", "sample": s, "status": st, "note": n} for s, st, n in rows]
    )


def test_join_uses_the_tissues_and_shows_the_samples(tmp_path: Path):
    """Through the samples sheet as a user writes it: P1 (blood not assessable, buccal
    negative) and P3 (buccal and skin negative, no blood) are not_assessable and out of the
    comparison; P2 (blood negative, buccal not assessable) is mutation_negative; P4 (blood
    not assessable, buccal mosaic) is mutation_positive; P5 (blood and buccal negative) is
    negative in every sample."""
    sheet = tmp_path / "samples.csv"
    sheet.write_text(
        "patient_id,sample_id,tissue\n"
        "P1,P1-blood,Blood\nP1,P1-buccal,buccal\n"
        "P2,P2-blood,blood\nP2,P2-buccal,buccal\n"
        "P3,P3-buccal,buccal\nP3,P3-skin,skin\n"
        "P4,P4-blood,blood\nP4,P4-buccal,buccal\n"
        "P5,P5-blood,blood\nP5,P5-buccal,buccal\n"
    )
    genotypes = _genotypes(
        ("P1-blood", "not_assessable", LIMIT_NOTE),
        ("P1-buccal", "negative", ""),
        ("P2-blood", "negative", ""),
        ("P2-buccal", "not_assessable", "no calls in the NLRP3 locus"),
        ("P3-buccal", "negative", ""),
        ("P3-skin", "negative", ""),
        ("P4-blood", "not_assessable", LIMIT_NOTE),
        ("P4-buccal", "positive_mosaic", ""),
        ("P5-blood", "negative", ""),
        ("P5-buccal", "negative", ""),
    )
    cohort = join(genotypes, read_samples(sheet).table, _measured("P1", "P2", "P3", "P4", "P5"))
    table = cohort.accounting.set_index("patient_id")
    assert table["status"].to_dict() == {
        "P1": "not_assessable",
        "P2": "negative",
        "P3": "not_assessable",
        "P4": "positive_mosaic",
        "P5": "negative",
    }
    assert table["group"].to_dict() == {
        "P1": "not_assessable",
        "P2": "mutation_negative",
        "P3": "not_assessable",
        "P4": "mutation_positive",
        "P5": "mutation_negative",
    }
    assert not table.loc["P1", "in_comparison"] and table.loc["P2", "in_comparison"]
    assert table.loc["P1", "deciding_samples"] == (
        "P1-blood (Blood): not_assessable; P1-buccal (buccal): negative"
    )
    assert (
        "Blood (P1-blood) not assessable (scan: limit of detection 6.2%"
        in (table.loc["P1", "note"])
    )
    assert "blood/myeloid sample or every sample assessable" in table.loc["P1", "note"]
    assert (
        "buccal (P2-buccal) not assessable (no calls in the NLRP3 locus)"
        in (table.loc["P2", "note"])
    )
    assert not table.loc["P3", "in_comparison"]
    assert table.loc["P3", "note"].startswith(
        "negative in buccal (P3-buccal), skin (P3-skin) only, no blood or myeloid sample"
    )
    assert table.loc["P5", "note"].startswith("negative in every sample")


@pytest.mark.parametrize("column", ["sample_type", "Sample type", "source"])
def test_the_tissue_column_may_be_named_sample_type_or_source(tmp_path: Path, column: str):
    sheet = tmp_path / "samples.csv"
    sheet.write_text(f"patient_id,sample_id,{column}\nP1,P1-blood,blood\nP1,P1-buccal,buccal\n")
    table = read_samples(sheet).table
    assert table["tissue"].tolist() == ["blood", "buccal"]
    genotypes = _genotypes(("P1-blood", "negative", ""), ("P1-buccal", "not_assessable", ""))
    cohort = join(genotypes, table, _measured("P1"))
    assert cohort.accounting.loc[0, "status"] == "negative"  # (a): blood negative


def test_a_sheet_without_tissues_still_works(tmp_path: Path):
    """No tissue column: a single sample decides as before (P1 negative, P2 not assessable);
    several samples need every one assessable (P3 not, P4 yes). The same through a table
    built without a tissue column at all (the Python API)."""
    sheet = tmp_path / "samples.csv"
    sheet.write_text("patient_id,sample_id\nP1,S1\nP2,S2\nP3,S3a\nP3,S3b\nP4,S4a\nP4,S4b\n")
    genotypes = _genotypes(
        ("S1", "negative", ""),
        ("S2", "not_assessable", "no calls in the NLRP3 locus"),
        ("S3a", "negative", ""),
        ("S3b", "not_assessable", "depth 4 < 20 at pathogenic position 247"),
        ("S4a", "negative", ""),
        ("S4b", "negative", ""),
    )
    expected = {"P1": "negative", "P2": "not_assessable", "P3": "not_assessable",
                "P4": "negative"}  # fmt: skip
    measured = _measured(*expected)
    read = read_samples(sheet).table
    bare = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P3", "P4", "P4"],
                         "sample_id": ["S1", "S2", "S3a", "S3b", "S4a", "S4b"]})  # fmt: skip
    for table in (read, bare):
        accounting = join(genotypes, table, measured).accounting.set_index("patient_id")
        assert accounting["status"].to_dict() == expected
        assert accounting.loc["P1", "note"] == ""  # one sample: nothing to explain, as before
        assert "NOMID" not in accounting.loc["P2", "note"]
        assert accounting.loc["P3", "deciding_samples"] == (
            "S3a (tissue not given): negative; S3b (tissue not given): not_assessable"
        )
        assert "negative in S3a; S3b not assessable (depth 4 < 20" in accounting.loc["P3", "note"]


def test_the_plan_s_key_makes_a_non_blood_negative_a_compared_negative(tmp_path: Path):
    """count_non_blood (the plan's non_blood_negative = "negative"): P1, negative in buccal
    and skin only, joins mutation_negative with the note saying so; P2 (blood not
    assessable, buccal negative) stays not assessable: the key is about non-blood negatives
    only, not about a blood sample that could not be assessed."""
    sheet = tmp_path / "samples.csv"
    sheet.write_text(
        "patient_id,sample_id,tissue\nP1,P1-buccal,buccal\nP1,P1-skin,skin\n"
        "P2,P2-blood,blood\nP2,P2-buccal,buccal\n"
    )
    genotypes = _genotypes(
        ("P1-buccal", "negative", ""),
        ("P1-skin", "negative", ""),
        ("P2-blood", "not_assessable", LIMIT_NOTE),
        ("P2-buccal", "negative", ""),
    )
    table = read_samples(sheet).table
    default = join(genotypes, table, _measured("P1", "P2")).accounting.set_index("patient_id")
    counted = join(genotypes, table, _measured("P1", "P2"), count_non_blood=True)
    accounting = counted.accounting.set_index("patient_id")
    assert default["group"].to_dict() == {"P1": "not_assessable", "P2": "not_assessable"}
    assert accounting["group"].to_dict() == {"P1": "mutation_negative", "P2": "not_assessable"}
    assert "counted as negative by the analysis plan" in accounting.loc["P1", "note"]
    assert accounting.loc["P1", "in_comparison"]
