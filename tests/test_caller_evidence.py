"""Evidence from a caller's VCF: a mosaic needs ALT reads above a stated noise floor (and at
least --min-alt-reads of them, on both strands where the VCF gives strands); a pathogenic
carrier seen at low depth is reported found, with confirmation recommended.

Real VCF files written here and read through the public API. Sites and classes come from
ClinVar (reference/clinvar_NLRP3.tsv); tail probabilities from scipy.stats; expected counts
and percentages by hand."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from conftest import TEST_FASTA
from scipy.stats import binom, fisher_exact

import nlrp3annot
from nlrp3annot.patients.binomial import fisher_exact as our_fisher
from nlrp3annot.patients.binomial import noise_p, sf

FASTA = TEST_FASTA["GRCh38"]
CLINVAR = Path(__file__).parent.parent / "reference" / "clinvar_NLRP3.tsv"


def clinvar_site(hgvs_p: str) -> tuple[int, str, str, str]:
    """(GRCh38 position, REF, ALT, class) of a ClinVar record, from the bundled export."""
    lines = [x for x in CLINVAR.read_text().splitlines() if not x.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        if row["hgvs_p"] == hgvs_p and len(row["deleted"]) == 1 == len(row["inserted"]):
            return (int(row["grch38_location"]), row["deleted"], row["inserted"],
                    row["significance"])  # fmt: skip
    raise AssertionError(hgvs_p)


T348M = clinvar_site("p.Thr348Met")  # c.1043C>T
D303N = clinvar_site("p.Asp303Asn")  # c.907G>A


def test_the_sites_are_pathogenic_in_clinvar():
    assert T348M[3] == D303N[3] == "Pathogenic/Likely pathogenic"


HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=chr1,length=248956422>",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
]
STRANDS = {
    "ADF": '##FORMAT=<ID=ADF,Number=R,Type=Integer,Description="Forward-strand allele depths">',
    "ADR": '##FORMAT=<ID=ADR,Number=R,Type=Integer,Description="Reverse-strand allele depths">',
    "SB": '##FORMAT=<ID=SB,Number=4,Type=Integer,Description="Per-sample strand counts">',
}


def write_vcf(path: Path, calls: dict[str, str], fmt: str = "GT:AD:DP", site=T348M) -> Path:
    """One record at ``site``; ``calls``: sample -> FORMAT values as a caller writes them."""
    pos, ref, alt, _ = site
    header = HEADER + [STRANDS[k] for k in STRANDS if k in fmt.split(":")]
    names = list(calls)
    lines = [
        *header,
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                   *names]),
        "\t".join(["chr1", str(pos), ".", ref, alt, "50", "PASS", ".", fmt,
                   *(calls[n] for n in names)]),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def results(path: Path, **options) -> tuple[dict[str, dict], dict[str, dict]]:
    """(patient summary by sample, MANE calls.tsv row at the site by sample)."""
    table = nlrp3annot.annotate_vcfs([path], fasta=FASTA, **options)
    patients = {p["sample"]: p for p in table.attrs["patients"]}
    rows = table[table["flags"].str.contains("MANE_Select")]
    return patients, {r["sample"]: r for r in rows.to_dict("records")}


def test_3_of_907_reads_under_0_0_is_noise_not_a_mosaic(tmp_path: Path):
    patients, rows = results(write_vcf(tmp_path / "noise.vcf", {"S": "0/0:904,3:907"}))
    assert rows["S"]["zygosity"] == "ref"
    assert "3 of 907 reads (0.3%), not above the 1% noise floor" in rows["S"]["evidence"]
    assert patients["S"]["status"] in ("negative", "not_assessable")
    assert patients["S"]["confirm"] == ""


def test_41_of_907_reads_under_0_0_is_a_mosaic_to_confirm(tmp_path: Path):
    patients, rows = results(write_vcf(tmp_path / "mosaic.vcf", {"S": "0/0:866,41:907"}))
    row = rows["S"]
    assert row["zygosity"] == "mosaic" and row["gt"] == "0/0"
    # 41/907 = 4.52%; exact 95% interval from scipy's beta quantiles (Clopper-Pearson)
    from scipy.stats import beta

    low, high = beta.ppf(0.025, 41, 907 - 41 + 1), beta.ppf(0.975, 41 + 1, 907 - 41)
    shown = f"4.5% (95% CI {100 * low:.1f}-{100 * high:.1f}%)"
    assert shown == "4.5% (95% CI 3.3-6.1%)"
    assert row["evidence"] == (
        f"genotyped as reference by the caller; 41 of 907 reads, {shown}; "
        "confirm by deep sequencing"
    )
    assert patients["S"]["status"] == "positive_mosaic"
    assert "reference genotype" in patients["S"]["confirm"]


def test_a_noise_floor_from_the_options_decides(tmp_path: Path):
    path = write_vcf(tmp_path / "floor.vcf", {"S": "0/0:866,41:907"})
    # P(X >= 41 | 907, 0.04) = 0.25 (scipy): not above a 4% floor
    assert binom.sf(40, 907, 0.04) > 0.01
    patients, rows = results(path, noise_floor=0.04)
    assert rows["S"]["zygosity"] == "ref" and "4% noise floor" in rows["S"]["evidence"]
    assert patients["S"]["status"] != "positive_mosaic"
    patients, rows = results(path, min_alt_reads=42)
    assert rows["S"]["zygosity"] == "ref" and "fewer than the 42" in rows["S"]["evidence"]


def test_a_call_is_judged_by_the_options_it_is_given_each_time():
    """classify() remembers a call's answer per options: options made afresh for each call
    (a lab's script trying two noise floors) each get their own answer, never one worked out
    for an earlier options object that lived at the same address. A 0/0 with 6 of 30 ALT
    reads is a mosaic above a 1% floor and not above a 15% one (P from scipy)."""
    from nlrp3annot.patients.zygosity import MosaicOptions, classify
    from nlrp3annot.values.calls import SampleCall

    call = SampleCall("S", (0, 0), "0/0", False, None, 24, 6, 30, None)
    assert binom.sf(5, 30, 0.01) < 0.01 < binom.sf(5, 30, 0.15)
    for _ in range(50):
        assert classify(call, MosaicOptions(noise_floor=0.01)).zygosity == "mosaic"
        assert classify(call, MosaicOptions(noise_floor=0.15)).zygosity == "ref"
        deep = classify(call, MosaicOptions(noise_floor=0.01, min_depth=100))
        assert "depth 30 < 100" in deep.evidence  # (and not in the 20-read floor's answer)
        assert "depth 30" not in classify(call, MosaicOptions(noise_floor=0.01)).evidence


def test_a_het_at_depth_12_is_found_and_flagged(tmp_path: Path):
    calls = {"SHALLOW": "0/1:6,6:12", "NOREADS": "0/1:12,0:12"}
    patients, rows = results(write_vcf(tmp_path / "shallow.vcf", calls))
    assert rows["SHALLOW"]["zygosity"] == "het"
    assert rows["SHALLOW"]["evidence"] == "depth 12 < 20: confirm by an independent method"
    found = patients["SHALLOW"]
    assert found["status"] == "positive_germline"
    assert found["confirm"] == "depth 12 < 20: confirm by an independent method"
    assert "depth 12 < 20" in found["note"]
    none = patients["NOREADS"]
    assert none["status"] == "not_assessable" and none["confirm"] == ""
    assert "no ALT reads" in none["note"]


def test_a_het_whose_reads_stay_under_the_noise_floor_is_not_assessable(tmp_path: Path):
    patients, rows = results(write_vcf(tmp_path / "het.vcf", {"S": "0/1:898,2:900"}))
    assert rows["S"]["zygosity"] == "het"
    assert rows["S"]["mosaic_test"].startswith("not_assessable")
    assert patients["S"]["status"] == "not_assessable"
    assert "noise floor" in patients["S"]["note"]


STRAND_CALLS = {
    # 900 REF and 45 ALT reads; ADF/ADR split them per strand
    "ONE_STRAND": "0/0:900,45:945:450,0:450,45",
    "BOTH": "0/0:900,45:945:450,22:450,23",
    "BIASED": "0/0:900,45:945:890,2:10,43",
}


def test_adf_adr_one_strand_or_strand_bias_refuse_a_mosaic(tmp_path: Path):
    path = write_vcf(tmp_path / "adf.vcf", STRAND_CALLS, fmt="GT:AD:DP:ADF:ADR")
    patients, rows = results(path)
    assert rows["BOTH"]["zygosity"] == "mosaic"
    assert patients["BOTH"]["status"] == "positive_mosaic"
    assert rows["ONE_STRAND"]["zygosity"] == "ref"
    assert "ALT reads on one strand only (0 forward, 45 reverse)" in rows["ONE_STRAND"]["evidence"]
    assert patients["ONE_STRAND"]["status"] != "positive_mosaic"
    assert fisher_exact([[890, 10], [2, 43]])[1] < 0.001  # scipy: extreme bias
    assert rows["BIASED"]["zygosity"] == "ref" and "strand bias" in rows["BIASED"]["evidence"]


def test_gatk_sb_one_strand_refuses_a_mosaic(tmp_path: Path):
    calls = {"ONE_STRAND": "0/0:900,45:945:450,450,45,0", "BOTH": "0/0:900,45:945:450,450,22,23"}
    patients, rows = results(write_vcf(tmp_path / "sb.vcf", calls, fmt="GT:AD:DP:SB"))
    assert rows["BOTH"]["zygosity"] == "mosaic"
    assert rows["ONE_STRAND"]["zygosity"] == "ref"
    assert "(45 forward, 0 reverse)" in rows["ONE_STRAND"]["evidence"]
    assert patients["ONE_STRAND"]["status"] != "positive_mosaic"


def summary_of(patients: dict, rows: dict) -> dict:
    keep = ("zygosity", "evidence", "mosaic_test", "vaf")
    return {
        "patients": {s: (p["status"], p["note"], p["confirm"]) for s, p in patients.items()},
        "rows": {s: tuple(r[k] for k in keep) for s, r in rows.items()},
    }


@pytest.mark.parametrize("fmt", ["GT:AD:DP:ADF:ADR", "GT:AD:DP:SB"])
def test_bcf_and_joint_vcf_give_the_same_evidence(tmp_path: Path, fmt: str):
    sb = fmt.endswith("SB")
    calls = {
        "NOISE": "0/0:904,3:907:452,452,2,1" if sb else "0/0:904,3:907:452,2:452,1",
        "MOSAIC": "0/0:866,41:907:433,433,20,21" if sb else "0/0:866,41:907:433,20:433,21",
        "ONE": "0/0:900,45:945:450,450,0,45" if sb else "0/0:900,45:945:450,0:450,45",
        "SHALLOW": "0/1:6,6:12:3,3,3,3" if sb else "0/1:6,6:12:3,3:3,3",
        "HET": "0/1:20,22:42:10,10,11,11" if sb else "0/1:20,22:42:10,11:10,11",
        "REF": "0/0:40,0:40:20,20,0,0" if sb else "0/0:40,0:40:20,0:20,0",
    }
    one = {}
    for name, text in calls.items():  # each sample alone: the per-sample text reader
        patients, rows = results(write_vcf(tmp_path / f"{name}.vcf", {name: text}, fmt))
        one[name] = (patients[name], rows.get(name))
    expected = {
        "patients": {s: (p["status"], p["note"], p["confirm"]) for s, (p, _) in one.items()},
        "rows": {s: tuple(r[k] for k in ("zygosity", "evidence", "mosaic_test", "vaf"))
                 for s, (_, r) in one.items() if r is not None},
    }  # fmt: skip
    assert expected["patients"]["MOSAIC"][0] == "positive_mosaic"
    assert expected["patients"]["ONE"][0] != "positive_mosaic"
    assert expected["patients"]["SHALLOW"][0] == "positive_germline"
    # a joint VCF of 40 samples (the numpy path), its BCF (htslib arrays), a small BCF (pysam)
    many = {**calls, **{f"FILL{i}": calls["REF"] for i in range(34)}}
    joint = write_vcf(tmp_path / "joint.vcf", many, fmt)
    small = write_vcf(tmp_path / "small.vcf", calls, fmt)
    paths = [joint]
    for vcf in (joint, small):
        bcf = vcf.with_suffix(".bcf")
        subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
        paths.append(bcf)
    for path in paths:
        patients, rows = results(path)
        got = summary_of(
            {s: p for s, p in patients.items() if s in calls},
            {s: r for s, r in rows.items() if s in calls},
        )
        assert got == expected, path.name


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(3, 907, 0.01), (41, 907, 0.01), (20, 1000, 0.01), (5, 40, 0.01), (1, 30, 0.001),
     (60, 5000, 0.01), (0, 10, 0.2), (11, 10, 0.5), (250, 500, 0.5)],
)  # fmt: skip
def test_the_exact_binomial_tail_is_scipys(k: int, n: int, p: float):
    expected = binom.sf(k - 1, n, p)  # P(X >= k)
    assert sf(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert noise_p(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "table",
    [(450, 450, 22, 23), (890, 10, 2, 43), (450, 450, 0, 45), (3, 3, 3, 3), (0, 0, 0, 0),
     (10, 0, 0, 10), (120, 80, 7, 1)],
)  # fmt: skip
def test_the_fisher_exact_test_is_scipys(table: tuple[int, int, int, int]):
    a, b, c, d = table
    expected = fisher_exact([[a, b], [c, d]])[1]
    assert our_fisher(a, b, c, d) == pytest.approx(expected, rel=1e-7)


def test_the_command_line_takes_the_noise_floor(tmp_path: Path):
    from nlrp3annot.cli import main

    path = write_vcf(tmp_path / "cli.vcf", {"S": "0/0:866,41:907"})
    out, patients = tmp_path / "calls.tsv", tmp_path / "patients.tsv"
    args = [
        "annotate", str(path), "--fasta", str(FASTA), "-o", str(out), "--patients",
        str(patients), "-q", "--noise-floor", "0.04", "--min-alt-reads", "5",
    ]  # fmt: skip
    assert main(args) == 0
    rows = list(csv.DictReader(patients.open(), delimiter="\t"))
    assert rows[0]["status"] != "positive_mosaic" and "confirm" in rows[0]
    assert main([*args[:-4], "--noise-floor", "1.5"]) == 2
