"""Evidence of absence: was a sample actually looked at in NLRP3? Pure.

A patient is ``negative`` only with evidence that the locus was genotyped in that sample:
a called genotype on a record in the NLRP3 window (a non-reference call, or a reference call
with at least the minimum depth), gVCF reference blocks (``END`` with ``MIN_DP``/``DP``) over
the coding exons, a coverage file, or a scan of the reads. A sample with none of these (no
records in the locus, only missing genotypes, a VCF of another chromosome) is
``not_assessable``: "no calls in the NLRP3 locus".

``coding_bases_covered`` is the fraction of the MANE coding bases, plus the two intronic
bases of each splice site, covered at the minimum depth by gVCF blocks, a coverage file or
a scan; ``unknown`` where none of those was given (a variants-only VCF says nothing about
the bases it does not list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nlrp3annot.values.intervals import merge_intervals

SPLICE_FLANK = 2  # intronic bases of each splice site counted with the coding bases
NO_CALLS = "no calls in the NLRP3 locus"
UNKNOWN = "unknown"


def coding_targets(
    exons: Sequence[tuple[int, int]], cds_start: int, cds_end: int
) -> list[tuple[int, int]]:
    """The coding part of each exon (1-based, inclusive), widened by ``SPLICE_FLANK`` into
    the intron wherever it ends at a splice site (not at the start or stop codon)."""
    out = []
    for exon_start, exon_end in exons:
        start, end = max(exon_start, cds_start), min(exon_end, cds_end)
        if start > end:
            continue  # an untranslated exon
        if start == exon_start and exon_start > exons[0][0]:
            start -= SPLICE_FLANK
        if end == exon_end and exon_end < exons[-1][1]:
            end += SPLICE_FLANK
        out.append((start, end))
    return out


def covered_fraction(
    covered: Iterable[tuple[int, int]], targets: Sequence[tuple[int, int]]
) -> float:
    """Share of the target bases inside the covered intervals (both inclusive)."""
    total = sum(end - start + 1 for start, end in targets)
    if not total:
        return 0.0
    inside = 0
    spans = merge_intervals(covered)
    for t_start, t_end in merge_intervals(targets):
        for c_start, c_end in spans:
            low, high = max(t_start, c_start), min(t_end, c_end)
            if low <= high:
                inside += high - low + 1
    return inside / total


def coverage_columns(
    covered: Sequence[tuple[int, int]] | None,
    targets: Sequence[tuple[int, int]],
    lowest: tuple[int, int] | None,
) -> dict[str, object]:
    """The patient table's evidence columns for one sample."""
    fraction: object = UNKNOWN if covered is None else round(covered_fraction(covered, targets), 4)
    return {
        "coding_bases_covered": fraction,
        "lowest_depth_at_pathogenic_positions": UNKNOWN if lowest is None else lowest[0],
    }
