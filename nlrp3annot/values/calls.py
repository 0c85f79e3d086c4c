"""One sample's genotype and read counts at one ALT allele, as read from a VCF."""

from __future__ import annotations

from typing import NamedTuple

CARRYING = frozenset({"het", "hom_alt", "hemi", "mosaic"})  # zygosities that carry the ALT


class SampleCall(NamedTuple):
    """One sample at one ALT allele. ``gt`` holds 1 (this ALT), 0 (REF), -1 (another ALT)
    or None (missing) per called allele. (A named tuple: a joint VCF makes 10^5 of them.)"""

    sample: str
    gt: tuple[int | None, ...]
    gt_text: str  # as written, e.g. 0|1, ./., 1
    phased: bool
    phase_set: int | None
    ref_reads: int | None
    alt_reads: int | None
    depth: int | None
    af: float | None  # FORMAT/AF (Mutect2-style callers)
    # reads per strand, from FORMAT/ADF+ADR (bcftools, GATK) or SB (GATK); None where the
    # VCF does not give them (then no strand rule applies)
    ref_forward: int | None = None
    ref_reverse: int | None = None
    alt_forward: int | None = None
    alt_reverse: int | None = None

    @property
    def alt_copies(self) -> int:
        return sum(1 for a in self.gt if a == 1)

    @property
    def haplotypes(self) -> tuple[int, ...]:
        """Indices of the genotype's haplotypes carrying this ALT (meaningful when phased)."""
        return tuple(i for i, a in enumerate(self.gt) if a == 1)


def is_called(gt_text: str) -> bool:
    """A genotype with at least one allele called (``0/0``, ``0/1``, ``1``; not ``./.``)."""
    return any(a not in ("", ".") for a in gt_text.replace("|", "/").split("/"))
