"""One variant allele named on one transcript: the annotation table's row."""

from __future__ import annotations

import operator
from dataclasses import dataclass


@dataclass(frozen=True)
class Annotation:
    """One variant allele on one transcript. Field order is the TSV column order."""

    chrom: str
    pos: int
    ref: str
    alt: str
    build: str
    gene: str
    gene_id: str
    transcript: str
    hgvs_c: str
    hgvs_p: str
    legacy_protein: str
    consequence: str
    impact: str
    exon: str
    intron: str
    legacy_exon: str
    cds_position: str
    protein_position: str
    uniprot_position: str
    amino_acids: str
    codons: str
    domain: str
    hgvs_g: str
    spdi: str
    norm_pos: int
    norm_ref: str
    norm_alt: str
    ensembl_transcript: str
    protein_id: str
    flags: str
    ref_mismatch: bool
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        # every field is a plain value: a shallow copy, not dataclasses.asdict's deep copy
        # (which took a third of the run time on a 10,000-record file)
        return dict(zip(COLUMNS, _FIELDS(self), strict=True))


COLUMNS = list(Annotation.__dataclass_fields__)
_FIELDS = operator.attrgetter(*COLUMNS)


def astuple(row: Annotation) -> tuple:
    """The row's fields in order (``from_fields(astuple(row)) == row``), shallowly."""
    return _FIELDS(row)


def from_fields(fields: tuple) -> Annotation:
    """The inverse of :func:`astuple`: rows come back from worker processes by the thousand."""
    return annotation_of(zip(COLUMNS, fields, strict=True))


def annotation_of(fields) -> Annotation:
    """``Annotation(**fields)`` without the frozen dataclass's field-by-field ``__init__``
    (4 us of a 40 us naming, and 10 us beside unpickling); every field must be given."""
    row = object.__new__(Annotation)
    row.__dict__.update(fields)
    return row
