"""scripts/build_knowledge.py: the bundled ClinVar table from NCBI's own files, and from the
web export it was built from.

Truth for the reading rules: NCBI's README_VCF.txt (vcf_GRCh37/ and vcf_GRCh38/, "Last updated
January 30, 2024") and tab_delimited/README (variant_summary.txt), quoted at each test, with
VCF 4.1 (which that README names: no white space in INFO values, ``,`` between list values).
The NCBI-format input files are constructed (tests/data/ncbi_clinvar/SOURCES.md): no public
NCBI file holding NLRP3 could be had.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, TEST_FASTA

from nlrp3annot.knowledge.clinvar import COLUMNS, load_clinvar, parse_table
from nlrp3annot.knowledge.ncbi import (
    classifications,
    consequences,
    disease_names,
    gene_info,
    read_clinvar_vcf,
    read_variant_summary,
    rs_ids,
    vcf_record,
)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_knowledge.py"
NCBI = DATA / "ncbi_clinvar"
VCF38 = NCBI / "clinvar_GRCh38_CONSTRUCTED.vcf"
VCF37 = NCBI / "clinvar_GRCh37_CONSTRUCTED.vcf"
SUMMARY = NCBI / "variant_summary_CONSTRUCTED.txt"
EXPORT = ROOT.parent / "shared" / "reference-sources" / "NLRP3_ClinVar_web_export_chat_bot_caps.tsv"
# The columns that say which variant a row is (the rest say what ClinVar thinks of it).
IDENTITY = ("variation_id", "hgvs_c", "hgvs_p", "spdi", "grch38_location", "grch37_location")


def run(*args: str) -> subprocess.CompletedProcess:
    # The script imports nlrp3annot from this checkout, whatever else is installed.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


def rows(path: Path) -> dict[int, dict[str, object]]:
    records, _ = parse_table(path.read_text(encoding="utf-8"), str(path))
    return {r.variation_id: r.__dict__ for r in records}


# ------------------------------------------------------------------ NCBI's reading rules


def test_vcf_info_fields_read_as_ncbi_documents_them() -> None:
    line = (
        "1\t247424227\t4374\tC\tT\t.\t.\tALLELEID=19413;"
        "CLNDN=Autoinflammatory_syndrome|Cryopyrin_associated_periodic_syndrome|not_provided;"
        "CLNHGVS=NC_000001.11:g.247424227C>T;"
        "CLNREVSTAT=criteria_provided,_multiple_submitters,_no_conflicts;"
        "CLNSIG=Pathogenic/Likely_pathogenic|risk_factor;GENEINFO=NLRP3:114548|NLRP3-AS9:1;"
        "MC=SO:0001587|nonsense,SO:0001583|missense_variant;ORIGIN=1;RS=121908150"
    )
    r = vcf_record(line)
    # "ID: the ClinVar Variation ID"; "ALLELEID: the ClinVar Allele ID"
    assert (r.variation_id, r.allele_id) == (4374, 19413)
    assert (r.chrom, r.pos, r.ref, r.alt) == ("1", 247424227, "C", "T")
    # "CLNSIG: aggregate germline classification ...; multiple values are separated by a
    # vertical bar"; VCF 4.1 has no white space in INFO values: ClinVar writes "_"
    assert r.significance == ("Pathogenic/Likely pathogenic", "risk factor")
    # "CLNREVSTAT: ClinVar's review status of the germline classification"
    assert r.review_status == "criteria provided, multiple submitters, no conflicts"
    # "CLNDN: ClinVar's preferred disease name" (one per CLNDISDB concept, "|" between)
    assert r.conditions == (
        "Autoinflammatory syndrome",
        "Cryopyrin associated periodic syndrome",
        "not provided",
    )
    # "CLNHGVS: top-level ... HGVS expression" (kept as written)
    assert r.hgvs_g == "NC_000001.11:g.247424227C>T"
    # "GENEINFO: gene symbol:NCBI GeneID ... delimited by a colon and each pair is delimited
    # by a vertical bar"
    assert r.genes == (("NLRP3", 114548), ("NLRP3-AS9", 1))
    # "MC: comma separated list of molecular consequence in the form of Sequence Ontology
    # ID|molecular_consequence"
    assert r.consequences == (("SO:0001587", "nonsense"), ("SO:0001583", "missense_variant"))
    # "RS: dbSNP ID (i.e. rs number)"
    assert r.dbsnp == ("rs121908150",)


def test_included_variant_has_no_classification_of_its_own() -> None:
    # "Included variants do not have an associated disease (CLNDN, CLNDISDB) or a
    # classification (CLNSIG). Instead, there are three INFO tags specific to included
    # variants - CLNDNINCL, CLNDISDBINCL, and CLNSIGINCL"
    r = vcf_record(
        "1\t247424227\t12345\tC\tT\t.\t.\tALLELEID=1;CLNDNINCL=Familial_cold_urticaria;"
        "CLNSIGINCL=99999:Pathogenic;GENEINFO=NLRP3:114548"
    )
    assert r.significance == () and r.conditions == () and r.review_status == ""
    assert r.dbsnp == () and r.consequences == ()


@pytest.mark.parametrize(
    "value,expected",
    [
        ("", []),
        ("Uncertain_significance", ["Uncertain significance"]),
        ("Pathogenic/Pathogenic,_low_penetrance", ["Pathogenic/Pathogenic, low penetrance"]),
        ("Conflicting_classifications_of_pathogenicity|other", ["Conflicting classifications "
                                                                "of pathogenicity", "other"]),
    ],
)  # fmt: skip
def test_clnsig_values(value: str, expected: list[str]) -> None:
    assert classifications(value) == expected


def test_small_field_readers() -> None:
    assert disease_names("not_specified") == ["not specified"]
    assert gene_info("") == [] and gene_info("NLRP3:114548") == [("NLRP3", 114548)]
    assert consequences("SO:0001627|intron_variant") == [("SO:0001627", "intron_variant")]
    assert rs_ids("") == [] and rs_ids("10802501") == ["rs10802501"]


def test_vcf_header_gives_release_and_build_and_geneinfo_selects_nlrp3() -> None:
    vcf = read_clinvar_vcf(VCF38)
    assert (vcf.file_date, vcf.reference) == ("2099-01-01", "GRCh38")  # ##fileDate, ##reference
    ids = {r.variation_id for r in vcf.records}
    assert 999999999 not in ids  # GENEINFO=NOTNLRP3:...: another gene
    assert {4374, 1701129, 296960} <= ids
    assert read_clinvar_vcf(VCF37).reference == "GRCh37"


def test_variant_summary_rows_merge_both_assemblies() -> None:
    # "one line per AlleleID ... most variants have a line for GRCh37 and another for GRCh38"
    summary = read_variant_summary(SUMMARY, "NM_001243133.2(NLRP3):")
    assert 296960 not in summary  # named on NM_004895.4 only
    r260 = summary[1701129]
    assert r260.name == "NM_001243133.2(NLRP3):c.778_780delinsTGG (p.Arg260Trp)"
    assert r260.locations == {"GRCh37": "247587529-247587531", "GRCh38": "247424227-247424229"}
    assert r260.last_evaluated == "2025-06-06"  # "LastEvaluated: date"
    assert summary[97922].last_evaluated == ""  # "-": none


# ------------------------------------------------------------------ the build script


def test_build_from_ncbi_files_reproduces_the_bundled_rows(tmp_path: Path) -> None:
    proc = run(
        "--clinvar-vcf", str(VCF38), "--clinvar-vcf-grch37", str(VCF37),
        "--variant-summary", str(SUMMARY), "--fasta", str(TEST_FASTA["GRCh38"]),
        "--out", str(tmp_path), "--date", "2099-01-02",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "7 variants" in proc.stdout and "1 not named on NM_001243133.2" in proc.stdout
    built = tmp_path / "clinvar_NLRP3.tsv"
    header = built.read_text().splitlines()[:8]
    assert "# release: 2099-01-01" in header  # the VCF's ##fileDate
    assert any(line.startswith("# source: NCBI ClinVar release files") for line in header)
    assert header[-1].split("\t") == list(COLUMNS)
    mine = rows(built)
    bundled = rows(ROOT / "reference" / "clinvar_NLRP3.tsv")
    assert set(mine) == {2431177, 2996778, 4374, 1701129, 97922, 2628144, 103042}
    for vid, row in mine.items():
        # the same variants, down to the fully justified SPDI of repeats (c.278-10del,
        # c.1306ACC[2], c.3082dup), the insertion c.2322-41_2322-40insAT and the delins
        assert {k: row[k] for k in IDENTITY} == {k: bundled[vid][k] for k in IDENTITY}, vid
        assert (row["dbsnp"], row["last_evaluated"]) == (
            bundled[vid]["dbsnp"],
            bundled[vid]["last_evaluated"],
        )
    # ClinVar's own words, where the edited web export wrote its own
    assert mine[2431177]["significance"] == "Uncertain significance"
    assert bundled[2431177]["significance"] == "VUS"
    assert mine[4374]["review_status"] == "criteria provided, multiple submitters, no conflicts"
    assert mine[4374]["conditions"] == bundled[4374]["conditions"]
    assert load_clinvar(built).by_spdi(247424226, "C", "T").variation_id == 4374


def test_build_from_ncbi_files_needs_names_and_the_grch38_reference(tmp_path: Path) -> None:
    alone = run("--clinvar-vcf", str(VCF38), "--out", str(tmp_path))
    assert alone.returncode != 0 and "--variant-summary" in alone.stderr
    wrong = run(
        "--clinvar-vcf", str(VCF38), "--variant-summary", str(SUMMARY),
        "--fasta", str(TEST_FASTA["GRCh37"]), "--out", str(tmp_path),
    )  # fmt: skip
    assert wrong.returncode != 0 and "GRCh38 FASTA" in wrong.stderr
    swapped = run(
        "--clinvar-vcf", str(VCF37), "--variant-summary", str(SUMMARY),
        "--fasta", str(TEST_FASTA["GRCh38"]), "--out", str(tmp_path),
    )  # fmt: skip
    assert swapped.returncode != 0 and "expected GRCh38" in swapped.stderr
    assert not (tmp_path / "clinvar_NLRP3.tsv").exists()


@pytest.mark.skipif(not EXPORT.is_file(), reason="needs ../shared/reference-sources")
def test_build_from_the_web_export_reproduces_the_committed_table(tmp_path: Path) -> None:
    committed = (ROOT / "reference" / "clinvar_NLRP3.tsv").read_text(encoding="utf-8")
    built_line = next(line for line in committed.splitlines() if line.startswith("# built:"))
    proc = run("--out", str(tmp_path), "--date", built_line.removeprefix("# built: "))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "clinvar_NLRP3.tsv").read_text(encoding="utf-8") == committed


def test_a_table_written_before_last_evaluated_still_reads() -> None:
    old = "\t".join(COLUMNS[:-1])
    row = "4374\tc.778C>T\tp.Arg260Ter\t247424226\tC\tT\t247424227\t247587529\tP\tr\tc\trs1"
    (record,), _ = parse_table(f"# built: 2025-01-01\n{old}\n{row}\n", "old.tsv")
    assert record.last_evaluated == "" and record.variation_id == 4374


def test_a_row_reads_into_its_named_fields_and_a_bad_row_names_its_line() -> None:
    """Each field lands where the column line says (the parse reads fields by position),
    and a user's table with a short row, a non-ACGT or no-change SPDI, or a non-number
    VariationID is refused naming the line."""
    header = "\t".join(COLUMNS)
    row = (
        "4374\tc.778C>T\tp.Arg260Ter\t247424226\tC\tT\tchr1:247424227\tchr1:247587529\t"
        "Pathogenic\tcriteria provided\tCAPS|FCAS\trs121908147\t2024-10-16"
    )
    (record,), meta = parse_table(f"# built: 2025-01-01\n{header}\n{row}\n", "new.tsv")
    assert meta == {"built": "2025-01-01"}
    assert (
        record.variation_id, record.hgvs_c, record.hgvs_p, record.spdi, record.grch38_location,
        record.grch37_location, record.significance, record.review_status, record.conditions,
        record.dbsnp, record.last_evaluated,
    ) == (
        4374, "c.778C>T", "p.Arg260Ter", (247424226, "C", "T"), "chr1:247424227",
        "chr1:247587529", "Pathogenic", "criteria provided", "CAPS|FCAS", "rs121908147",
        "2024-10-16",
    )  # fmt: skip
    bad_rows = {
        row.rsplit("\t", 1)[0]: "line 3: 12 fields, expected 13",
        row.replace("\tC\tT\t", "\tC\tN\t"): "line 3: SPDI alleles 'C'/'N' are not ACGT",
        row.replace("\tC\tT\t", "\tC\tC\t"): "line 3: SPDI 247424226:C:C is no change",
        "x" + row: "line 3: invalid literal",
    }
    for bad, says in bad_rows.items():
        with pytest.raises(ValueError, match=says):
            parse_table(f"# built: 2025-01-01\n{header}\n{bad}\n", "new.tsv")
