"""The findings inside the VCF output, read back by bcftools (htslib), not by our code.

Expected values come from elsewhere: ClinVar (VariationID 4374 is c.778C>T, rs121908150;
with c.780G the protein change is p.Arg260Trp, ClinVar's name of VariationID 1701129), the
input records' own GT and AD fields read by pysam, VCF 4.3's percent-encoding rule, and
bcftools norm splitting Number=A fields per allele."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

import nlrp3annot
from nlrp3annot.cli import main
from nlrp3annot.io.vcf_findings import encode
from tests import vcf_writer

DEMO = Path(nlrp3annot.__file__).parent / "demo"
DEMO_FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
R260_POS = 247_424_227  # c.778 on GRCh38 (the test locus keeps the real coordinates)

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools")

QUERY = (
    "%POS\t%REF\t%ALT\t%NLRP3_CLNID\t%NLRP3_CLNSIG"
    "[\t%SAMPLE=%GT|%NLRP3_HGVSP|%NLRP3_ZYG|%NLRP3_VAF|%NLRP3_VAF_LO|%NLRP3_VAF_HI"
    "|%NLRP3_CLNSIG|%NLRP3_STATUS]\n"
)


def _annotate(vcf: Path, out: Path, *extra: str) -> Path:
    code = main(["annotate", str(vcf), "--fasta", str(DEMO_FASTA), "--format", "vcf",
                 "-o", str(out), "-q", *extra])  # fmt: skip
    assert code == 0
    return out


def _query(vcf: Path, fmt: str = QUERY) -> list[list[str]]:
    text = subprocess.run(
        ["bcftools", "query", "-f", fmt, str(vcf)], check=True, capture_output=True, text=True
    ).stdout
    return [line.split("\t") for line in text.splitlines()]


def _calls(row: list[str]) -> dict[str, list[str]]:
    calls = {}
    for cell in row[5:]:
        sample, _, values = cell.partition("=")
        calls[sample] = values.split("|")
    return calls


def test_a_germline_r260w_reads_back_as_the_patient_s_own_change(tmp_path: Path) -> None:
    out = _annotate(DEMO / "vcf" / "P01-blood.vcf.gz", tmp_path / "p01.vcf.gz")
    rows = {int(r[0]): r for r in _query(out)}
    row = rows[R260_POS]
    assert row[3].split(",")[0] == "4374"  # ClinVar's record of c.778C>T
    assert row[4].split(",")[0].startswith("Pathogenic")
    gt, own, zygosity, *_rest, status = _calls(row)["P01-blood"]
    assert gt == "0/1"
    # alone c.778C>T reads p.Arg260Ter; on the patient's c.780G haplotype it is R260W
    assert own.split(",")[0] == "p.Arg260Trp"
    assert zygosity.split(",")[0] == "het"  # one ALT copy of two
    assert status == "positive_germline"


def test_a_mosaic_call_carries_the_fraction_its_reads_give(tmp_path: Path) -> None:
    source = DEMO / "vcf" / "P11-blood.vcf.gz"
    out = _annotate(source, tmp_path / "p11.vcf.gz")
    with pysam.VariantFile(str(source)) as vin:
        carried = {
            rec.pos: rec.samples[0]["AD"]
            for rec in vin
            if any(a and a > 0 for a in rec.samples[0]["GT"])
        }
    found = 0
    for row in _query(out):
        pos = int(row[0])
        _, own, zygosity, vaf, low, high, _sig, status = _calls(row)["P11-blood"]
        if zygosity.split(",")[0] != "mosaic":
            continue
        found += 1
        ad = carried[pos]
        assert float(vaf.split(",")[0]) == pytest.approx(ad[1] / sum(ad), abs=1e-4)
        assert float(low.split(",")[0]) < float(vaf.split(",")[0]) < float(high.split(",")[0])
        assert own.startswith("p.")
        assert status == "positive_mosaic"
    assert found == 1


def test_the_header_names_the_version_and_the_command(tmp_path: Path) -> None:
    out = _annotate(DEMO / "vcf" / "P01-blood.vcf.gz", tmp_path / "p01.vcf.gz")
    header = subprocess.run(
        ["bcftools", "view", "-h", str(out)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    ours = [line for line in header if line.startswith("##nlrp3annot=")]
    assert len(ours) == 1
    assert f'Version="{nlrp3annot.__version__}"' in ours[0]
    assert "annotate" in ours[0] and "P01-blood.vcf.gz" in ours[0]


def test_annotating_our_own_output_again_does_not_repeat_fields(tmp_path: Path) -> None:
    first = _annotate(DEMO / "vcf" / "P01-blood.vcf.gz", tmp_path / "a.vcf.gz")
    second = _annotate(first, tmp_path / "b.vcf.gz")
    header = subprocess.run(
        ["bcftools", "view", "-h", str(second)], check=True, capture_output=True, text=True
    ).stdout
    assert header.count("##FORMAT=<ID=NLRP3_ZYG,") == 1
    assert header.count("##nlrp3annot=") == 1
    with pysam.VariantFile(str(second)) as vin:
        for rec in vin:
            keys = list(rec.format.keys())
            assert len(keys) == len(set(keys))
    assert _query(first) == _query(second)


def _values(found: tuple) -> tuple:
    """htslib's missing string in a vector ('.') as None, like a missing number."""
    return tuple(None if v in (None, ".") else v for v in found)


def test_number_a_values_follow_their_allele(tmp_path: Path) -> None:
    """A record with two ALTs at c.778 and three samples: htslib reads each Number=A value
    as belonging to its own allele. (bcftools 1.16's norm -m- does not split per-sample
    strings correctly, so the record is read by htslib through pysam instead.)"""
    vcf = vcf_writer.write(
        tmp_path / "multi.vcf",
        ["S_T", "S_G", "S_REF"],
        [
            {
                "pos": R260_POS,
                "ref": "C",
                "alts": ("T", "G"),
                "calls": {
                    "S_T": {"GT": (0, 1), "AD": (20, 18, 0), "DP": 38},
                    "S_G": {"GT": (0, 2), "AD": (21, 0, 19), "DP": 40},
                    "S_REF": {"GT": (0, 0), "AD": (40, 0, 0), "DP": 40},
                },
            }
        ],
    )
    out = _annotate(vcf, tmp_path / "multi.out.vcf.gz")
    with pysam.VariantFile(str(out)) as vin:
        (rec,) = list(vin)
        assert rec.alts == ("T", "G")
        zygosity = {s: _values(rec.samples[s]["NLRP3_ZYG"]) for s in ("S_T", "S_G", "S_REF")}
        own = _values(rec.samples["S_T"]["NLRP3_HGVSP"])
        vaf_g = rec.samples["S_G"]["NLRP3_VAF"]
        clinvar = rec.info["NLRP3_CLNID"]
    assert zygosity["S_T"] == ("het", None)  # carries T only: one ALT copy of two
    assert zygosity["S_G"] == (None, "het")
    assert zygosity["S_REF"] == (None, None)
    # the T allele alone (c.780 is the reference's A here) is ClinVar's p.Arg260Ter
    assert own == ("p.Arg260Ter", None)
    assert vaf_g[0] is None and vaf_g[1] == pytest.approx(19 / 40, abs=1e-4)
    assert clinvar[0] == "4374"


def test_csq_still_reads_through_split_vep(tmp_path: Path) -> None:
    out = _annotate(DEMO / "vcf" / "P01-blood.vcf.gz", tmp_path / "p01.vcf.gz")
    text = subprocess.run(
        ["bcftools", "+split-vep", "-f", "%POS\t%HGVSp\t%NLRP3_CLNID\n", "-d", str(out)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert text.splitlines()[0].startswith(f"{R260_POS}\tNP_001230062.1:p.Arg260Ter\t4374")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("criteria provided, multiple submitters", "criteria_provided%2C_multiple_submitters"),
        ("a:b;c=d%", "a%3Ab%3Bc%3Dd%25"),
        ("", "."),
        (None, "."),
    ],
)
def test_values_are_encoded_as_vcf_4_3_says(value: object, written: str) -> None:
    assert encode(value) == written
