"""Allele counts from the reads of one BAM or CRAM over the NLRP3 coding exons and splice
sites, through its index (only the locus is read: a 30x genome costs what its 3 kb cost).

Reads count when they pass every filter (:class:`ReadFilters`): mapped, mapping quality at
least ``min_mapq``, not a duplicate, secondary or supplementary alignment, not QC-failed,
and, for paired reads, mapped as a proper pair; a base counts when its quality is at least
``min_baseq``. Counts are kept per position and strand: each of A, C, G, T (htslib's
``count_coverage``, one pass per strand), and each small insertion or deletion (from the
CIGAR, anchored VCF-style on the base before it). Overlapping mates are counted as two
reads, as ``count_coverage`` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlrp3annot.errors import InputFileError

BASES = "ACGT"
_M, _I, _D, _N, _S, _EQ, _X = 0, 1, 2, 3, 4, 7, 8


@dataclass(frozen=True)
class ReadFilters:
    min_mapq: int = 20
    min_baseq: int = 20
    proper_pairs: bool = True  # for paired reads: both mates mapped as a proper pair

    def passes(self, read) -> bool:
        if (
            read.is_unmapped
            or read.is_duplicate
            or read.is_secondary
            or read.is_supplementary
            or read.is_qcfail
            or read.mapping_quality < self.min_mapq
        ):
            return False
        return not (self.proper_pairs and read.is_paired and not read.is_proper_pair)


@dataclass
class Counts:
    """One sample's counts over the targets (1-based positions)."""

    sample: str
    path: str
    build: str
    contig: str
    positions: np.ndarray  # 1-based reference positions, in target order
    forward: np.ndarray  # (4, n): A, C, G, T on the forward strand
    reverse: np.ndarray  # (4, n)
    indels: Counter = field(default_factory=Counter)  # (pos, ref, alt, is_reverse) -> reads

    @property
    def depth(self) -> np.ndarray:
        return (self.forward + self.reverse).sum(axis=0)


def open_alignments(path: str | Path, fasta: str | Path | None):
    """pysam's AlignmentFile for a BAM or CRAM with an index (one line naming the file on
    any failure: no index, not an alignment file, a CRAM without its reference)."""
    import pysam

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file", "give a BAM or CRAM file")
    try:
        handle = pysam.AlignmentFile(
            str(path), "rc" if path.suffix == ".cram" else "rb",
            reference_filename=str(fasta) if fasta else None,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputFileError(
            path, f"is not a readable BAM/CRAM ({exc})", "check the file"
        ) from None
    if not handle.has_index():
        handle.close()
        raise InputFileError(
            path, "has no index", "index it with 'samtools index' (only the locus is read)"
        )
    return handle


def sample_name(handle, path: Path) -> str:
    """The read groups' SM, else the file name without its suffix."""
    groups = handle.header.to_dict().get("RG", [])
    names = sorted({g["SM"] for g in groups if g.get("SM")})
    if len(names) > 1:
        raise InputFileError(
            path, f"holds reads of {len(names)} samples ({', '.join(names)})", "split it"
        )
    return names[0] if names else path.name.split(".")[0]


def contig_of(handle, path: Path) -> tuple[str, dict[str, int]]:
    """The chromosome-1 name of the header and every @SQ length (to tell the build)."""
    lengths = dict(zip(handle.references, handle.lengths, strict=True))
    from nlrp3annot.io.vcf import CHR1_NAMES

    for name in CHR1_NAMES:
        if name in lengths:
            return name, lengths
    raise InputFileError(path, "has no chromosome 1 in its header", "give a human BAM/CRAM")


def count_alleles(
    handle,
    sample: str,
    path: str,
    build: str,
    contig: str,
    targets: list[tuple[int, int]],
    filters: ReadFilters,
) -> Counts:
    """Counts per position and strand over ``targets`` (1-based inclusive)."""
    positions, forward, reverse = [], [], []
    for start, end in targets:
        for strand, into in ((False, forward), (True, reverse)):
            arrays = handle.count_coverage(
                contig, start - 1, end, quality_threshold=filters.min_baseq,
                read_callback=lambda r, s=strand: r.is_reverse == s and filters.passes(r),
            )  # fmt: skip
            into.append(np.array(arrays, dtype=np.int64))
        positions.append(np.arange(start, end + 1))
    counts = Counts(
        sample, path, build, contig,
        np.concatenate(positions), np.concatenate(forward, axis=1),
        np.concatenate(reverse, axis=1),
    )  # fmt: skip
    counts.indels = _indels(handle, contig, targets, filters)
    return counts


def _indels(handle, contig: str, targets, filters: ReadFilters) -> Counter:
    """(anchor position, REF, ALT, reverse) -> reads, for indels anchored in the targets.
    REF/ALT bases: the read's own for insertions; deletions are spelled later from the
    reference (``N`` placeholders here, one per deleted base)."""
    inside = [(s - 1, e) for s, e in targets]
    seen: set[tuple[str, bool, int]] = set()
    out: Counter = Counter()
    for start, end in targets:
        for read in handle.fetch(contig, start - 1, end):
            key = (read.query_name, read.is_read1, read.reference_start)
            if key in seen or not filters.passes(read) or read.cigartuples is None:
                continue
            seen.add(key)
            ref_pos, query_pos = read.reference_start, 0  # 0-based
            sequence = read.query_sequence or ""
            for op, length in read.cigartuples:
                if op in (_M, _EQ, _X):
                    ref_pos += length
                    query_pos += length
                elif op == _I:
                    anchor = ref_pos  # 1-based position of the base before the insertion
                    if _within(anchor, inside) and query_pos > 0:
                        alt = sequence[query_pos - 1 : query_pos + length]
                        out[(anchor, alt[0], alt, read.is_reverse)] += 1
                    query_pos += length
                elif op == _D:
                    anchor = ref_pos
                    if _within(anchor, inside):
                        out[(anchor, "N" * (length + 1), "N", read.is_reverse)] += 1
                    ref_pos += length
                elif op == _N:
                    ref_pos += length
                elif op == _S:
                    query_pos += length
    return out


def _within(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(lo < pos <= hi for lo, hi in spans)


def read_ends(handle, contig: str, pos: int, alt: str, filters: ReadFilters) -> tuple[list, list]:
    """Distances (bases) from the allele to the nearer end of the aligned part of each read,
    for reads with ``alt`` and for the others, at SNV position ``pos`` (1-based)."""
    alt_ends, other_ends = [], []
    for column in handle.pileup(
        contig, pos - 1, pos, truncate=True, stepper="nofilter", min_base_quality=0,
        ignore_overlaps=False, ignore_orphans=False, flag_filter=0, multiple_iterators=False,
    ):  # fmt: skip
        for entry in column.pileups:
            read = entry.alignment
            qp = entry.query_position
            if qp is None or not filters.passes(read):
                continue
            if (read.query_qualities is not None
                    and read.query_qualities[qp] < filters.min_baseq):  # fmt: skip
                continue
            distance = min(qp - read.query_alignment_start, read.query_alignment_end - 1 - qp)
            (alt_ends if read.query_sequence[qp] == alt else other_ends).append(distance)
    return alt_ends, other_ends
