"""Every ClinVar small variant named on NM_001243133.2 gets ClinVar's c. and p. names.

Truth: ClinVar's own names (tests/data/clinvar_NM_001243133.2.tsv, copied from the ClinVar
export). Input: a VCF built from each variant's Canonical SPDI, on GRCh38 and GRCh37, with
``chr1`` and ``1`` naming, run through the ``nlrp3annot annotate`` command.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pysam
import pytest
from conftest import DATA, TEST_FASTA, write_vcf

from nlrp3annot.cli import main

GRCH37_OFFSET = 163_302

# Residual differences, each with its reason. The test fails if any other name differs,
# or if one of these starts to agree (then it should leave this list).
RESIDUALS = {
    "NM_001243133.2(NLRP3):c.1306ACC[2] (p.Thr438del)": (
        "ClinVar writes the loss of one ACC unit of an (ACC)3 repeat in repeat notation; "
        "HGVS also allows del, which VEP and SnpEff write (c.1312_1314del); we write del"
    ),
    "NM_001243133.2(NLRP3):c.2150+1del": (
        "exon 4 ends ...GG|GT...: deleting one of the three Gs is named 3'-most (c.2150+1del, "
        "we agree) but leaves the GT donor intact and shortens the exon by one base, so we "
        "report the exonic frameshift (p.Gly717AspfsTer3, frameshift_variant) as VEP (left-"
        "aligned), SnpEff and bcftools csq do; ClinVar gives no p. and calls it splice donor"
    ),
}

# ClinVar molecular consequence -> VEP term
CLINVAR_TERMS = {
    "missense variant": "missense_variant",
    "synonymous variant": "synonymous_variant",
    "nonsense": "stop_gained",
    "intron variant": "intron_variant",
    "5 prime UTR variant": "5_prime_UTR_variant",
    "3 prime UTR variant": "3_prime_UTR_variant",
    "frameshift variant": "frameshift_variant",
    "inframe_deletion": "inframe_deletion",
    "inframe_insertion": "inframe_insertion",
    "splice donor variant": "splice_donor_variant",
    "splice acceptor variant": "splice_acceptor_variant",
}


def clinvar_rows() -> list[dict[str, str]]:
    with (DATA / "clinvar_NM_001243133.2.tsv").open() as handle:
        lines = [line for line in handle if not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines, delimiter="\t"):
        m = re.fullmatch(r"NC_000001\.11:(\d+):([ACGT]*):([ACGT]*)", row["Canonical SPDI"])
        if m is None or m.group(2) == m.group(3):
            continue  # no SPDI, or "no sequence alteration" (c.780=)
        row["spdi"] = (int(m.group(1)), m.group(2), m.group(3))
        rows.append(row)
    return rows


def vcf_allele(spdi: tuple[int, str, str], fasta: pysam.FastaFile, offset: int):
    """SPDI (0-based, GRCh38) -> VCF (pos, ref, alt) on the build ``offset`` away."""
    pos0, deleted, inserted = spdi
    if deleted and inserted:
        return pos0 + 1 + offset, deleted, inserted
    anchor = fasta.fetch("chr1", pos0 - 1 + offset, pos0 + offset).upper()
    return pos0 + offset, anchor + deleted, anchor + inserted


def expected_names(name: str) -> tuple[str, str]:
    m = re.fullmatch(r"NM_001243133\.2\(NLRP3\):(c\.\S+)(?: \((p\..+)\))?", name)
    assert m, name
    return m.group(1), m.group(2) or ""


def short_fs(p: str) -> str:
    """ClinVar writes frameshifts short (p.Gln178fs): compare up to 'fs'."""
    return re.sub(r"^(p\.[A-Z][a-z]{2}\d+)(?:[A-Z][a-z]{2})?fs.*$", r"\1fs", p)


@pytest.mark.parametrize(
    "build,chrom", [("GRCh38", "chr1"), ("GRCh38", "1"), ("GRCh37", "chr1"), ("GRCh37", "1")]
)
def test_every_clinvar_variant_gets_clinvars_names(tmp_path: Path, build: str, chrom: str):
    rows = clinvar_rows()
    assert len(rows) >= 1150
    offset = GRCH37_OFFSET if build == "GRCh37" else 0
    with pysam.FastaFile(str(TEST_FASTA[build])) as fasta:
        alleles = [vcf_allele(r["spdi"], fasta, offset) for r in rows]
    records = [(chrom, pos, ref, alt) for pos, ref, alt in alleles]
    vcf = write_vcf(tmp_path / "clinvar.vcf", records, build=build, chrom_name=chrom)
    out = tmp_path / "out.tsv"
    assert (
        main(["annotate", str(vcf), "--fasta", str(TEST_FASTA[build]), "-o", str(out), "-q"]) == 0
    )
    with out.open() as handle:
        got = {(r["pos"], r["ref"], r["alt"]): r for r in csv.DictReader(handle, delimiter="\t")}
    assert not (tmp_path / "out.skipped.tsv").exists()  # nothing skipped: no list (issue 27)

    mismatches, residual_seen, consequence_mismatches = [], set(), []
    for row, (pos, ref, alt) in zip(rows, alleles, strict=True):
        ann = got[(str(pos), ref, alt)]
        assert ann["build"] == build and ann["chrom"] == chrom
        assert ann["ref_mismatch"] == "False", row["name"]
        # our canonical SPDI is ClinVar's (GRCh37 rows: same sequences, position + offset)
        pos0, deleted, inserted = row["spdi"]
        accession = "NC_000001.11" if build == "GRCh38" else "NC_000001.10"
        assert ann["spdi"] == f"{accession}:{pos0 + offset}:{deleted}:{inserted}", row["name"]
        want_c, want_p = expected_names(row["name"])
        have_c = ann["hgvs_c"].removeprefix("NM_001243133.2:")
        have_p = ann["hgvs_p"].removeprefix("NP_001230062.1:")
        if want_p.endswith("fs"):
            have_p = short_fs(have_p)
        if (have_c, have_p) != (want_c, want_p):
            if row["name"] in RESIDUALS:
                residual_seen.add(row["name"])
            else:
                mismatches.append(f"{row['name']}: got {have_c} {have_p}")
        wanted_terms = {
            CLINVAR_TERMS[t] for t in row["Molecular consequence"].split("|") if t in CLINVAR_TERMS
        }
        if row["name"] in RESIDUALS:
            continue
        if wanted_terms and not wanted_terms & set(ann["consequence"].split("&")):
            consequence_mismatches.append(
                f"{row['name']}: ClinVar {row['Molecular consequence']}, got {ann['consequence']}"
            )
    total = len(rows)
    agree = total - len(mismatches) - len(residual_seen)
    print(
        f"\n{build}/{chrom}: ClinVar names agree for {agree}/{total} "
        f"({100 * agree / total:.2f}%), residuals {len(residual_seen)}"
    )
    assert mismatches == []
    assert residual_seen == set(RESIDUALS), "a listed residual now agrees: remove it"
    assert consequence_mismatches == []


def test_classic_caps_variants_on_both_builds(tmp_path: Path):
    """The PROVENANCE checks: classic CAPS variants at their GRCh38/GRCh37 positions."""
    expected = {  # GRCh38 pos: (ref, alt, c., p.)  -- ClinVar / phenopacket names
        247424227: ("C", "T", "c.778C>T", "p.Arg260Ter"),  # R260W needs c.780G as well
        247424356: ("G", "A", "c.907G>A", "p.Asp303Asn"),
        247424492: ("C", "T", "c.1043C>T", "p.Thr348Met"),
        247424765: ("C", "T", "c.1316C>T", "p.Ala439Val"),
        247424041: ("G", "A", "c.592G>A", "p.Val198Met"),
        247425556: ("C", "A", "c.2107C>A", "p.Gln703Lys"),
    }
    for build, offset in (("GRCh38", 0), ("GRCh37", GRCH37_OFFSET)):
        records = [("chr1", pos + offset, r, a) for pos, (r, a, _, _) in expected.items()]
        vcf = write_vcf(tmp_path / f"caps_{build}.vcf", records, build=build)
        out = tmp_path / f"caps_{build}.tsv"
        assert (
            main(["annotate", str(vcf), "--fasta", str(TEST_FASTA[build]), "-o", str(out), "-q"])
            == 0
        )
        with out.open() as handle:
            got = {int(r["pos"]) - offset: r for r in csv.DictReader(handle, delimiter="\t")}
        for pos, (_, _, c, p) in expected.items():
            assert got[pos]["hgvs_c"] == f"NM_001243133.2:{c}"
            assert got[pos]["hgvs_p"] == f"NP_001230062.1:{p}"
        assert got[247424227]["exon"] == "4/10" and got[247424227]["legacy_exon"] == "3"
        assert got[247424227]["uniprot_position"] == "262"  # UniProt R262 = MANE R260
        assert got[247424356]["domain"].split(";")[0] == "NACHT"
