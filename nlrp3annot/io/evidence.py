"""What a VCF shows of each sample in the NLRP3 window, beyond its variants: whether the
sample was genotyped there, and the gVCF blocks it was called over (the rules are in
:mod:`nlrp3annot.patients.coverage`). Filled by each reader as it passes the locus records;
cheap for joint VCFs, since a sample leaves the pending list at its first good call."""

from __future__ import annotations

from nlrp3annot.genome.reference import BUILDS
from nlrp3annot.values import is_called

GVCF_ALTS = ("<NON_REF>", "<*>")


class LocusEvidence:
    """Per build: the reported samples with a called genotype of at least ``min_depth``
    reads on a record in the window, and each sample's gVCF intervals called at that depth."""

    def __init__(self, samples: list[str], min_depth: int) -> None:
        self.samples = samples
        self.min_depth = min_depth
        self.genotyped: dict[str, set[str]] = {b: set() for b in BUILDS}
        self.pending: dict[str, list[int]] = {b: list(range(len(samples))) for b in BUILDS}
        self.covered: dict[str, dict[str, list[tuple[int, int]]]] = {b: {} for b in BUILDS}
        self.gvcf: dict[str, bool] = dict.fromkeys(BUILDS, False)

    def found(self, build: str, indices: list[int]) -> None:
        """Samples (positions in ``samples``) with a good call: no longer pending."""
        if not indices:
            return
        done = set(indices)
        self.genotyped[build].update(self.samples[k] for k in done)
        self.pending[build] = [k for k in self.pending[build] if k not in done]

    def good(self, gt_text: str, depth: int | None) -> bool:
        return is_called(gt_text) and depth is not None and depth >= self.min_depth

    def note(self, build: str, calls) -> None:
        """``calls``: (sample position, GT text, depth) of pending samples."""
        self.found(build, [k for k, gt, depth in calls if self.good(gt, depth)])

    def block(self, build: str, start: int, end: int, calls) -> None:
        """A gVCF record (block or variant) over ``start..end``; ``calls``: (sample
        position, GT text, depth, with MIN_DP before DP) of every reported sample."""
        self.cover(build, start, end, [k for k, gt, depth in calls if self.good(gt, depth)])

    def cover(self, build: str, start: int, end: int, good: list[int]) -> None:
        """A gVCF record over ``start..end`` called with enough depth in samples ``good``."""
        self.gvcf[build] = True
        for k in good:
            self.covered[build].setdefault(self.samples[k], []).append((start, end))
        self.found(build, [k for k in good if self.samples[k] not in self.genotyped[build]])


def is_gvcf_record(alts: list[str] | tuple[str, ...], has_end: bool) -> bool:
    return has_end or any(a in GVCF_ALTS for a in alts)
