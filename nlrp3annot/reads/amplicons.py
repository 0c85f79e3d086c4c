"""Limits of detection per amplicon (``scan --primers primers.bed``).

A sample's limits over all coding positions hide where an amplicon assay is weak: one
amplicon that amplified poorly, or whose insert holds a hard position, is where a mosaic
is missed. An amplicon here is a LEFT and a RIGHT primer of one name in the BED
(ARTIC/iVar naming: ``<scheme>_<n>_LEFT`` and ``<scheme>_<n>_RIGHT``, alternative primers
``..._LEFT_alt1``; the pool in column 5); its insert is the bases between the innermost
primers (primer bases are clipped, never evidence). For each insert over the NLRP3 coding
positions: the highest limit at the known pathogenic alleles in it, and over its coding
positions the limit for each position's hardest substitution (the scan's per-position SNV
limits), at 95% of them and at the worst. Pure, but for reading the BED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlrp3annot.reads.calling import Candidate
from nlrp3annot.reads.pileup import Counts

PRIMER_NAME = re.compile(r"^(?P<amplicon>.+)_(?P<side>LEFT|RIGHT)(?:_.*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Amplicon:
    name: str
    pool: str  # the BED's column 5 ('' where absent)
    start: int  # first base of the insert, 1-based (after the innermost LEFT primer)
    end: int  # last base of the insert, 1-based inclusive (before the innermost RIGHT)


@dataclass(frozen=True)
class AmpliconLimits:
    """One amplicon's limits of detection in one sample (allele fractions, 95% power)."""

    amplicon: Amplicon
    coding_positions: int  # coding positions (exons and splice sites) in the insert
    median_fragments: float
    below_depth: int  # of them, positions without a limit (below the minimum depth)
    known_snvs: int  # known pathogenic SNVs in the insert
    known_snv: float | None  # the highest limit over them
    known_indels: int
    known_indel: float | None
    known_below_depth: int  # known pathogenic alleles in the insert below the minimum depth
    other_snvs: float | None  # SNVs at 95% of the insert's coding positions
    other_snvs_worst: float | None  # ... and at its hardest

    @property
    def lod(self) -> float | None:
        """The amplicon's limit: the highest over its known pathogenic alleles and its
        coding positions' hardest substitutions."""
        values = [v for v in (self.known_snv, self.known_indel, self.other_snvs_worst)
                  if v is not None]  # fmt: skip
        return max(values) if values else None


def primer_amplicons(bed: Path, contig: str) -> tuple[list[Amplicon], list[str]]:
    """The amplicons of a primer BED on ``contig``, in order, and the names of primers
    that make none (no LEFT/RIGHT name, or no partner). The BED's lines are checked
    before (:func:`nlrp3annot.reads.primers.check_primers`)."""
    left: dict[str, list[tuple[int, int, str]]] = {}
    right: dict[str, list[tuple[int, int, str]]] = {}
    unpaired = []
    for line in bed.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        if fields[0] != contig:
            continue
        name = fields[3].strip() if len(fields) > 3 else ""
        match = PRIMER_NAME.match(name)
        if not match:
            unpaired.append(name or f"{fields[0]}:{fields[1]}-{fields[2]}")
            continue
        side = left if match["side"].upper() == "LEFT" else right
        pool = fields[4].strip() if len(fields) > 4 else ""
        side.setdefault(match["amplicon"], []).append((int(fields[1]), int(fields[2]), pool))
    amplicons = []
    for name in sorted(left.keys() | right.keys()):
        if name not in left or name not in right:
            unpaired.append(name + ("_LEFT" if name in left else "_RIGHT"))
            continue
        start = max(end for _, end, _ in left[name]) + 1  # BED end: the primer's last base
        end = min(start0 for start0, _, _ in right[name])  # BED start: the base before it
        if start > end:
            unpaired.append(f"{name} (its primers overlap: no insert)")
            continue
        amplicons.append(Amplicon(name, left[name][0][2], start, end))
    amplicons.sort(key=lambda a: (a.start, a.end, a.name))
    return amplicons, unpaired


def amplicon_limits(
    amplicons: list[Amplicon],
    counts: Counts,
    snv_limits: np.ndarray,
    candidates: list[Candidate],
) -> list[AmpliconLimits]:
    """Each amplicon's limits in one sample, for the amplicons over coding positions.
    ``snv_limits``: the limit per coding position (``counts.positions``) for its hardest
    substitution, nan below the minimum depth; ``candidates``: the sample's, whose known
    pathogenic alleles carry their limits."""
    positions = counts.positions
    depth = counts.depth
    out = []
    for a in amplicons:
        inside = (positions >= a.start) & (positions <= a.end)
        if not inside.any():
            continue
        limits = snv_limits[inside]
        finite = limits[np.isfinite(limits)]
        known = [c for c in candidates if c.known and a.start <= c.pos <= a.end]
        snvs = [c for c in known if c.is_snv]
        indels = [c for c in known if not c.is_snv]
        out.append(
            AmpliconLimits(
                amplicon=a,
                coding_positions=int(inside.sum()),
                median_fragments=float(np.median(depth[inside])),
                below_depth=int(limits.size - finite.size),
                known_snvs=len(snvs),
                known_snv=_highest(snvs),
                known_indels=len(indels),
                known_indel=_highest(indels),
                known_below_depth=sum(1 for c in known if c.lod is None),
                other_snvs=float(np.quantile(finite, 0.95)) if finite.size else None,
                other_snvs_worst=float(finite.max()) if finite.size else None,
            )
        )
    return out


def _highest(known: list[Candidate]) -> float | None:
    limits = [c.lod for c in known if c.lod is not None]
    return max(limits) if limits else None
