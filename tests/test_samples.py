"""Patients, not just sites: genotype shapes, mosaicism, the sample's own codons, the patient
summary and many VCFs at once. VCFs are written by pysam; expected names come from ClinVar
(c.778_780delinsTGG is p.Arg260Trp, VariationID 1701129; c.778C>T alone p.Arg260Ter) and
the statistics from the binomial model stated in nlrp3annot.genotypes."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_FASTA
from scipy.stats import binomtest
from vcf_writer import write

import nlrp3annot
from nlrp3annot.runner.pipeline import annotate_file

FASTA = TEST_FASTA["GRCh38"]
C778, C780, C907, C1043 = 247424227, 247424229, 247424356, 247424492  # GRCh38
C592 = 247424041  # p.Val198Met, low penetrance


def rows_by(result, sample: str, pos: int) -> list[dict]:
    return [r for r in result.table if r["sample"] == sample and r["pos"] == pos]


def one(result, sample: str, pos: int, alt: str | None = None) -> dict:
    found = [r for r in rows_by(result, sample, pos) if alt is None or r["alt"] == alt]
    assert len(found) == 1, (sample, pos, found)
    return found[0]


def test_genotype_shapes(tmp_path: Path):
    samples = ["HET", "HOM", "MISS", "HAPLOID", "PHASED", "GTONLY", "REF"]
    records = [
        {
            "pos": C907,
            "ref": "G",
            "alts": ("A",),
            "calls": {
                "HET": {"GT": (0, 1), "AD": (20, 22), "DP": 42},
                "HOM": {"GT": (1, 1), "AD": (0, 38), "DP": 38},
                "MISS": {"GT": (None, None)},
                "HAPLOID": {"GT": (1,), "AD": (0, 30), "DP": 30},
                "PHASED": {"GT": (0, 1), "phased": True, "AD": (25, 25), "DP": 50},
                "GTONLY": {"GT": (0, 1)},
                "REF": {"GT": (0, 0), "AD": (40, 0), "DP": 40},
            },
        },
        # multi-allelic: 1/2 carries both ALTs; indices are remapped per ALT
        {
            "pos": C1043,
            "ref": "C",
            "alts": ("T", "A"),
            "filter": "LowQual",
            "calls": {
                "HET": {"GT": (1, 2), "AD": (0, 20, 21), "DP": 41},
                "HOM": {"GT": (0, 2), "AD": (22, 0, 20), "DP": 42},
            },
        },
        # gVCF reference block: ignored, counted
        {
            "pos": 247425000,
            "ref": "A",
            "alts": ("<NON_REF>",),
            "stop": 247425100,
            "calls": {
                "HET": {"GT": (0, 0), "MIN_DP": 30},
                "HOM": {"GT": (0, 0), "MIN_DP": 31},
            },
        },
    ]
    vcf = write(tmp_path / "shapes.vcf.gz", samples, records)
    result = annotate_file(vcf, fasta=FASTA)
    zyg = {(r["sample"], r["pos"], r["alt"]): r["zygosity"] for r in result.table}
    assert zyg[("HET", C907, "A")] == "het"
    assert zyg[("HOM", C907, "A")] == "hom_alt"
    assert zyg[("MISS", C907, "A")] == "missing"
    assert zyg[("HAPLOID", C907, "A")] == "hemi"
    assert zyg[("PHASED", C907, "A")] == "het"
    assert zyg[("GTONLY", C907, "A")] == "het"
    assert ("REF", C907, "A") not in zyg  # carries nothing: no row, but in the summary
    assert zyg[("HET", C1043, "T")] == "het" and zyg[("HET", C1043, "A")] == "het"
    assert zyg[("HOM", C1043, "A")] == "het" and ("HOM", C1043, "T") not in zyg
    lowqual = one(result, "HET", C1043, "T")
    assert lowqual["filter"] == "LowQual" and lowqual["hgvs_p"].endswith("p.Thr348Met")
    assert one(result, "PHASED", C907)["gt"] == "0|1"
    assert one(result, "GTONLY", C907)["vaf"] == ""
    assert result.summary["gvcf_reference_blocks"] == 1
    assert [s.reason for s in result.skipped] == ["gVCF reference block allele <NON_REF>"]
    assert [p["sample"] for p in result.patients] == samples


R260_CASES = {
    # name: (778 call, 780 call, expected hgvs_p_sample of the c.778 row, phase)
    "780 homozygous": ({"GT": (0, 1)}, {"GT": (1, 1)}, "p.Arg260Trp", "cis"),
    "phased cis": (
        {"GT": (0, 1), "phased": True},
        {"GT": (0, 1), "phased": True},
        "p.Arg260Trp",
        "cis",
    ),
    "phased trans": (
        {"GT": (0, 1), "phased": True},
        {"GT": (1, 0), "phased": True},
        "p.Arg260Ter",
        "trans",
    ),
    "unphased hets": ({"GT": (0, 1)}, {"GT": (0, 1)}, "p.Arg260Trp", "phase_unknown"),
}


@pytest.mark.parametrize("order", ["778 first", "780 first"])
@pytest.mark.parametrize("case", list(R260_CASES))
def test_r260w_uses_the_samples_own_codon(tmp_path: Path, case: str, order: str):
    c778, c780, expected, phase = R260_CASES[case]
    recs = [
        {"pos": C778, "ref": "C", "alts": ("T",), "calls": {"P1": c778}},
        {"pos": C780, "ref": "A", "alts": ("G",), "calls": {"P1": c780}},
    ]
    if order == "780 first":
        recs.reverse()  # an unsorted VCF (plain text, streamed): order must not matter
    vcf = write(tmp_path / "r260.vcf", ["P1"], recs)
    result = annotate_file(vcf, fasta=FASTA)
    row = one(result, "P1", C778)
    assert row["hgvs_p"] == "NP_001230062.1:p.Arg260Ter"  # reference context, as ClinVar
    assert row["hgvs_p_sample"] == f"NP_001230062.1:{expected}"
    assert row["phase"] == phase
    if phase == "phase_unknown":
        assert row["hgvs_p_sample_alt"] == "NP_001230062.1:p.Arg260Ter"
    if expected == "p.Arg260Trp":
        assert row["hgvs_c_sample"] == "NM_001243133.2:c.[778C>T;780A>G]"
        assert row["clinvar_id_sample"] == "1701129"  # ClinVar c.778_780delinsTGG
    (patient,) = result.patients
    assert patient["status"] == "positive_germline"


def test_mosaic_calls_and_confidence_interval(tmp_path: Path):
    calls = {
        "MOSAIC": {"GT": (0, 1), "AD": (180, 20), "DP": 200},
        "LOWDEPTH": {"GT": (0, 1), "AD": (12, 1), "DP": 13},
        "GERMLINE": {"GT": (0, 1), "AD": (50, 48), "DP": 98},
        "CALLED_REF": {"GT": (0, 0), "AD": (180, 20), "DP": 200},
    }
    vcf = write(
        tmp_path / "mosaic.vcf",
        list(calls),
        [{"pos": C907, "ref": "G", "alts": ("A",), "calls": calls}],
    )
    result = annotate_file(vcf, fasta=FASTA)
    mosaic = one(result, "MOSAIC", C907)
    assert mosaic["zygosity"] == "mosaic" and float(mosaic["vaf"]) == pytest.approx(0.10)
    ci = binomtest(20, 200).proportion_ci(method="exact")
    assert float(mosaic["vaf_ci_low"]) == pytest.approx(ci.low, rel=1e-3)
    assert float(mosaic["vaf_ci_high"]) == pytest.approx(ci.high, rel=1e-3)
    assert one(result, "GERMLINE", C907)["zygosity"] == "het"
    assert one(result, "CALLED_REF", C907)["zygosity"] == "mosaic"
    status = {p["sample"]: p["status"] for p in result.patients}
    assert status == {
        "MOSAIC": "positive_mosaic",
        "LOWDEPTH": "not_assessable",
        "GERMLINE": "positive_germline",
        "CALLED_REF": "positive_mosaic",
    }


def test_gatk_and_mutect2_vcfs_give_the_patient_summary(tmp_path: Path):
    gatk = write(
        tmp_path / "gatk.vcf",
        ["P01", "P02"],
        [
            {
                "pos": C907,
                "ref": "G",
                "alts": ("A",),
                "calls": {
                    "P01": {"GT": (0, 1), "AD": (31, 29), "DP": 60, "GQ": 99, "PL": (900, 0, 950)},
                    "P02": {"GT": (0, 0), "AD": (45, 0), "DP": 45, "GQ": 99, "PL": (0, 120, 1800)},
                },
            },
            {
                "pos": C592,
                "ref": "G",
                "alts": ("A",),
                "calls": {
                    "P01": {"GT": (0, 0), "AD": (40, 0), "DP": 40, "GQ": 99, "PL": (0, 110, 1500)},
                    "P02": {"GT": (0, 1), "AD": (20, 21), "DP": 41, "GQ": 99, "PL": (600, 0, 640)},
                },
            },
        ],
    )
    mutect = write(
        tmp_path / "mutect2.vcf",
        ["NOMID07", "NOMID08"],
        [
            {
                "pos": C1043,
                "ref": "C",
                "alts": ("T",),
                "calls": {
                    "NOMID07": {"GT": (0, 1), "AD": (230, 20), "AF": (0.08,), "DP": 250},
                    "NOMID08": {"GT": (0, 1), "AF": (0.06,), "DP": 300},  # AF only, no AD
                },
            },
        ],
    )
    result = nlrp3annot.annotate_vcfs([gatk, mutect], fasta=FASTA)
    patients = {p["sample"]: p for p in result.attrs["patients"]}
    assert patients["P01"]["status"] == "positive_germline"
    assert patients["P01"]["hgvs_p_sample"] == "NP_001230062.1:p.Asp303Asn"
    assert patients["P02"]["status"] == "vus_only"  # p.Val198Met: low penetrance
    assert patients["P02"]["penetrance"] == "low"
    assert patients["NOMID07"]["status"] == "positive_mosaic"
    assert float(patients["NOMID07"]["vaf"]) == pytest.approx(0.08)
    assert patients["NOMID08"]["status"] == "positive_mosaic"  # from AF x DP = 18 of 300
    assert float(patients["NOMID08"]["vaf"]) == pytest.approx(0.06)


def test_sample_without_variants_is_negative_or_not_assessable(tmp_path: Path):
    vcf = write(
        tmp_path / "cover.vcf.gz",
        ["DEEP", "SHALLOW", "NOTHING"],
        [
            {
                "pos": C907 - 10,
                "ref": "A",
                "alts": ("<NON_REF>",),
                "stop": C907 + 10,
                "calls": {
                    "DEEP": {"GT": (0, 0), "MIN_DP": 60},
                    "SHALLOW": {"GT": (0, 0), "MIN_DP": 6},
                },
            },
        ],
    )
    result = annotate_file(vcf, fasta=FASTA)
    status = {p["sample"]: (p["status"], p["note"]) for p in result.patients}
    assert status["DEEP"][0] == "negative"
    assert status["SHALLOW"][0] == "not_assessable" and "depth 6 < 20" in status["SHALLOW"][1]
    # no call at all in the locus: not genotyped, so not negative
    assert status["NOTHING"] == ("not_assessable", "no calls in the NLRP3 locus")


def test_many_vcfs_one_failing(tmp_path: Path):
    write(
        tmp_path / "good.vcf",
        ["A1"],
        [{"pos": C907, "ref": "G", "alts": ("A",), "calls": {"A1": {"GT": (0, 1)}}}],
    )
    write(tmp_path / "other.vcf", ["B1"], [])
    broken = tmp_path / "broken.vcf"
    broken.write_text("not a vcf\n")
    listing = tmp_path / "files.txt"
    listing.write_text("good.vcf\nbroken.vcf\n# a comment\nother.vcf\n")
    out, patients = tmp_path / "all.tsv", tmp_path / "patients.tsv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlrp3annot",
            "annotate",
            "--list",
            str(listing),
            "--fasta",
            str(FASTA),
            "-o",
            str(out),
            "--patients",
            str(patients),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "broken.vcf: not a VCF" in proc.stderr and "1 of 3 files failed" in proc.stderr
    with patients.open() as handle:
        summary = {r["sample"]: r for r in csv.DictReader(handle, delimiter="\t")}
    assert set(summary) == {"A1", "B1"}
    assert summary["A1"]["status"] == "positive_germline"
    assert summary["B1"]["status"] == "not_assessable"  # its VCF has no record at all
    assert summary["B1"]["note"] == "no calls in the NLRP3 locus"
    with out.open() as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    assert [(r["sample"], r["hgvs_p_sample"]) for r in table] == [
        ("A1", "NP_001230062.1:p.Asp303Asn")
    ]
    assert table[0]["file"].endswith("good.vcf")


def test_doubtful_evidence_never_makes_a_patient_positive(tmp_path: Path):
    """c.907G>A (p.Asp303Asn, pathogenic) called three doubtful ways, and once soundly:
    a REF that is not the reference base, a FILTER-failed call, and a 0/1 genotype without
    a single ALT read (MuTect1 style). Each is reported in the table but leaves its patient
    not_assessable with the reason in the note."""
    vcf = write(
        tmp_path / "doubt.vcf",
        ["GOOD", "NOREADS"],
        [
            {
                "pos": C907,
                "ref": "G",
                "alts": ("A",),
                "calls": {
                    "GOOD": {"GT": (0, 1), "AD": (20, 22), "DP": 42},
                    "NOREADS": {"GT": (0, 1), "AD": (42, 0), "DP": 42},
                },
            },
        ],
    )
    failed = write(
        tmp_path / "failed.vcf",
        ["FILTERED"],
        [
            {
                "pos": C907,
                "ref": "G",
                "alts": ("A",),
                "filter": "LowQual",
                "calls": {"FILTERED": {"GT": (0, 1), "AD": (20, 22), "DP": 42}},
            }
        ],
    )
    wrong_ref = write(
        tmp_path / "wrong_ref.vcf",
        ["WRONGREF"],
        [
            {
                "pos": C907,
                "ref": "C",  # the reference base at c.907 is G
                "alts": ("A",),
                "calls": {"WRONGREF": {"GT": (0, 1), "AD": (20, 22), "DP": 42}},
            }
        ],
    )
    result = nlrp3annot.annotate_vcfs([vcf, failed, wrong_ref], fasta=FASTA)
    patients = {(Path(p["file"]).name, p["sample"]): p for p in result.attrs["patients"]}
    assert patients[("doubt.vcf", "GOOD")]["status"] == "positive_germline"
    noreads = patients[("doubt.vcf", "NOREADS")]
    assert noreads["status"] == "not_assessable" and "no ALT reads" in noreads["note"]
    filtered = patients[("failed.vcf", "FILTERED")]
    assert filtered["status"] == "not_assessable" and "LowQual" in filtered["note"]
    wrong = patients[("wrong_ref.vcf", "WRONGREF")]
    assert wrong["status"] == "not_assessable" and "differs from the reference" in wrong["note"]
    table = result[result["sample"].isin(["NOREADS", "FILTERED", "WRONGREF"])]
    assert len(table) == 3  # still reported, row by row


def test_a_change_classed_by_another_changes_protein_says_so(tmp_path: Path):
    """c.1218G>T is not in ClinVar; its protein change p.Met406Ile is ClinVar's c.1218G>A
    (pathogenic). The patient is positive on that ground, and the note says it (the
    ClinVar name and class from the bundled ClinVar table, matched by hand)."""
    c1218 = 247424667
    vcf = write(
        tmp_path / "m406i.vcf.gz",
        ["P"],
        [
            {
                "pos": c1218,
                "ref": "G",
                "alts": ("T",),
                "calls": {"P": {"GT": (0, 1), "AD": (30, 28)}},
            }
        ],
    )
    result = annotate_file(vcf, fasta=FASTA)
    row = one(result, "P", c1218)
    assert row["hgvs_p"].endswith("p.Met406Ile")
    assert row["clinvar_match"] == "protein change of ClinVar's c.1218G>A"
    patient = result.patients[0]
    assert patient["status"] == "positive_germline"
    assert "c.1218G>T (p.Met406Ile) is not itself in ClinVar" in patient["note"]
    assert "as ClinVar's c.1218G>A" in patient["note"]
    # the very change ClinVar lists is matched as itself, with no such note
    same = write(
        tmp_path / "same.vcf.gz",
        ["Q"],
        [
            {
                "pos": c1218,
                "ref": "G",
                "alts": ("A",),
                "calls": {"Q": {"GT": (0, 1), "AD": (30, 28)}},
            }
        ],
    )
    again = annotate_file(same, fasta=FASTA)
    assert one(again, "Q", c1218)["clinvar_match"] == "variant"
    assert "not itself in ClinVar" not in again.patients[0]["note"]
