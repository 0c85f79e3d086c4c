"""The assay as a sample's fragments show it, decided once per sample. Pure.

What the calls of a sample can rest on depends on how its library was made, and the lab
does not always say (or know) what the aligner saw; the counts tell most of it:

- **Orientation** (:data:`~nlrp3annot.reads.fragments.CELLS`): random fragments (capture,
  WGS) are read from either end, so about half are F1R2 and half F2R1; a directional
  amplicon assay reads read 1 from the forward primer, so (nearly) every fragment is
  F1R2 (or every one F2R1). Below :data:`ONE_ORIENTATION_SHARE` of the fragments in the
  other orientation, the sample is read in one orientation: its orientation bias test
  cannot be made.
- **Fixed read ends**: a random fragment's read ends fall anywhere, so at a well-covered
  position some of the bases (10 bases from each end of a 150 bp read: ~13%) lie near a
  read end; in an amplicon assay every read starts at a primer (and, read through, ends
  at one), so between the fixed ends whole stretches hold no base near a read end. Where
  at least :data:`FIXED_END_POSITIONS` of the positions of depth >=
  :data:`FIXED_END_DEPTH` have fewer than :data:`FIXED_END_SHARE` of their bases near a
  read end, the read ends are fixed: an amplicon assay, directional or not. (Random
  2x300 reads at depth 50 fall below that share at ~15% of positions.) A primer BED
  (``--primers``) says amplicons in the lab's own words.
- **UMI families**, **replicate libraries**, **primers clipped**: from the options and the
  files, as the scan used them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlrp3annot.reads.fragments import ORIENTATION_HALVES
from nlrp3annot.reads.pileup import Counts

ONE_ORIENTATION_SHARE = 0.05  # fewer fragments than this in one orientation: one orientation
FIXED_END_DEPTH = 50  # positions judged for fixed read ends need this many fragments
FIXED_END_SHARE = 0.02  # a position "between fixed read ends": this few bases near an end
FIXED_END_POSITIONS = 0.5  # ... at this share of the judged positions: amplicons
FIXED_END_MIN_POSITIONS = 20  # fewer judged positions: the read ends cannot tell

RANDOM = "random fragments"
DIRECTIONAL = "directional amplicon"
NON_DIRECTIONAL = "non-directional amplicon"
NO_FRAGMENTS = "no fragments"


@dataclass(frozen=True)
class Assay:
    """One sample's assay as its fragments show it (:func:`assay_of`)."""

    design: str  # RANDOM, DIRECTIONAL, NON_DIRECTIONAL or NO_FRAGMENTS
    f1r2_share: float | None  # of the counted fragments (None: none counted)
    fixed_read_ends: bool | None  # None: too few well-covered positions to tell
    umi: bool = False  # UMI families collapsed to molecules (--umi-tag)
    libraries: int = 1  # replicate libraries pooled in this sample
    primers_clipped: bool = False  # --primers: primer bases clipped, not evidence

    @property
    def orientation(self) -> str:
        """'F1R2 only', 'F2R1 only' or 'both orientations' ('' without fragments)."""
        if self.f1r2_share is None:
            return ""
        if self.f1r2_share < ONE_ORIENTATION_SHARE:
            return "F2R1 only"
        if self.f1r2_share > 1 - ONE_ORIENTATION_SHARE:
            return "F1R2 only"
        return "both orientations"

    def describe(self) -> str:
        """For the scan's summary line: 'directional amplicon (F1R2 only, 99.8% of
        fragments F1R2); UMI molecules; 2 replicate libraries; primers clipped'."""
        if self.f1r2_share is None:
            text = NO_FRAGMENTS
        else:
            ends = {True: ", read ends fixed", False: ", read ends random", None: ""}
            text = (f"{self.design} ({self.orientation}, {self.f1r2_share:.1%} of fragments "
                    f"F1R2{ends[self.fixed_read_ends]})")  # fmt: skip
        extras = [
            "UMI molecules" if self.umi else "",
            f"{self.libraries} replicate libraries" if self.libraries > 1 else "",
            "primers clipped" if self.primers_clipped else "",
        ]
        return "; ".join([text] + [e for e in extras if e])

    def header(self, sample: str) -> str:
        """The ``##NLRP3_SCAN_ASSAY`` line of the sample's VCF."""
        share = "." if self.f1r2_share is None else f"{self.f1r2_share:.4f}"
        ends = {True: "fixed", False: "random", None: "."}[self.fixed_read_ends]
        yes = {True: "yes", False: "no"}
        return (
            f"##NLRP3_SCAN_ASSAY=<ID={sample},DESIGN={self.design.replace(' ', '_')},"
            f"ORIENTATION={self.orientation.replace(' ', '_') or '.'},F1R2_SHARE={share},"
            f"READ_ENDS={ends},UMI={yes[self.umi]},LIBRARIES={self.libraries},"
            f"PRIMERS_CLIPPED={yes[self.primers_clipped]},"
            f'Description="The assay as the fragments show it: {self.describe()}">'
        )


def assay_of(counts: Counts, umi: bool, libraries: int, primers_clipped: bool) -> Assay:
    """The assay of one sample from its fragment counts (``counts.bases``: cells x bases x
    positions; ``counts.near_end``: bases near a read end) and what the scan was told."""
    per_cell = counts.bases.sum(axis=(1, 2))  # fragments per cell (orientation x strand)
    total = int(per_cell.sum())
    extras = {"umi": umi, "libraries": libraries, "primers_clipped": primers_clipped}
    if not total:
        return Assay(NO_FRAGMENTS, None, None, **extras)
    f1r2 = float(per_cell[list(ORIENTATION_HALVES[0])].sum()) / total
    fixed = fixed_read_ends(counts)
    one_orientation = min(f1r2, 1 - f1r2) < ONE_ORIENTATION_SHARE
    if one_orientation:
        design = DIRECTIONAL
    elif fixed or primers_clipped:
        design = NON_DIRECTIONAL
    else:
        design = RANDOM
    return Assay(design, f1r2, fixed, **extras)


def fixed_read_ends(counts: Counts) -> bool | None:
    """Whether the reads start and end at fixed places (amplicons): see the module's
    note. None where fewer than :data:`FIXED_END_MIN_POSITIONS` positions can tell."""
    depth = counts.bases.sum(axis=(0, 1))
    judged = depth >= FIXED_END_DEPTH
    if int(judged.sum()) < FIXED_END_MIN_POSITIONS:
        return None
    near = counts.near_end.sum(axis=0)[judged] / depth[judged]
    return bool(np.mean(near < FIXED_END_SHARE) >= FIXED_END_POSITIONS)
