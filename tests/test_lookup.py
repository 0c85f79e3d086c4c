"""Legacy names and lookups. Truth: ClinVar's 'Protein change' column lists both numberings
("R260W, R262W", "D303N, D305N") and the PROVENANCE rule MANE p.N = UniProt/NP_004886.3 N+2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nlrp3annot.knowledge.lookup import lookup
from nlrp3annot.naming.legacy import legacy_protein, parse_protein


@pytest.mark.parametrize(
    "hgvs_p,legacy",
    [
        ("NP_001230062.1:p.Arg260Trp", "R260W"),
        ("p.Asp303Asn", "D303N"),
        ("p.Thr348Met", "T348M"),
        ("p.Ala439Val", "A439V"),
        ("p.Arg260Ter", "R260*"),
        ("p.?", ""),
        ("", ""),
    ],
)
def test_legacy_protein(hgvs_p: str, legacy: str):
    assert legacy_protein(hgvs_p) == legacy


def test_parse_protein_accepts_legacy_and_hgvs():
    assert parse_protein("R260W") == (None, "Arg", 260, "Trp")
    assert parse_protein("NP_004886.3:p.(Arg262Trp)") == ("NP_004886.3", "Arg", 262, "Trp")
    with pytest.raises(ValueError):
        parse_protein("not a variant")


def test_r260w_and_uniprot_numbered_name_find_the_same_variants():
    legacy = lookup("R260W")
    uniprot = lookup("p.Arg262Trp", transcript="NM_004895.4")
    assert legacy and [r["spdi"] for r in legacy] == [r["spdi"] for r in uniprot]
    delins = legacy[-1]
    assert delins["clinvar_id"] == "1701129"  # ClinVar c.778_780delinsTGG (p.Arg260Trp)
    assert delins["grch38"] == "chr1:247424227:CGA:TGG"
    assert delins["grch37"] == "chr1:247587529:CGA:TGG"  # + 163,302
    assert delins["hgvs_p_uniprot"] == "NP_004886.3:p.Arg262Trp"


def test_r260w_lists_the_classic_snv_first_then_the_delins():
    # ClinVar's IDs: 4374 = c.778C>T (rs121908150), named p.Arg260Ter on the reference's
    # c.780A; 1701129 = c.778_780delinsTGG (p.Arg260Trp). ClinVar's "Protein change" for
    # 4374 lists R260W. Most patients carry the common c.780G, so their c.778C>T is Trp.
    rows = lookup("R260W")
    assert [(r["clinvar_id"], r["hgvs_c"].split(":")[1]) for r in rows] == [
        ("4374", "c.778C>T"),
        ("1701129", "c.778_780delinsTGG"),
    ]
    first = rows[0]
    assert first["dbsnp"] == "rs121908150"  # ClinVar's dbSNP for 4374
    assert first["spdi"] == "NC_000001.11:247424226:C:T"
    assert first["hgvs_p"] == "NP_001230062.1:p.Arg260Ter"  # ClinVar's name, kept
    assert first["hgvs_p_common_haplotype"] == "NP_001230062.1:p.Arg260Trp"
    assert first["legacy_protein"] == "R260W"
    context = first["context"]
    assert "\n" not in context and "c.780A" in context and "rs4925543" in context
    assert "c.780G" in context and "p.Arg260Trp" in context
    assert "c.778C>T alone" in rows[1]["context"]


def test_ordering_rule_is_general_not_a_special_case():
    # The same rule ranks any record in codon 260 by what it gives on the common CGG codon:
    # c.779_780delinsAG (CGA -> CAG) is c.779G>A on the common haplotype.
    (gln,) = lookup("R260Q")
    assert gln["clinvar_id"] == "2896705"
    assert "c.779G>A alone" in gln["context"]
    # R260* is ClinVar's reference reading of c.778C>T; on the common haplotype it is Trp.
    (ter,) = lookup("R260*")
    assert ter["clinvar_id"] == "4374" and ter["legacy_protein"] == "R260*"
    # Outside a codon with a reference-minor allele nothing changes.
    (d303n,) = lookup("D303N")
    assert d303n["context"] == "" and d303n["hgvs_p_common_haplotype"] == ""


def test_d303n_by_every_name():
    spdis = {
        tuple(r["spdi"] for r in lookup(q, t))
        for q, t in [
            ("D303N", None),
            ("p.Asp305Asn", "NM_004895.4"),
            ("NP_004886.3:p.Asp305Asn", None),
            ("c.907G>A", None),
            ("NM_001243133.2:c.907G>A", None),
        ]
    }
    assert spdis == {("NC_000001.11:247424355:G:A",)}


def test_cli_lookup_json_and_not_found():
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "R260W", "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    answer = json.loads(proc.stdout)
    assert [r["clinvar_id"] for r in answer] == ["4374", "1701129"]
    assert answer[0]["legacy_protein"] == "R260W" and "c.780G" in answer[0]["context"]
    text = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "R260W"], capture_output=True, text=True
    )
    lines = text.stdout.splitlines()
    assert lines[0].split("\t")[-1] == "context" and lines[1].split("\t")[1] == "4374"
    missing = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "W2L"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and "not in the ClinVar table" in missing.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "hello"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_top_level_api_lookup():
    import nlrp3annot

    assert [r["clinvar_id"] for r in nlrp3annot.lookup("D303N")] == ["4377"]


def _clinvar_ids_of(rs: str) -> set[str]:
    """ClinVar's VariationIDs with dbSNP ID ``rs``, read straight from the bundled ClinVar
    file (reference/clinvar_NLRP3.tsv, ClinVar's own columns)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "reference" / "clinvar_NLRP3.tsv"
    lines = [x for x in path.read_text().splitlines() if x and not x.startswith("#")]
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]
    column = next(c for c in header if "dbsnp" in c.lower() or c.lower() == "rs")
    return {r[header[0]] for r in rows if r[column] == rs}


def test_a_dbsnp_id_is_looked_up_in_the_bundled_table():
    # rs121908150 is ClinVar's dbSNP ID of VariationID 4374, c.778C>T (R260W on the
    # common c.780G); the answer is the row lookup R260W prints first
    rows = lookup("rs121908150")
    assert [r["clinvar_id"] for r in rows] == ["4374"] == sorted(_clinvar_ids_of("rs121908150"))
    assert rows[0] == {**lookup("R260W")[0], "query": "rs121908150"}
    assert lookup("RS121908150")[0]["clinvar_id"] == "4374"  # dbSNP IDs are case-blind
    # an ID that ClinVar gives several records: every one, each carrying that ID
    rows = lookup("rs2527260044")
    assert {r["clinvar_id"] for r in rows} == _clinvar_ids_of("rs2527260044")
    assert len(rows) == 3 and {r["dbsnp"] for r in rows} == {"rs2527260044"}


def test_cli_lookup_of_an_unknown_dbsnp_id_says_so_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "rs1"], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "nlrp3annot: rs1: no record with this dbSNP ID in the ClinVar table of NLRP3 "
        "(nlrp3annot knowledge update fetches a newer one)"
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "lookup", "hello"], capture_output=True, text=True
    )
    assert "dbSNP IDs (rs121908150)" in bad.stderr
