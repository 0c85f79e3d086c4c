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


def test_r260w_and_uniprot_numbered_name_find_the_same_variant():
    legacy = lookup("R260W")
    uniprot = lookup("p.Arg262Trp", transcript="NM_004895.4")
    assert legacy and [r["spdi"] for r in legacy] == [r["spdi"] for r in uniprot]
    (row,) = legacy
    assert row["clinvar_id"] == "1701129"  # ClinVar c.778_780delinsTGG (p.Arg260Trp)
    assert row["grch38"] == "chr1:247424227:CGA:TGG"
    assert row["grch37"] == "chr1:247587529:CGA:TGG"  # + 163,302
    assert row["hgvs_p_uniprot"] == "NP_004886.3:p.Arg262Trp"


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
    assert json.loads(proc.stdout)[0]["legacy_protein"] == "R260W"
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
