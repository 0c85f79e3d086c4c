"""Reads simulated on the TEST locus (not the real genome) and written as real BAM/CRAM
files with pysam: single-end reads of a fixed length tiling given regions at a set depth,
on random strands, with a set substitution error rate (base quality 30), and variant
alleles at set fractions; optionally only on forward reads, or only near read ends
(artefacts). Used by the tests (tests/test_scan.py) and by scripts/build_demo.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pysam

# GRCh38 positions from the MANE model table (exon 4: c.398 at 247,423,847)
C907 = 247_423_847 + 907 - 398  # c.907G>A p.(Asp303Asn)
C1043 = 247_423_847 + 1043 - 398  # c.1043C>T p.(Thr348Met)
EXON4 = (247_423_847, 247_425_599)


@dataclass(frozen=True)
class Allele:
    pos: int
    alt: str
    fraction: float
    strand: str = "both"  # "forward": an artefact seen on forward reads only
    ends_only: bool = False  # an artefact seen only within 5 bases of a read end


def simulate(
    path: Path,
    regions: list[tuple[int, int]],
    depth: int,
    alleles: tuple[Allele, ...] = (),
    error_rate: float = 0.005,
    read_length: int = 100,
    seed: int = 1,
    sample: str = "S",
    fasta_path: Path | str = "",
) -> Path:
    """A sorted, indexed BAM (or CRAM, by suffix, against ``fasta_path``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    fasta = pysam.FastaFile(str(fasta_path))
    length = fasta.get_reference_length("chr1")
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": "chr1", "LN": length}],
        "RG": [{"ID": "rg1", "SM": sample}],
    }
    lo = min(a for a, _ in regions) - read_length
    hi = max(b for _, b in regions) + read_length + 50  # (deletion carriers read further)
    codes = np.frombuffer(fasta.fetch("chr1", lo - 1, hi).upper().encode(), dtype=np.uint8)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    index = np.full(256, 0, dtype=np.int64)
    index[letters] = np.arange(4)
    # 0..3 (N reads as A: the test locus has none in the exons); one byte a base
    reference = index[codes].astype(np.uint8)
    starts, reverse = [], []
    for start, end in regions:
        n = depth * (end - start + read_length) // read_length
        starts.append(rng.integers(start - read_length + 1, end + 1, n))
        reverse.append(rng.random(n) < 0.5)
    first = np.concatenate(starts)
    strand = np.concatenate(reverse)
    offsets = np.arange(read_length)
    reads = reference[(first - lo)[:, None] + offsets[None, :]]
    deleted = {}  # read number -> (anchor offset, deleted length) for deletion carriers
    for allele in alleles:
        if allele.alt.startswith("-"):  # "-3": the 3 bases after pos deleted
            inside = (first <= allele.pos) & (allele.pos < first + read_length - 1)
            carriers = np.flatnonzero(inside & (rng.random(len(first)) < allele.fraction))
            for n in carriers.tolist():
                deleted[n] = (allele.pos - int(first[n]), int(allele.alt[1:]))
            continue
        hit = (first[:, None] + offsets[None, :]) == allele.pos
        take = hit & (rng.random(hit.shape) < allele.fraction)
        if allele.strand == "forward":
            take &= ~strand[:, None]
        if allele.ends_only:
            take &= ((offsets < 5) | (offsets >= read_length - 5))[None, :]
        reads[take] = int(index[ord(allele.alt)])
    errors = rng.random(reads.shape) < error_rate
    reads[errors] = (reads[errors] + rng.integers(1, 4, int(errors.sum()))) % 4
    unsorted = path.with_name(path.name + ".unsorted.bam")
    qualities = pysam.qualitystring_to_array("?" * read_length)  # Q30
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for n, (start, rev, bases) in enumerate(
            zip(first.tolist(), strand.tolist(), letters[reads], strict=True)
        ):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"r{n}"
            cigar = [(0, read_length)]
            sequence = bases.tobytes().decode()
            if n in deleted:  # the read skips the deleted bases: spelled from the reference
                k, size = deleted[n]
                at = start - lo
                kept = np.concatenate(
                    [
                        reference[at : at + k + 1],
                        reference[at + k + 1 + size : at + read_length + size],
                    ]
                )
                sequence = letters[kept].tobytes().decode()
                cigar = [(0, k + 1), (2, size), (0, read_length - k - 1)]
            read.query_sequence = sequence
            read.flag = 16 if rev else 0
            read.reference_id = 0
            read.reference_start = start - 1
            read.mapping_quality = 60
            read.cigartuples = cigar
            read.query_qualities = qualities
            read.set_tag("RG", "rg1")
            out.write(read)
    bam = path if path.suffix == ".bam" else path.with_suffix(".bam")
    pysam.sort("-o", str(bam), str(unsorted))
    unsorted.unlink()
    pysam.index(str(bam))
    if path.suffix == ".cram":
        pysam.view("-C", "-T", str(fasta_path), "-o", str(path), str(bam), catch_stdout=False)
        pysam.index(str(path))
    return path
