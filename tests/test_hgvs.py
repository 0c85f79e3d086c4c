"""HGVS naming rules on a small made-up transcript (tests/toy.py), expectations worked out
by hand from the HGVS recommendations: 3' rule, dup vs ins, delins, intron and UTR
numbering, Ter/=/fs/ext/Met1? on the protein."""

from __future__ import annotations

import pytest
from Bio.Seq import Seq
from toy import BASES, CDS, TRANSCRIPT, c_pos, name

C = TRANSCRIPT.accession + ":c."
P = TRANSCRIPT.protein_id + ":p."


@pytest.mark.parametrize(
    "pos,ref,alt,hgvs_c,hgvs_p",
    [
        # codon 6 is CGA (Arg), as NLRP3 codon 260 on the reference
        (c_pos(16), "C", "T", "16C>T", "Arg6Ter"),
        (c_pos(17), "G", "A", "17G>A", "Arg6Gln"),
        (c_pos(18), "A", "G", "18A>G", "Arg6="),
        (c_pos(16), "CGA", "TGG", "16_18delinsTGG", "Arg6Trp"),
        (c_pos(2), "T", "C", "2T>C", "Met1?"),
        (c_pos(28), "A", "T", "28A>T", "Lys10Ter"),
        (c_pos(198), "C", "A", "198C>A", "Leu66="),
        (c_pos(200), "A", "G", "200A>G", "Ter67="),
        # (CAG)3 at c.58-66, flanked by A (c.57) and T (c.67): the 3'-most unit is named
        (c_pos(57), "ACAG", "A", "64_66del", "Gln22del"),
        (c_pos(57), "A", "ACAG", "64_66dup", "Gln22dup"),
        # an in-frame TAG right after codon 9 makes residue 10 a stop
        (c_pos(27), "C", "CTAG", "27_28insTAG", "Lys10Ter"),
        # exon 1 ends at c.20 (130); intron 1 is 131-200 (70 nt), its middle splits +35/-35
        (131, "G", "A", "20+1G>A", ""),
        (165, BASES[164], "G" if BASES[164] != "G" else "A", None, ""),
        (105, BASES[104], "A" if BASES[104] != "A" else "C", None, ""),
    ],
)
def test_names(pos, ref, alt, hgvs_c, hgvs_p):
    row = name(pos, ref, alt)
    assert not row.ref_mismatch
    if hgvs_c is not None:
        assert row.hgvs_c == C + hgvs_c
    assert row.hgvs_p == (P + hgvs_p if hgvs_p else "")


@pytest.mark.parametrize(
    "pos,label",
    [
        (131, "20+1"),
        (165, "20+35"),
        (166, "21-35"),
        (200, "21-1"),  # intron 1, 70 nt
        (280, "80+20"),
        (281, "81-20"),  # intron 2 (261-300), 40 nt
        (105, "-6"),
        (101, "-10"),
        (90, "-21"),  # 5' UTR and upstream continue counting
        (422, "*1"),
        (450, "*29"),
        (460, "*39"),  # 3' UTR and downstream
    ],
)
def test_positions(pos, label):
    ref = BASES[pos - 1]
    alt = "A" if ref != "A" else "C"
    assert name(pos, ref, alt).hgvs_c == f"{C}{label}{ref}>{alt}"


def test_homopolymer_deletion_and_insertion_are_named_3prime():
    # c.28-c.33 is AAAAAA (codons 10-11), flanked by C (c.27) and G (c.34)
    assert CDS[27:33] == "AAAAAA" and CDS[26] == "C" and CDS[33] == "G"
    left_aligned_del = name(c_pos(27), "CA", "C")
    assert left_aligned_del.hgvs_c == C + "33del"
    assert name(c_pos(27), "C", "CA").hgvs_c == C + "33dup"
    # intronic A6 at 150-155 (c.20+20..c.20+25), flanked by C
    assert BASES[149:155] == "AAAAAA"
    assert name(149, "CA", "C").hgvs_c == C + "20+25del"
    assert name(149, "C", "CA").hgvs_c == C + "20+25dup"
    assert name(149, "C", "CAA").hgvs_c == C + "20+24_20+25dup"


def _expected_frameshift(edited_cds_and_utr: str) -> str:
    """HGVS fs description computed with Biopython: first changed residue, new residue, and
    the new stop counted from the first changed residue as 1."""
    ref = str(Seq(CDS).translate())
    alt = str(Seq(edited_cds_and_utr[: len(edited_cds_and_utr) // 3 * 3]).translate())
    d = next(i for i, (a, b) in enumerate(zip(ref, alt, strict=False)) if a != b)
    three = {
        "A": "Ala",
        "R": "Arg",
        "N": "Asn",
        "D": "Asp",
        "C": "Cys",
        "Q": "Gln",
        "E": "Glu",
        "G": "Gly",
        "H": "His",
        "I": "Ile",
        "L": "Leu",
        "K": "Lys",
        "M": "Met",
        "F": "Phe",
        "P": "Pro",
        "S": "Ser",
        "T": "Thr",
        "W": "Trp",
        "Y": "Tyr",
        "V": "Val",
        "*": "Ter",
    }
    stop = alt.find("*", d)
    ter = "?" if stop < 0 else str(stop - d + 1)
    return f"{three[ref[d]]}{d + 1}{three[alt[d]]}fsTer{ter}"


@pytest.mark.parametrize("c", [5, 13, 19, 40, 85, 150])
def test_frameshift_new_stop_is_counted_from_first_changed_residue(c):
    utr3 = BASES[421:450]
    coding = CDS + utr3
    pos = c_pos(c)
    base = BASES[pos - 1]
    # insert one base after c.<c>; pick a base that does not repeat the neighbour
    ins = next(b for b in "GCTA" if b not in (base, BASES[pos]))
    row = name(pos, base, base + ins)
    edited = coding[:c] + ins + coding[c:]
    assert row.hgvs_p == P + _expected_frameshift(edited)
    assert "frameshift_variant" in row.consequence.split("&")
    assert row.impact == "HIGH"


def test_stop_lost_is_an_extension():
    row = name(c_pos(199), "T", "C")
    coding = CDS + BASES[421:450]
    edited = coding[:198] + "C" + coding[199:]
    tail = edited[198:]
    tail = str(Seq(tail[: len(tail) // 3 * 3]).translate())  # residue 67 onwards
    stop = tail.find("*")  # new stop, counted from the old stop (HGVS extTerN)
    assert row.hgvs_p == P + f"Ter67GlnextTer{'?' if stop < 0 else stop}"
    assert row.consequence == "stop_lost"


@pytest.mark.parametrize(
    "pos,terms",
    [
        (131, "splice_donor_variant"),  # +1: VEP gives the splice term alone
        (132, "splice_donor_variant"),
        (133, "splice_donor_region_variant&intron_variant"),  # +3
        (135, "splice_donor_5th_base_variant&intron_variant"),  # +5
        (137, "splice_region_variant&intron_variant"),  # +7
        (139, "intron_variant"),  # +9
        (199, "splice_acceptor_variant"),  # -2
        (195, "splice_region_variant&splice_polypyrimidine_tract_variant&intron_variant"),
        (185, "splice_polypyrimidine_tract_variant&intron_variant"),  # -16
        (170, "intron_variant"),
        (105, "5_prime_UTR_variant"),
        (90, "upstream_gene_variant"),
        (430, "3_prime_UTR_variant"),
        (460, "downstream_gene_variant"),
    ],
)
def test_consequence_terms(pos, terms):
    ref = BASES[pos - 1]
    row = name(pos, ref, "A" if ref != "A" else "C")
    assert row.consequence == terms


def test_exon_edge_codon_is_also_splice_region():
    # c.20 is the last base of exon 1 (codon 7 = TGG spans the junction: c.19-21)
    row = name(c_pos(20), "G", "C")
    assert row.consequence == "missense_variant&splice_region_variant"
    assert row.hgvs_p == P + "Trp7Ser"
    assert row.exon == "1/3" and row.legacy_exon == ""


def test_deletion_across_exon_intron_junction_has_unknown_protein_effect():
    row = name(c_pos(19), "TGGT", "T")  # deletes c.20 and c.20+1_20+2
    assert row.hgvs_c == C + "20_20+2del"
    assert row.hgvs_p == P + "?"
    assert row.consequence.split("&")[0] == "splice_donor_variant"
    assert "coding_sequence_variant" in row.consequence
    assert row.exon == "1/3" and row.intron == "1/2"
