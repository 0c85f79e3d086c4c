"""HGVS names (c., g., p.) for normalised changes. Pure string building.

Rules followed (HGVS nomenclature, current recommendations):
- the change is described 3'-most (the caller passes a 3'-shifted :class:`Edit`);
- an insertion equal to the bases just 5' of it is a ``dup``; ``del``/``dup`` carry no bases;
- intronic positions count from the nearest exon (``c.277+83``, ``c.278-10``), 5' UTR as
  ``c.-N`` and 3' UTR as ``c.*N``; up/downstream continue those counts;
- p.: three-letter codes, ``Ter`` for stops, ``=`` for synonymous, ``fsTerN``, ``extTerN``,
  ``p.Met1?`` for start loss, ``p.?`` when the effect cannot be predicted.
"""

from __future__ import annotations

from Bio.Data.IUPACData import protein_letters_1to3

from nlrp3annot.naming.coords import TranscriptMap
from nlrp3annot.naming.protein import Kind, ProteinChange
from nlrp3annot.naming.variant import Edit, SequenceSource

_THREE = {k: v for k, v in protein_letters_1to3.items()}
_THREE.update({"*": "Ter", "X": "Xaa", "U": "Sec"})


def three_letter(residues: str) -> str:
    return "".join(_THREE[r] for r in residues)


def _range(first: str, last: str) -> str:
    return first if first == last else f"{first}_{last}"


def describe_edit(edit: Edit, seq: SequenceSource, position) -> str:
    """The part after ``c.``/``g.``: ``position`` maps a genomic position to its label."""
    if edit.is_substitution:
        return f"{position(edit.start)}{edit.ref}>{edit.alt}"
    if edit.is_deletion:
        return f"{_range(position(edit.start), position(edit.end))}del"
    if edit.is_insertion:
        n = len(edit.alt)
        before = seq.get(edit.end - n + 1, edit.end)
        if before == edit.alt:
            return f"{_range(position(edit.end - n + 1), position(edit.end))}dup"
        return f"{position(edit.end)}_{position(edit.start)}ins{edit.alt}"
    return f"{_range(position(edit.start), position(edit.end))}delins{edit.alt}"


def hgvs_c(tmap: TranscriptMap, edit: Edit, seq: SequenceSource) -> str:
    """e.g. ``NM_001243133.2:c.778C>T`` for a 3'-shifted edit on a plus-strand transcript."""
    body = describe_edit(edit, seq, tmap.c_label)
    return f"{tmap.transcript.accession}:c.{body}"


def hgvs_g(refseq_accession: str, edit: Edit, seq: SequenceSource) -> str:
    """e.g. ``NC_000001.11:g.247424227C>T``."""
    return f"{refseq_accession}:g.{describe_edit(edit, seq, str)}"


def hgvs_p(protein_id: str, change: ProteinChange | None) -> str:
    """e.g. ``NP_001230062.1:p.Arg260Trp``; empty when the change is not in the protein."""
    if change is None:
        return ""
    return f"{protein_id}:p.{describe_protein(change)}"


def describe_protein(c: ProteinChange) -> str:
    k = c.kind
    if k is Kind.UNKNOWN:
        return "?"
    if k is Kind.START_LOST:
        return "Met1?"
    first = f"{three_letter(c.ref[:1])}{c.start}"
    if k in (Kind.SYNONYMOUS, Kind.STOP_RETAINED):
        return f"{first}="
    if k is Kind.MISSENSE:
        return f"{first}{three_letter(c.alt)}"
    if k is Kind.NONSENSE:
        return f"{first}Ter"
    if k is Kind.FRAMESHIFT:
        stop = "?" if c.new_stop is None else str(c.new_stop)
        return f"{first}{three_letter(c.alt)}fsTer{stop}"
    if k is Kind.EXTENSION:
        stop = "?" if c.new_stop is None else str(c.new_stop)
        return f"{first}{three_letter(c.alt)}extTer{stop}"
    last = f"{three_letter(c.ref[-1:])}{c.end}"
    if k is Kind.DELETION:
        return f"{_range(first, last)}del"
    if k is Kind.DUPLICATION:
        return f"{_range(first, last)}dup"
    if k is Kind.INSERTION:
        left = f"{three_letter(c.ref[0])}{c.start}"
        right = f"{three_letter(c.ref[1])}{c.end}"
        return f"{left}_{right}ins{three_letter(c.alt)}"
    if k is Kind.DELINS:
        return f"{_range(first, last)}delins{three_letter(c.alt)}"
    raise ValueError(f"no HGVS form for {k}")
