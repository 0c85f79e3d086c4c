"""The findings inside the VCF output, read back by bcftools (htslib), not by our code.

Expected values come from elsewhere: ClinVar (VariationID 4374 is c.778C>T, rs121908150;
with c.780G the protein change is p.Arg260Trp, ClinVar's name of VariationID 1701129), the
input records' own GT and AD fields read by pysam, VCF 4.3's percent-encoding rule, and
bcftools norm splitting Number=A fields per allele."""

from __future__ import annotations

import csv
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

import nlrp3annot
from nlrp3annot.cli import main
from nlrp3annot.io.vcf_findings import alleles_making_the_change, encode, is_benign
from nlrp3annot.knowledge.lookup import common_alleles_at_minor_sites
from tests import vcf_writer

DEMO = Path(nlrp3annot.__file__).parent / "demo"
DEMO_FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
DATA = Path(__file__).parent / "data"
CLINVAR = Path(nlrp3annot.__file__).parent.parent / "reference" / "clinvar_NLRP3.tsv"
R260_POS = 247_424_227  # c.778 on GRCh38 (the test locus keeps the real coordinates)

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools")

QUERY = (
    "%POS\t%REF\t%ALT\t%NLRP3_CLNID\t%NLRP3_CLNSIG"
    "[\t%SAMPLE=%GT|%NLRP3_HGVSP|%NLRP3_ZYG|%NLRP3_VAF|%NLRP3_VAF_LO|%NLRP3_VAF_HI"
    "|%NLRP3_CLNSIG|%NLRP3_STATUS]\n"
)


def _annotate(vcf: Path, out: Path, *extra: str, fasta: Path = DEMO_FASTA) -> Path:
    code = main(["annotate", str(vcf), "--fasta", str(fasta), "--format", "vcf",
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


def _clinvar(hgvs_c: str | None = None, hgvs_p: str | None = None) -> dict[str, str]:
    """ClinVar's row of the bundled table, read here with csv, not by the tool's loader."""
    lines = [line for line in CLINVAR.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    (row,) = [r for r in rows if r["hgvs_c"] == hgvs_c or r["hgvs_p"] == hgvs_p]
    return row


def _vcf_text(value: str) -> str:
    """VCF 4.3's string rule by hand: spaces as _, '=' and ',' percent-encoded."""
    return value.replace(" ", "_").replace("=", "%3D").replace(",", "%2C")


@pytest.mark.parametrize(
    ("build", "location", "length"),
    [("GRCh38", "grch38_location", 248_956_422), ("GRCh37", "grch37_location", 249_250_621)],
)
def test_the_pathogenic_finding_sits_on_the_record_that_makes_it(
    tmp_path: Path, build: str, location: str, length: int
) -> None:
    """c.[778C>T;780A>G] (R260W): c.778 het, the common c.780G homozygous. The c.778 record
    carries p.Arg260Trp and its class; the c.780 record its own (ClinVar 403243: p.Arg260=,
    Benign/Likely benign) with hom_alt, so no filter sees a homozygous pathogenic allele. A
    no-call sample and a reference sample carry nothing: '.' everywhere (ZYG: missing)."""
    c778, c780 = _clinvar(hgvs_c="c.778C>T"), _clinvar(hgvs_c="c.780A>G")
    # the codon the patient has: c.778T and c.780G on CGA make TGG, Trp; ClinVar's own
    # record of that codon change is c.778_780delinsTGG
    trp = _clinvar(hgvs_p="p.Arg260Trp")
    assert trp["hgvs_c"] == "c.778_780delinsTGG"
    pos778, pos780 = int(c778[location]), int(c780[location])
    vcf = vcf_writer.write(
        tmp_path / f"r260w_{build}.vcf",
        ["CARRIER", "NOCALL", "REF"],
        [
            {"pos": pos778, "ref": "C", "alts": ("T",), "calls": {
                "CARRIER": {"GT": (0, 1), "AD": (20, 18), "DP": 38},
                "NOCALL": {"GT": (None, None)},
                "REF": {"GT": (0, 0), "AD": (30, 0), "DP": 30}}},
            {"pos": pos780, "ref": "A", "alts": ("G",), "calls": {
                "CARRIER": {"GT": (1, 1), "AD": (0, 40), "DP": 40},
                "NOCALL": {"GT": (None, None)},
                "REF": {"GT": (0, 0), "AD": (30, 0), "DP": 30}}},
        ],
        build_length=length,
    )  # fmt: skip
    fasta = DATA / f"TEST_LOCUS_{build}_not_real_genome.fa.gz"
    patients_tsv = tmp_path / "patients.tsv"
    out = _annotate(vcf, tmp_path / "out.vcf.gz", "--patients", str(patients_tsv), fasta=fasta)
    view = subprocess.run(["bcftools", "view", str(out)], capture_output=True, text=True)
    assert view.returncode == 0 and view.stderr == ""
    rows = {int(r[0]): r for r in _query(out)}
    assert set(rows) == {pos778, pos780}
    made, completed = _calls(rows[pos778]), _calls(rows[pos780])

    _gt, own, zygosity, *_fraction, significance, _status = made["CARRIER"]
    assert (own, zygosity) == ("p.Arg260Trp", "het")
    assert significance == _vcf_text(trp["significance"])
    assert significance.startswith("Pathogenic")

    _gt, own, zygosity, *_fraction, significance, _status = completed["CARRIER"]
    assert own == _vcf_text(c780["hgvs_p"])  # p.Arg260%3D: CGA -> CGG is Arg -> Arg
    assert zygosity == "hom_alt"
    assert significance == _vcf_text(c780["significance"])
    assert is_benign(c780["significance"])
    assert rows[pos780][4] == _vcf_text(c780["significance"])  # INFO agrees with FORMAT

    with patients_tsv.open() as handle:
        status = {r["sample"]: r["status"] for r in csv.DictReader(handle, delimiter="\t")}
    for calls in (made, completed):
        for sample in ("CARRIER", "NOCALL", "REF"):
            assert calls[sample][-1] == status[sample]  # Number=1: the patients table's status
        _gt, *per_allele, _status = calls["NOCALL"]
        assert per_allele == [".", "missing", ".", ".", ".", "."]
        _gt, *per_allele, _status = calls["REF"]
        assert per_allele == ["."] * 6


def test_a_no_call_says_missing_for_every_allele_of_its_record(tmp_path: Path) -> None:
    """A gVCF record C -> T,<NON_REF> read back by htslib: the no-call sample has no value of
    ours but ZYG, for both alleles; the carrier of T has values for T only."""
    vcf = vcf_writer.write(
        tmp_path / "gvcf.vcf",
        ["S_T", "NOCALL"],
        [{"pos": R260_POS, "ref": "C", "alts": ("T", "<NON_REF>"), "calls": {
            "S_T": {"GT": (0, 1), "AD": (20, 18, 0), "DP": 38},
            "NOCALL": {"GT": (None, None)}}}],
    )  # fmt: skip
    out = _annotate(vcf, tmp_path / "gvcf.out.vcf.gz")
    with pysam.VariantFile(str(out)) as vin:
        (rec,) = list(vin)
        missing = rec.samples["NOCALL"]
        carrier = rec.samples["S_T"]
        for key in ("NLRP3_HGVSP", "NLRP3_CLNSIG", "NLRP3_VAF", "NLRP3_VAF_LO", "NLRP3_VAF_HI"):
            assert _values(missing[key]) == (None, None), key
            assert _values(carrier[key])[1] is None, key
        assert missing["NLRP3_ZYG"] == ("missing", "missing")
        assert _values(carrier["NLRP3_ZYG"]) == ("het", None)


def test_the_change_is_made_by_the_allele_that_is_not_the_common_one() -> None:
    """R260W's c.[778C>T;780A>G]: c.780G is the common allele the reference lacks."""
    classes = {"c.778C>T": "Pathogenic/Likely pathogenic", "c.780A>G": "Benign/Likely benign"}
    listed = {"c.780A>G"}
    for order in (["c.778C>T", "c.780A>G"], ["c.780A>G", "c.778C>T"]):
        assert alleles_making_the_change(order, listed.__contains__, classes.get) == ["c.778C>T"]


@pytest.mark.parametrize(
    ("classes", "makers"),
    [
        # no listed site: the allele whose own class is not benign makes the change
        ({"a": "Uncertain significance", "b": "Likely benign"}, ["a"]),
        ({"a": "Benign", "b": ""}, ["b"]),  # not in ClinVar is not benign
        ({"a": "Pathogenic", "b": "Uncertain significance"}, ["a", "b"]),
        # all benign: no single allele to blame, so all of them
        ({"a": "Benign", "b": "Benign/Likely benign"}, ["a", "b"]),
    ],
)
def test_without_a_listed_site_the_class_decides(classes: dict, makers: list) -> None:
    assert alleles_making_the_change(list(classes), lambda a: False, classes.get) == makers


def test_two_listed_alleles_fall_back_to_their_classes() -> None:
    classes = {"a": "Benign", "b": "Pathogenic"}
    assert alleles_making_the_change(["a", "b"], lambda a: True, classes.get) == ["b"]


@pytest.mark.parametrize(
    ("significance", "benign"),
    [
        ("Benign", True),
        ("Likely benign", True),
        ("Benign/Likely_benign", True),
        ("Benign/Likely benign; other", True),
        ("Conflicting classifications of pathogenicity", False),
        ("Pathogenic/Likely pathogenic", False),
        ("Uncertain significance", False),
        ("", False),
        (None, False),
    ],
)
def test_benign_is_clinvar_s_benign_classes(significance: object, benign: bool) -> None:
    assert is_benign(significance) is benign


def test_the_common_allele_at_c780_is_placed_on_both_builds() -> None:
    """rs4925543 (c.780A>G) where ClinVar places it, on GRCh38 and GRCh37."""
    c780 = _clinvar(hgvs_c="c.780A>G")
    assert c780["dbsnp"] == "rs4925543"
    assert ("GRCh38", int(c780["grch38_location"]), "A", "G") in common_alleles_at_minor_sites()
    assert ("GRCh37", int(c780["grch37_location"]), "A", "G") in common_alleles_at_minor_sites()
    c778 = _clinvar(hgvs_c="c.778C>T")
    assert ("GRCh38", int(c778["grch38_location"]), "C", "T") not in (
        common_alleles_at_minor_sites()
    )


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


def test_annotating_our_own_output_again_replaces_csq_and_keeps_the_history(
    tmp_path: Path,
) -> None:
    """A key may appear once in INFO (VCF 4.3, 1.6.1): a second run replaces CSQ and our
    fields, and adds its own ##nlrp3annot line after the first, one line per command as
    bcftools writes its ##bcftools_viewCommand lines."""
    source = DEMO / "vcf" / "P01-blood.vcf.gz"
    first = _annotate(source, tmp_path / "a.vcf.gz")
    second = _annotate(first, tmp_path / "b.vcf.gz")
    view = subprocess.run(["bcftools", "view", str(second)], capture_output=True, text=True)
    assert view.returncode == 0 and view.stderr == ""
    header = [line for line in view.stdout.splitlines() if line.startswith("##")]
    assert sum(line.startswith("##INFO=<ID=CSQ,") for line in header) == 1
    assert sum(line.startswith("##FORMAT=<ID=NLRP3_ZYG,") for line in header) == 1
    history = [line for line in header if line.startswith("##nlrp3annot=")]
    assert len(history) == 2
    assert f"annotate {source} " in history[0] and f"-o {first} " in history[0]
    assert f"annotate {first} " in history[1] and f"-o {second} " in history[1]
    records = [line.split("\t") for line in gzip.decompress(second.read_bytes()).decode()
               .splitlines() if not line.startswith("#")]  # fmt: skip
    # every record is kept: the annotated ones and the gVCF blocks passed through unchanged
    annotated = [fields for fields in records if "CSQ=" in fields[7]]
    assert annotated and all(f[4] == "<NON_REF>" for f in records if f not in annotated)
    for fields in records:
        keys = [part.partition("=")[0] for part in fields[7].split(";")]
        assert keys.count("CSQ") == (1 if fields in annotated else 0), fields[7]
        assert len(keys) == len(set(keys)), fields[7]
        format_keys = fields[8].split(":")
        assert len(format_keys) == len(set(format_keys))
    # htslib through pysam, in a fresh process: our writer turns htslib's verbosity down
    read = (
        "import pysam, sys; "
        "print(*(len(r.info['CSQ']) for r in pysam.VariantFile(sys.argv[1]) if 'CSQ' in r.info))"
    )
    pysam_run = subprocess.run(
        [sys.executable, "-c", read, str(second)], capture_output=True, text=True
    )
    assert pysam_run.returncode == 0 and pysam_run.stderr == ""
    assert pysam_run.stdout.split() == ["1"] * len(annotated)  # one allele, one transcript
    assert _query(first) == _query(second)


def test_a_csq_from_another_tool_is_replaced_not_repeated(tmp_path: Path) -> None:
    """A VEP-annotated input: its CSQ definition and values give way to ours."""
    source = tmp_path / "vep.vcf"
    source.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: Allele|Consequence">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        f"chr1\t{R260_POS}\t.\tC\tT\t.\tPASS\tCSQ=T|stop_gained;DP=3\tGT\t0/1\n"
    )
    out = _annotate(source, tmp_path / "vep.out.vcf")
    text = out.read_text().splitlines()
    assert sum(line.startswith("##INFO=<ID=CSQ,") for line in text) == 1
    (record,) = [line.split("\t") for line in text if not line.startswith("#")]
    keys = [part.partition("=")[0] for part in record[7].split(";")]
    assert keys.count("CSQ") == 1 and "DP" in keys
    assert "CSQ=T|stop_gained;" not in record[7]


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
