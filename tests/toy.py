"""A small made-up plus-strand transcript for rule tests of the pure naming core.

Exons 101-130, 201-260, 301-450 on contig "toy"; CDS 111..421 (c.1 = 111); 66 codons +
stop. The coding sequence is written out codon by codon below, so every expected name in
the tests can be worked out by hand from the HGVS rules.
"""

from __future__ import annotations

from nlrp3annot.genome.reference import Domain, Transcript
from nlrp3annot.genome.sequence import LocusSequence
from nlrp3annot.naming.annotator import Annotator
from nlrp3annot.values import Variant

# c.1..c.200: ATG, then codons; 'AAA AAA' (Lys Lys) at codons 10-11, 'CAG CAG CAG' at 20-22,
# stop TAA at codon 67 (c.199-c.201 is 66*3+1 .. 67*3).
CODONS = (
    ["ATG", "GCT", "TCC", "GAA", "CTG", "CGA", "TGG", "GAT", "ACC", "AAA", "AAA", "GGC"]
    + ["TTC", "CCA", "GTT", "ATC", "CAT", "TAC", "GCA", "CAG", "CAG", "CAG", "TGC", "GAG"]
    + ["ACA", "CTC"] * 21
    + ["TAA"]
)
CDS = "".join(CODONS)
assert len(CDS) == 201  # 66 aa + stop

EXONS = ((101, 130), (201, 260), (301, 450))
CDS_START, CDS_END = 111, None  # CDS_END computed below


def _build() -> tuple[str, int]:
    """Lay the CDS into the exons; introns GT...AG with an A6 run; UTRs fixed text."""
    seq = {}
    cds_pos = []
    for s, e in EXONS:
        cds_pos += [p for p in range(s, e + 1) if p >= CDS_START]
    cds_pos = cds_pos[: len(CDS)]
    for p, b in zip(cds_pos, CDS, strict=True):
        seq[p] = b
    filler = "TGCATCGACT"
    for p in range(1, 501):
        seq.setdefault(p, filler[p % len(filler)])
    # introns 131-200 and 261-300: GT at start, AG at end, A6 run at 150-155
    for p, b in (
        (131, "G"),
        (132, "T"),
        (199, "A"),
        (200, "G"),
        (261, "G"),
        (262, "T"),
        (299, "A"),
        (300, "G"),
    ):
        seq[p] = b
    # 3' UTR with stops in all three frames, so frameshifts and extensions end somewhere
    for p, b in zip(range(422, 451), "CTTAGATGATAAGCTGACTTAGCATAGCA", strict=True):
        seq[p] = b
    for p in range(150, 156):
        seq[p] = "A"
    seq[149], seq[156] = "C", "C"
    return "".join(seq[p] for p in range(1, 501)), cds_pos[-1]


BASES, CDS_END = _build()
SEQ = LocusSequence("GRCh38", 1, BASES, "toy")
TRANSCRIPT = Transcript(
    accession="NM_TOY.1",
    ensembl_id="ENST_TOY",
    protein_id="NP_TOY.1",
    gene="TOY",
    gene_id="G_TOY",
    build="GRCh38",
    chrom="toy",
    exons=EXONS,
    cds_start=CDS_START,
    cds_end=CDS_END,
    protein="",
    domains=(Domain("DOM", 2, 5, 4, 7),),
    legacy_exon_numbers=(None, 1, 2),
    flags=(),
    uniprot_offset=2,
)
ANNOTATOR = Annotator([TRANSCRIPT], SEQ)


def name(pos: int, ref: str, alt: str):
    """Annotate a VCF-style allele on the toy transcript; returns the one Annotation."""
    (row,) = ANNOTATOR.annotate(Variant("toy", pos, ref, alt))
    return row


def c_pos(c: int) -> int:
    """Genomic position of c.<c> (coding, 1-based)."""
    p = [q for s, e in EXONS for q in range(s, e + 1) if q >= CDS_START]
    return p[c - 1]
