"""Sequence Ontology consequence terms and impact, as Ensembl VEP (release 105+) writes them.

Splice windows (transcript orientation), from VEP's definitions:
- splice_donor_variant: intron +1/+2; splice_acceptor_variant: intron -1/-2
- splice_donor_5th_base_variant: +5; splice_donor_region_variant: +3, +4, +6
- splice_polypyrimidine_tract_variant: -3 .. -17
- splice_region_variant: the 3 exon bases next to an intron, intron +7/+8 and -3 .. -8
  (VEP reports the more specific donor-region terms instead of it at +3 .. +6)
- intron_variant: intron +3 .. -3 (so a +1/+2 or -1/-2 change is splice_*_variant alone)
Upstream/downstream reach 5 kb from the transcript ends.
"""

from __future__ import annotations

from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.naming.protein import Kind, ProteinChange
from nlrp3annot.naming.variant import Edit

# term: (VEP rank, impact). Ranks from VEP's OVERLAP_CONSEQUENCES table (release 105+).
TERMS: dict[str, tuple[int, str]] = {
    "splice_acceptor_variant": (2, "HIGH"),
    "splice_donor_variant": (3, "HIGH"),
    "stop_gained": (4, "HIGH"),
    "frameshift_variant": (5, "HIGH"),
    "stop_lost": (6, "HIGH"),
    "start_lost": (7, "HIGH"),
    "inframe_insertion": (11, "MODERATE"),
    "inframe_deletion": (12, "MODERATE"),
    "missense_variant": (13, "MODERATE"),
    "protein_altering_variant": (14, "MODERATE"),
    "splice_donor_5th_base_variant": (15, "LOW"),
    "splice_region_variant": (16, "LOW"),
    "splice_donor_region_variant": (17, "LOW"),
    "splice_polypyrimidine_tract_variant": (18, "LOW"),
    "start_retained_variant": (20, "LOW"),
    "stop_retained_variant": (21, "LOW"),
    "synonymous_variant": (22, "LOW"),
    "coding_sequence_variant": (23, "MODIFIER"),
    "5_prime_UTR_variant": (25, "MODIFIER"),
    "3_prime_UTR_variant": (26, "MODIFIER"),
    "intron_variant": (28, "MODIFIER"),
    "upstream_gene_variant": (32, "MODIFIER"),
    "downstream_gene_variant": (33, "MODIFIER"),
}
_IMPACT_ORDER = ["HIGH", "MODERATE", "LOW", "MODIFIER"]
UPSTREAM_DISTANCE = 5_000


def _touched(edit: Edit) -> tuple[int, int, bool]:
    """(lo, hi, is_insertion): the bases changed; for an insertion its two flanking bases."""
    if edit.is_insertion:
        return edit.end, edit.start, True
    return edit.start, edit.end, False


def _hits(edit: Edit, lo: int, hi: int) -> bool:
    """Does the change touch ``lo..hi``? An insertion does when both flanks are inside."""
    a, b, insertion = _touched(edit)
    if insertion:
        return lo <= a and b <= hi
    return a <= hi and lo <= b


def _near(edit: Edit, lo: int, hi: int, junction: int) -> bool:
    """Like :func:`_hits` for a splice-region window ``lo..hi``; an insertion also counts
    when it sits between the window and its splice ``junction`` side (the base next to the
    window towards the exon/intron junction), so +2|+3 or exon end|+1 get a region term."""
    a, b, insertion = _touched(edit)
    if not insertion:
        return a <= hi and lo <= b
    return min(lo, junction) <= a and b <= max(hi, junction)


def touches_splice_site(tmap: TranscriptMap, edit: Edit) -> bool:
    """Does the change touch an intron's first two or last two bases (GT...AG)?"""
    a, b, _ = _touched(edit)
    return any(
        _hits(edit, start, start + 1) or _hits(edit, end - 1, end)
        for start, end in tmap.introns()
        if start <= b and a <= end  # (no window of an intron the change does not reach)
    )


def splice_and_intron_terms(tmap: TranscriptMap, edit: Edit) -> set[str]:
    terms: set[str] = set()
    a, b, insertion = _touched(edit)
    for intron_start, intron_end in tmap.introns():
        if b < intron_start - 4 or a > intron_end + 4:
            continue  # every window of this intron lies within its 3 flanking exon bases
        donor, acceptor = intron_start, intron_end  # first and last intron base
        if _hits(edit, donor, donor + 1):
            terms.add("splice_donor_variant")
        if _hits(edit, acceptor - 1, acceptor):
            terms.add("splice_acceptor_variant")
        specific_donor = False
        if _near(edit, donor + 4, donor + 4, donor + 3):
            terms.add("splice_donor_5th_base_variant")
            specific_donor = True
        elif _near(edit, donor + 2, donor + 5, donor + 1):
            terms.add("splice_donor_region_variant")
            specific_donor = True
        if _near(edit, acceptor - 16, acceptor - 2, acceptor - 1):
            terms.add("splice_polypyrimidine_tract_variant")
        region = (
            _near(edit, donor - 3, donor - 1, donor)  # last 3 exon bases
            or _near(edit, acceptor + 1, acceptor + 3, acceptor)  # first 3 exon bases
            or (_near(edit, donor + 2, donor + 7, donor + 1) and not specific_donor)
            or _near(edit, acceptor - 7, acceptor - 2, acceptor - 1)
        )
        if region:
            terms.add("splice_region_variant")
        in_intron = _hits(edit, donor + 2, acceptor - 2)
        if insertion:  # inside the intron, and not wholly within a splice site
            in_intron = (
                donor <= a
                and b <= acceptor
                and not _hits(edit, donor, donor + 1)
                and not _hits(edit, acceptor - 1, acceptor)
            )
        if in_intron:
            terms.add("intron_variant")
    return terms


def consequence_terms(tmap: TranscriptMap, edit: Edit, change: ProteinChange | None) -> list[str]:
    """VEP consequence terms for ``edit`` (3'-shifted) on the transcript, most severe first."""
    return with_protein_terms(*location_terms(tmap, edit, change is None), change)


def with_protein_terms(
    located: frozenset[str], in_transcript: bool, change: ProteinChange | None
) -> list[str]:
    """The location terms (:func:`location_terms`) with the protein's, most severe first as
    VEP lists them (a change outside the transcript has no protein terms)."""
    terms = located | protein_terms(change) if in_transcript else located
    return sorted(terms, key=lambda term: TERMS[term][0])


def location_terms(tmap: TranscriptMap, edit: Edit, noncoding: bool) -> tuple[frozenset[str], bool]:
    """The terms that where the change sits decides (all but the protein's), and whether it
    touches the transcript at all. ``noncoding``: the change has no protein effect (which
    decides whether an insertion at the CDS edge is a UTR change). A function of the changed
    span alone, so the annotator keeps it per span."""
    t = tmap.transcript
    a, b, insertion = _touched(edit)
    terms: set[str] = set()
    if b < t.tx_start or (insertion and b == t.tx_start and a < t.tx_start):
        return frozenset(["upstream_gene_variant"]), False
    if a > t.tx_end or (insertion and a == t.tx_end and b > t.tx_end):
        return frozenset(["downstream_gene_variant"]), False
    terms |= splice_and_intron_terms(tmap, edit)
    if any(_hits(edit, s, e) for s, e in tmap.five_utr_pieces):
        terms.add("5_prime_UTR_variant")
    if any(_hits(edit, s, e) for s, e in tmap.three_utr_pieces):
        terms.add("3_prime_UTR_variant")
    if insertion and noncoding and a == t.cds_start - 1 and b == t.cds_start:
        terms.add("5_prime_UTR_variant")
    if insertion and noncoding and a == t.cds_end and b == t.cds_end + 1:
        terms.add("3_prime_UTR_variant")
    if a < t.tx_start:
        terms.add("upstream_gene_variant")
    if b > t.tx_end:
        terms.add("downstream_gene_variant")
    return frozenset(terms), True


def protein_terms(change: ProteinChange | None) -> set[str]:
    if change is None:
        return set()
    k = change.kind
    terms: set[str] = set()
    if k is Kind.UNKNOWN:
        terms.add("coding_sequence_variant")
    elif k is Kind.START_LOST:
        terms.add("start_lost")
    elif k is Kind.SYNONYMOUS:
        terms.add("synonymous_variant")
    elif k is Kind.STOP_RETAINED:
        terms.add("stop_retained_variant")
    elif k is Kind.MISSENSE:
        terms.add("missense_variant")
    elif k is Kind.NONSENSE:
        terms.add("stop_gained")
        if not change.frameshift and change.length_change:
            terms.add("inframe_insertion" if change.length_change > 0 else "inframe_deletion")
    elif k is Kind.EXTENSION:
        terms.add("stop_lost")
    elif k is Kind.FRAMESHIFT:
        pass
    elif k in (Kind.DELETION, Kind.INSERTION, Kind.DUPLICATION, Kind.DELINS):
        if "*" in change.alt and "*" not in change.ref:
            terms.add("stop_gained")
        if k is not Kind.INSERTION and "*" in change.ref and "*" not in change.alt:
            terms.add("stop_lost")
        if change.length_change < 0:
            terms.add("inframe_deletion")
        elif change.length_change > 0:
            terms.add("inframe_insertion")
        elif k is Kind.DELINS and not terms:
            terms.add("missense_variant")
    if change.frameshift:
        terms.add("frameshift_variant")
    return terms


def impact(terms: list[str]) -> str:
    """The most severe impact among ``terms`` (VEP's IMPACT)."""
    if not terms:
        return "MODIFIER"
    return min((TERMS[t][1] for t in terms), key=_IMPACT_ORDER.index)
