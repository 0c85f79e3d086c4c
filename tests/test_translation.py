"""The naming engine's own genetic code against Biopython's (an independent table)."""

from __future__ import annotations

import random

from Bio.Data.CodonTable import standard_dna_table
from Bio.Seq import Seq

from nlrp3annot.naming.protein import _CODONS, translate


def test_codon_table_is_ncbi_table_1() -> None:
    expected = dict(standard_dna_table.forward_table)
    expected.update({stop: "*" for stop in standard_dna_table.stop_codons})
    assert expected == _CODONS


def test_translate_agrees_with_biopython_on_random_sequences() -> None:
    rng = random.Random(7)
    for _ in range(200):
        dna = "".join(rng.choice("ACGT") for _ in range(rng.randrange(0, 120)))
        usable = dna[: len(dna) - len(dna) % 3]
        theirs = str(Seq(usable).translate()) if usable else ""
        assert translate(dna, to_stop=False) == theirs
        to_stop = theirs[: theirs.index("*") + 1] if "*" in theirs else theirs
        assert translate(dna) == to_stop


_THREE = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
}  # fmt: skip


def _expected_name(ref_protein: str, alt_protein: str) -> str:
    """The HGVS name of a same-length change from two whole translations (Biopython's):
    synonymous (p.Xn=), a stop at the first difference (p.XnTer), one residue (p.XnY), or
    several (p.Xn_Ym delins); only for changes that leave start and stop codons alone."""
    diffs = [i for i, (a, b) in enumerate(zip(ref_protein, alt_protein, strict=True)) if a != b]
    if not diffs:
        return ""
    first, last = diffs[0], diffs[-1]
    if alt_protein[first] == "*":
        return f"p.{_THREE[ref_protein[first]]}{first + 1}Ter"
    if "*" in alt_protein[:-1]:
        return None  # a stop after the first change: not checked here
    if first == last:
        return f"p.{_THREE[ref_protein[first]]}{first + 1}{_THREE[alt_protein[first]]}"
    inserted = "".join(_THREE[a] for a in alt_protein[first : last + 1])
    return (
        f"p.{_THREE[ref_protein[first]]}{first + 1}_{_THREE[ref_protein[last]]}{last + 1}"
        f"delins{inserted}"
    )


def test_every_coding_substitution_agrees_with_whole_protein_translation(fasta38) -> None:
    """Every SNV, and every 2- and 3-base substitution, of the MANE CDS (start and stop codons
    aside), named by the engine (which compares only the changed codons) and by translating
    the whole altered CDS with Biopython."""
    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.genome.sequence import read_fasta_locus
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.naming.coords import TranscriptMap
    from nlrp3annot.values import Variant

    seq = read_fasta_locus(fasta38, "GRCh38")
    t = mane_transcript("GRCh38")
    annotator = Annotator([t], seq)
    tmap = TranscriptMap.of(t)
    cds_genomic = [p for s, e in t.exons for p in range(s, e + 1) if t.cds_start <= p <= t.cds_end]
    cds = "".join(seq.get(p, p) for p in cds_genomic)
    ref_protein = str(Seq(cds).translate())
    assert len(cds) == 3105 and ref_protein.endswith("*") and ref_protein.count("*") == 1
    rng = random.Random(11)
    checked = 0
    for c0 in range(3, len(cds) - 3):
        for length in (1, 2, 3):
            if c0 + length > len(cds) - 3:
                continue
            span = cds_genomic[c0 : c0 + length]
            if span[-1] - span[0] != length - 1:
                continue  # crosses an intron: not a simple substitution in the genome
            if length == 1:
                alts = [b for b in "ACGT" if b != cds[c0]]
            else:  # one random substitution of each longer length here
                alts = ["".join(rng.choice("ACGT") for _ in range(length))]
                if alts[0][0] == cds[c0] or alts[0][-1] == cds[c0 + length - 1]:
                    continue  # would trim to a shorter change
            for alt in alts:
                altered = cds[:c0] + alt + cds[c0 + length :]
                expected = _expected_name(ref_protein, str(Seq(altered).translate()))
                if expected is None:
                    continue
                variant = Variant("chr1", span[0], cds[c0 : c0 + length], alt)
                row = annotator.annotate(variant)[0]
                name = row.hgvs_p.split(":", 1)[1]
                if expected == "":  # synonymous: HGVS names the first codon touched, p.Xn=
                    residue = c0 // 3
                    expected = f"p.{_THREE[ref_protein[residue]]}{residue + 1}="
                assert name == expected, (row.hgvs_c, name, expected)
                assert tmap.cds_offset(span[0]) == c0
                checked += 1
    assert checked > 9000


def test_an_insertion_and_the_base_after_it_on_one_haplotype_in_either_order(fasta38) -> None:
    """T>TA before c.778 and c.778C>T on one haplotype (the insertion trims to an empty span
    ending just before c.778): named the same whichever comes first, where an SNV first was
    taken for an overlap and raised. The protein from Biopython's translation of the altered
    CDS: the first changed residue, its new amino acid and the new stop counted from it
    (HGVS p.XnYfsTerN)."""
    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.genome.sequence import read_fasta_locus
    from nlrp3annot.naming.annotator import Annotator
    from nlrp3annot.naming.coords import TranscriptMap
    from nlrp3annot.values import Variant

    seq = read_fasta_locus(fasta38, "GRCh38")
    t = mane_transcript("GRCh38")
    cds_genomic = [p for s, e in t.exons for p in range(s, e + 1) if t.cds_start <= p <= t.cds_end]
    cds = "".join(seq.get(p, p) for p in cds_genomic)
    c778 = 247424227  # ClinVar 4374's GRCh38 position (c.778C>T)
    c0 = TranscriptMap.of(t).cds_offset(c778)
    assert c0 == 777 and cds[c0] == "C"
    altered = cds[:c0] + "A" + "T" + cds[c0 + 1 :]
    ref_protein, alt_protein = (
        str(Seq(cds).translate()),
        str(Seq(altered[: len(altered) // 3 * 3]).translate()),
    )
    first = next(
        i for i, (a, b) in enumerate(zip(ref_protein, alt_protein, strict=False)) if a != b
    )
    stop = alt_protein.index("*", first) - first + 1
    expected = f"p.{_THREE[ref_protein[first]]}{first + 1}{_THREE[alt_protein[first]]}fsTer{stop}"
    insertion = Variant(
        "chr1", c778 - 1, seq.get(c778 - 1, c778 - 1), seq.get(c778 - 1, c778 - 1) + "A"
    )
    snv = Variant("chr1", c778, "C", "T")
    names = set()
    for order in ([insertion, snv], [snv, insertion]):
        names.add(tuple(Annotator([t], seq).haplotype(order)))  # a fresh memo each time
    assert len(names) == 1
    ((hgvs_c, hgvs_p),) = names.pop()
    assert hgvs_c.endswith(":c.[777_778insA;778C>T]")
    assert hgvs_p.split(":", 1)[1] == expected
