"""Protein consequences by construction: apply the change to the transcript, translate
reference and alternative, and describe the first difference.

One mechanism covers missense, nonsense, synonymous, frameshifts with their new stop,
in-frame deletions/insertions/duplications (3'-most on the protein), delins, start loss and
stop loss (extension), and changes built from several of a sample's variants at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.naming.variant import Edit

# The standard genetic code (NCBI translation table 1) in NCBI's own compact layout: codons
# in TCAG order of first, second, third base. Written out rather than taken from Biopython's
# CodonTable, whose import builds every NCBI table (~0.04 s of a 0.3 s start-up); the tests
# check it against Biopython.
_AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
_CODONS: dict[str, str] = {
    a + b + c: _AMINO_ACIDS[16 * i + 4 * j + k]
    for i, a in enumerate("TCAG")
    for j, b in enumerate("TCAG")
    for k, c in enumerate("TCAG")
}


def translate(dna: str, to_stop: bool = True) -> str:
    """Translate codon by codon; ``X`` for a codon with N; stop at (and keep) the first ``*``."""
    out = []
    for i in range(0, len(dna) - 2, 3):
        aa = _CODONS.get(dna[i : i + 3], "X")
        out.append(aa)
        if aa == "*" and to_stop:
            break
    return "".join(out)


class Kind(Enum):
    SYNONYMOUS = "synonymous"
    STOP_RETAINED = "stop_retained"
    MISSENSE = "missense"
    NONSENSE = "nonsense"
    FRAMESHIFT = "frameshift"
    DELETION = "deletion"
    INSERTION = "insertion"
    DUPLICATION = "duplication"
    DELINS = "delins"
    EXTENSION = "extension"  # stop lost
    START_LOST = "start_lost"
    UNKNOWN = "unknown"  # coding change whose effect cannot be predicted (spans a splice site)


@dataclass(frozen=True)
class ProteinChange:
    """Difference between reference and alternative protein, positions 1-based.

    ``ref``/``alt`` are one-letter residues ('*' = stop) of the changed segment; for an
    insertion ``start``/``end`` are the flanking residues. ``new_stop`` is the position of
    the new stop counted as HGVS does (fs: from the first changed residue = 1; ext: from the
    old stop), None when the new reading frame has no stop in the transcript.
    """

    kind: Kind
    start: int = 0
    end: int = 0
    ref: str = ""
    alt: str = ""
    new_stop: int | None = None
    frameshift: bool = False
    length_change: int = 0  # residues
    codons: str = ""  # VEP style, e.g. Cga/Tga
    affected: tuple[int, int] | None = None  # residues of the reference touched by the change


@dataclass(frozen=True)
class CodingSequence:
    """Spliced reference sequence from c.1 to the end of the transcript, and its protein."""

    coding: str  # c.1 .. last transcript base (CDS + 3' UTR)
    cds_length: int  # including the stop codon
    protein: str  # reference translation, ending in '*'
    five_utr: str


@cache
def _coding_sequence_cached(tmap: TranscriptMap, bases: str, start: int) -> CodingSequence:
    def get(a: int, b: int) -> str:
        return bases[a - start : b - start + 1]

    spliced = "".join(get(s, e) for s, e in tmap.transcript.exons)
    coding = spliced[tmap.cds_tx_start - 1 :]
    return CodingSequence(
        coding=coding,
        cds_length=tmap.cds_length,
        protein=translate(coding[: tmap.cds_length], to_stop=False),
        five_utr=spliced[: tmap.cds_tx_start - 1],
    )


def coding_sequence(tmap: TranscriptMap, seq) -> CodingSequence:
    """The transcript's coding sequence read from a LocusSequence (cached per sequence)."""
    return _coding_sequence_cached(tmap, seq.bases, seq.start)


def _exonic_span(tmap: TranscriptMap, edit: Edit) -> tuple[int, int] | None:
    """0-based [s, e) offsets from c.1 when the whole change lies inside one exon."""
    if edit.is_insertion:
        left, right = edit.end, edit.start
        i, j = tmap.exon_index(left), tmap.exon_index(right)
        if i is None or i != j:
            return None
        s = tmap.cds_offset(right)
        return s, s
    i, j = tmap.exon_index(edit.start), tmap.exon_index(edit.end)
    if i is None or i != j:
        return None
    s = tmap.cds_offset(edit.start)
    return s, s + len(edit.ref)


def _overlaps_cds(tmap: TranscriptMap, edit: Edit) -> bool:
    t = tmap.transcript
    lo, hi = (edit.end, edit.start) if edit.is_insertion else (edit.start, edit.end)
    if hi < t.cds_start or lo > t.cds_end:
        return False
    return any(s <= hi and lo <= e for s, e in t.exons)


def protein_change(tmap: TranscriptMap, edit: Edit, cds: CodingSequence) -> ProteinChange | None:
    """The protein effect of ``edit`` (already 3'-shifted), or None outside the coding region."""
    span = _exonic_span(tmap, edit)
    if span is None:
        return ProteinChange(Kind.UNKNOWN) if _overlaps_cds(tmap, edit) else None
    s, e = span
    if edit.is_insertion:
        if s <= 0 or s >= cds.cds_length:
            return None  # insertions before c.1 or after the stop codon are UTR changes
    elif e <= 0 or s >= cds.cds_length:
        return None
    codon0 = max(s, 0) // 3
    ref = cds.protein
    delta = len(edit.alt) - (e - s)
    last_codon = max(codon0, (max(e, s + 1) - 1) // 3)
    if delta == 0 and s >= 3 and last_codon < len(ref) - 1:
        local = _substitution(cds, edit.alt, s, e, codon0, last_codon)
        if local is not None:
            return local
    alt_coding = cds.coding[: max(s, 0)] + edit.alt + cds.coding[e:]
    if s < 0 or (s < 3 and alt_coding[:3] != "ATG"):
        return ProteinChange(Kind.START_LOST, 1, 1, "M", "", affected=(1, 1))
    if s < 3 and edit.is_insertion:
        return ProteinChange(Kind.START_LOST, 1, 1, "M", "", affected=(1, 1))

    alt = _alt_protein(ref, alt_coding, codon0, last_codon, delta)
    affected = (codon0 + 1, min(last_codon, len(ref) - 1) + 1)
    codons = _codons(cds.coding, alt_coding, s, e, len(edit.alt), codon0, last_codon, delta)
    common = dict(codons=codons, affected=affected)

    d = _first_difference(ref, alt, codon0)  # the residues before codon0 are unchanged
    if d is None:
        if len(alt) == len(ref):
            kind = Kind.STOP_RETAINED if ref[codon0] == "*" else Kind.SYNONYMOUS
            return ProteinChange(kind, codon0 + 1, codon0 + 1, ref[codon0], ref[codon0], **common)
        d = min(len(ref), len(alt))  # one protein is a prefix of the other
    stop_index = len(ref) - 1
    alt_has_stop = alt.endswith("*")

    if delta % 3:
        if d >= stop_index:
            return _extension(ref, alt, d, alt_has_stop, frameshift=True, **common)
        if d < len(alt) and alt[d] == "*":
            return ProteinChange(
                Kind.NONSENSE, d + 1, d + 1, ref[d], "*", frameshift=True, **common
            )
        new_stop = alt.index("*") - d + 1 if alt_has_stop else None
        alt_residue = alt[d] if d < len(alt) else ""
        return ProteinChange(
            Kind.FRAMESHIFT, d + 1, d + 1, ref[d], alt_residue, new_stop, True, **common
        )

    residues = delta // 3
    if d < len(alt) and alt[d] == "*" and ref[d] != "*":  # first changed residue is a stop
        return ProteinChange(
            Kind.NONSENSE, d + 1, d + 1, ref[d], "*", length_change=residues, **common
        )
    same_stop = alt_has_stop and len(alt) - len(ref) == residues
    if not same_stop and (not alt_has_stop or len(alt) - len(ref) > residues):
        if ref[d] == "*":
            return _extension(ref, alt, d, alt_has_stop, frameshift=False, **common)
        tail = alt[d:]
        return ProteinChange(
            Kind.DELINS,
            d + 1,
            stop_index + 1,
            ref[d:],
            tail,
            None if not alt_has_stop else len(alt),
            length_change=residues,
            **common,
        )
    if not same_stop:  # the change created a stop before the reference stop
        end = max(d, last_codon)
        return ProteinChange(
            Kind.DELINS,
            d + 1,
            end + 1,
            ref[d : end + 1],
            alt[d:],
            length_change=residues,
            **common,
        )

    # common suffix, after the common prefix was taken whole (3'-most placement)
    q = _common_suffix(ref, alt, min(len(ref), len(alt)) - d)
    ref_seg, alt_seg = ref[d : len(ref) - q], alt[d : len(alt) - q]
    if len(ref_seg) == 1 and len(alt_seg) == 1:
        return ProteinChange(Kind.MISSENSE, d + 1, d + 1, ref_seg, alt_seg, **common)
    if not alt_seg:
        return ProteinChange(
            Kind.DELETION, d + 1, d + len(ref_seg), ref_seg, "", length_change=residues, **common
        )
    if not ref_seg:
        n = len(alt_seg)
        if d - n >= 0 and ref[d - n : d] == alt_seg:
            return ProteinChange(
                Kind.DUPLICATION, d - n + 1, d, alt_seg, alt_seg, length_change=residues, **common
            )
        return ProteinChange(
            Kind.INSERTION, d, d + 1, ref[d - 1 : d + 1], alt_seg, length_change=residues, **common
        )
    return ProteinChange(
        Kind.DELINS, d + 1, d + len(ref_seg), ref_seg, alt_seg, length_change=residues, **common
    )


def _substitution(
    cds: CodingSequence, alt: str, s: int, e: int, c0: int, c1: int
) -> ProteinChange | None:
    """A same-length change inside codons c0..c1, none of them the start or the stop codon,
    that creates no stop: only those codons can differ, so they are all that is compared
    (the general path below builds and compares whole proteins, and gives the same answer).
    None when a stop is created, for the general path."""
    lo = c0 * 3
    ref_window = cds.coding[lo : (c1 + 1) * 3]
    alt_window = ref_window[: s - lo] + alt + ref_window[e - lo :]
    alt_residues = translate(alt_window, to_stop=False)
    if "*" in alt_residues:
        return None
    ref_residues = cds.protein[c0 : c1 + 1]
    codons = _codons(ref_window, alt_window, s - lo, e - lo, len(alt), 0, c1 - c0, 0)
    common = dict(codons=codons, affected=(c0 + 1, c1 + 1))
    i = _first_difference(ref_residues, alt_residues, 0)
    if i is None:
        return ProteinChange(
            Kind.SYNONYMOUS, c0 + 1, c0 + 1, ref_residues[0], ref_residues[0], **common
        )
    q = _common_suffix(ref_residues, alt_residues, len(ref_residues) - i)
    ref_seg, alt_seg = (
        ref_residues[i : len(ref_residues) - q],
        alt_residues[i : len(alt_residues) - q],
    )
    d = c0 + i
    if len(ref_seg) == 1:
        return ProteinChange(Kind.MISSENSE, d + 1, d + 1, ref_seg, alt_seg, **common)
    return ProteinChange(Kind.DELINS, d + 1, d + len(ref_seg), ref_seg, alt_seg, **common)


def _alt_protein(ref: str, alt_coding: str, c0: int, c1: int, delta: int) -> str:
    """The alternative protein up to its first stop. An in-frame change that neither
    touches the stop codon nor creates one only changes codons c0..c1 (the codons after it
    are the reference's, shifted by whole codons), so only those are translated; anything
    else is translated from c0 to the new stop."""
    if delta % 3 == 0 and c1 < len(ref) - 1:
        middle = translate(alt_coding[c0 * 3 : (c1 + 1) * 3 + delta], to_stop=False)
        if "*" not in middle:
            return ref[:c0] + middle + ref[c1 + 1 :]
    return ref[:c0] + translate(alt_coding[c0 * 3 :])


def _first_difference(a: str, b: str, start: int) -> int | None:
    """The first index >= ``start`` where a and b differ (None when one is a prefix of the
    other from there on), by halving slices that compare in C."""
    lo, hi = start, min(len(a), len(b))
    if a[lo:hi] == b[lo:hi]:
        return None
    while hi - lo > 1:  # a[start:lo] == b[start:lo]; the first difference is in [lo, hi)
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length (at most ``limit``) of the longest common suffix of a and b."""
    lo, hi = 0, max(limit, 0)  # a suffix of length lo is common; of length > hi, not tested
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _extension(ref: str, alt: str, d: int, alt_has_stop: bool, frameshift: bool, **common):
    new_stop = (len(alt) - 1) - d if alt_has_stop else None
    return ProteinChange(
        Kind.EXTENSION,
        d + 1,
        d + 1,
        "*",
        alt[d] if d < len(alt) else "",
        new_stop,
        frameshift,
        **common,
    )


def _codons(
    ref_coding: str, alt_coding: str, s: int, e: int, alt_len: int, c0: int, c1: int, delta: int
) -> str:
    """VEP-style Codons column: affected codons, changed bases in upper case."""
    lo, hi = c0 * 3, (c1 + 1) * 3
    ref_codons = ref_coding[lo:hi]
    alt_hi = hi + delta
    if delta % 3:
        alt_hi = lo + ((hi - lo + delta + 2) // 3) * 3
    alt_codons = alt_coding[lo : max(alt_hi, lo)]
    ref_text = _upper_only(ref_codons, s - lo, e - lo)
    alt_text = _upper_only(alt_codons, s - lo, s - lo + alt_len)
    return f"{ref_text or '-'}/{alt_text or '-'}"


def _upper_only(codons: str, i: int, j: int) -> str:
    """``codons`` in lower case but for its bases i..j-1 (clipped to the string), as given."""
    i = min(max(i, 0), len(codons))
    j = min(max(j, i), len(codons))
    return codons[:i].lower() + codons[i:j] + codons[j:].lower()


__all__ = [
    "Kind",
    "ProteinChange",
    "CodingSequence",
    "coding_sequence",
    "protein_change",
    "translate",
]
