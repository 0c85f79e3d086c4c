"""The alleles the scan holds a stronger prior for: ClinVar's pathogenic and likely
pathogenic NLRP3 SNVs and indels, in the reads' build, spelled VCF-style and left-aligned
on the FASTA."""

from __future__ import annotations

from dataclasses import dataclass

from nlrp3annot.genome.reference import GRCH37_OFFSET
from nlrp3annot.reads.calling import Allele


@dataclass(frozen=True)
class KnownAlleles:
    """ClinVar pathogenic/likely pathogenic SNVs and indels (VCF-style, left-aligned)."""

    snvs: frozenset[Allele]
    indels: frozenset[Allele]


def known_alleles(build: str, seq, knowledge=None) -> KnownAlleles:
    """``seq``: the FASTA's sequence (``get(start, end)``), to spell and left-align the
    indels. Changes of several bases into as many (MNVs) are not single alleles here."""
    from nlrp3annot.knowledge.columns import Knowledge
    from nlrp3annot.naming.variant import shift_5prime, to_vcf, trim
    from nlrp3annot.patients.status import is_pathogenic

    knowledge = knowledge or Knowledge.load()
    shift = GRCH37_OFFSET if build == "GRCh37" else 0
    snvs, indels = set(), set()
    for record in knowledge.clinvar.records():
        pos0, deleted, inserted = record.spdi
        if not is_pathogenic(record.significance):
            continue
        if len(deleted) == 1 and len(inserted) == 1:
            snvs.add((pos0 + 1 + shift, deleted, inserted))
        elif len(deleted) != len(inserted):
            edit = trim(pos0 + 1 + shift, deleted, inserted)
            indels.add(to_vcf(shift_5prime(edit, seq, edit.start - 1000), seq))
    return KnownAlleles(frozenset(snvs), frozenset(indels))
