"""One sample's fragment counts over the NLRP3 coding exons and splice sites (the targets),
read from its BAM/CRAM through the index: a 30x genome costs what its locus costs.

Reads count when they pass :class:`~nlrp3annot.reads.alignments.ReadFilters`; what they
show is counted once per fragment (overlapping mates, UMI families:
:mod:`nlrp3annot.reads.fragments`), per orientation and strand (:data:`CELLS`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from nlrp3annot.reads.alignments import ReadFilters
from nlrp3annot.reads.fragments import CELLS, FragmentCounter, units

BASES = "ACGT"
__all__ = ["BASES", "CELLS", "Counts", "count_alleles"]


@dataclass
class Counts:
    """One sample's counts over the targets (1-based positions, in target order)."""

    sample: str
    path: str
    build: str
    contig: str
    positions: np.ndarray  # (n,) 1-based reference positions
    bases: np.ndarray  # (4 cells, 4 bases A C G T, n) fragments
    near_end: np.ndarray  # (4 bases, n): of those, the base within 10 bases of a read end
    indel_depth: np.ndarray  # (4 cells, n) fragments that could show an indel anchored here
    indels: dict[tuple[int, str, str], np.ndarray] = field(default_factory=dict)  # -> (4,)
    reads: int = 0
    overlapping_pairs: int = 0
    mate_disagreements: int = 0
    families: int = 0
    dropped: Counter = field(default_factory=Counter)  # reads each filter removed
    library: str = ""  # its LB tags (or file name): names a replicate library
    pool: str = ""  # an amplicon pool's reads only (reads.pools), '' for all the file's

    @property
    def depth(self) -> np.ndarray:
        """Fragments per position (every base, every cell)."""
        return self.bases.sum(axis=(0, 1))

    @property
    def total(self) -> np.ndarray:
        """(4 bases, n) fragments per base, every cell."""
        return self.bases.sum(axis=0)


def count_alleles(
    handle,
    sample: str,
    path: str,
    build: str,
    contig: str,
    targets: list[tuple[int, int]],
    filters: ReadFilters,
    reference,
) -> Counts:
    """Counts over ``targets`` (1-based inclusive); ``reference(start, end)`` gives the
    reference bases (1-based inclusive), to left-align and spell the indels."""
    positions = np.concatenate([np.arange(a, b + 1) for a, b in targets])
    lo, hi = int(positions.min()) - 1, int(positions.max())  # 0-based [lo, hi)
    column = np.full(hi - lo, -1, dtype=np.int64)
    column[positions - 1 - lo] = np.arange(len(positions))
    counter = FragmentCounter(lo, column, reference(lo + 1, hi).upper(), filters)
    reads = chain.from_iterable(handle.fetch(contig, a - 1, b) for a, b in _windows(targets))
    dropped: Counter = Counter()
    for chunk in units(reads, filters, dropped):
        counter.add(chunk)
    c = counter.counts
    return Counts(
        sample, path, build, contig, positions, c.bases, c.near_end, c.indel_depth,
        c.indels, c.reads, c.overlapping_pairs, c.mate_disagreements, c.families, dropped,
    )  # fmt: skip


def _windows(targets: list[tuple[int, int]], gap: int = 1000) -> list[tuple[int, int]]:
    """The targets joined where less than ``gap`` apart: one fetch each, in order, so no
    read (150 bp, or a pair's overlap) is fetched twice and the introns are not read."""
    out: list[list[int]] = []
    for start, end in sorted(targets):
        if out and start - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]
