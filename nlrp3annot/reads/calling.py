"""A statistical call of each candidate allele in a sample's fragments. Pure.

- **Evidence**: the allele's fragments in every cell (orientation x strand) except an
  orientation the sample's own data show to be an artefact for that substitution type
  (:mod:`nlrp3annot.reads.background`).
- **Test**: one-sided beta-binomial P(X >= ALT fragments) against the background
  (per-cell rates, overdispersion); significant below ``alpha`` / alleles tested (about
  9,300 a sample: Bonferroni), or at the known pathogenic alleles (ClinVar, SNVs and
  indels) below ``known_alpha`` / their number: a stronger prior, 0.5 false calls expected
  at known alleles over 100 negative samples.
- **No strand or orientation bias** (an artefact of one strand, or of read 1 only, sits in
  one half of the fragments; a real allele is split between the halves as the other
  fragments at its position are): for forward/reverse and for F1R2/F2R1 separately, the
  two-sided Fisher exact test of (ALT vs other fragments) x (half A vs half B) over the
  evidence cells; refused where P < ``bias_alpha``. Every fragment stays evidence, so the
  power is that of the whole depth. A test is skipped where the other fragments all lie in
  one half (a directional amplicon design shows one orientation only) or the evidence does
  (the orientation screen left one orientation out): the split cannot be compared there.
- **Read ends** (SNVs): not called where at least ``read_end_share`` of the ALT bases lie
  within 10 bases of an end of their aligned read, unlike the other bases (Fisher P <
  ``artefact_p``). Indels are counted only away from read ends in the first place.

- **Beside an indel** (SNVs): not called within ``indel_gap`` bases of an indel the sample
  shows at many times the SNV's fraction (misaligned reads of the indel).

Verdicts: ``called``, ``low_depth``, ``not_significant``, ``strand_bias``,
``orientation_bias``, ``read_end``, ``near_indel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nlrp3annot.patients.binomial import clopper_pearson, fisher_exact
from nlrp3annot.reads import betabinomial as bb
from nlrp3annot.reads.background import IndelBackground, SnvBackground, describe_orientation
from nlrp3annot.reads.fragments import ORIENTATION_HALVES, STRAND_HALVES
from nlrp3annot.reads.pileup import BASES, Counts
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.reads.tails import hypergeom_sf

Allele = tuple[int, str, str]  # (1-based position, REF, ALT) VCF-style


@dataclass
class Candidate:
    pos: int
    ref: str
    alt: str
    alt_cells: tuple[int, ...]  # ALT fragments per cell (CELLS)
    depth_cells: tuple[int, ...]  # fragments per cell
    cell_background: tuple[float, ...]  # expected error rate per cell
    rho: float
    trusted: tuple[bool, ...]  # cells that are evidence
    p: float
    threshold: float
    known: bool
    near_end: tuple[int, int, int, int] = (0, 0, 0, 0)  # ALT near, ALT, other near, other
    untrusted: str = ""  # the orientation left out, and why
    verdict: str = ""
    lod: float | None = None  # at known pathogenic alleles
    names: tuple[str, str, str] = field(default=("", "", ""))  # HGVS c., p., legacy
    called_in: tuple[str, ...] = ()  # replicate libraries: those that called it

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == len(self.alt) == 1

    @property
    def alt_reads(self) -> int:
        """ALT fragments that are evidence (every cell but an untrusted orientation's)."""
        return sum(x for x, t in zip(self.alt_cells, self.trusted, strict=True) if t)

    @property
    def depth(self) -> int:
        return sum(n for n, t in zip(self.depth_cells, self.trusted, strict=True) if t)

    @property
    def background(self) -> float:
        n = self.depth
        if not n:
            return max(self.cell_background)
        return sum(
            d * m for d, m, t in
            zip(self.depth_cells, self.cell_background, self.trusted, strict=True) if t
        ) / n  # fmt: skip

    def strand(self) -> tuple[int, int, int, int]:
        """(ALT forward, ALT reverse, other forward, other reverse) over every cell."""
        alt = [sum(self.alt_cells[i] for i in half) for half in STRAND_HALVES]
        dep = [sum(self.depth_cells[i] for i in half) for half in STRAND_HALVES]
        return alt[0], alt[1], dep[0] - alt[0], dep[1] - alt[1]

    def orientation(self) -> tuple[int, int, int, int]:
        """(ALT F1R2, ALT F2R1, fragments F1R2, fragments F2R1) over every cell."""
        alt = [sum(self.alt_cells[i] for i in cells) for cells in ORIENTATION_HALVES]
        dep = [sum(self.depth_cells[i] for i in cells) for cells in ORIENTATION_HALVES]
        return alt[0], alt[1], dep[0], dep[1]

    @property
    def vaf(self) -> float:
        return self.alt_reads / self.depth if self.depth else math.nan

    @property
    def vaf_ci(self) -> tuple[float, float]:
        return clopper_pearson(self.alt_reads, self.depth) if self.depth else (math.nan,) * 2


def snv_candidates(
    counts: Counts,
    s: int,
    background: SnvBackground,
    ref: np.ndarray,
    known: set[Allele],
    tested: int,
    settings: CallSettings,
) -> list[Candidate]:
    """Sample ``s``'s SNV alleles worth reporting (nominal P below ``report_p``, and every
    known pathogenic allele), tested; their verdicts are left to :func:`judge`."""
    x = counts.bases  # (4 cells, 4 bases, n)
    depth = x.sum(axis=1)  # (4, n)
    positions = counts.positions
    untrusted = background.untrusted[s]
    n_known = max(len(known), 1)
    found = []
    for a in range(4):
        at = np.flatnonzero((ref >= 0) & (ref != a))
        trusted = trusted_cells(untrusted[ref[at], a])  # (m, 4)
        mu = background.mu[s][:, a, at].T  # (m, 4)
        alt = x[:, a, at].T
        d = depth[:, at].T
        alt_ev = np.where(trusted, alt, 0).sum(axis=1)
        d_ev = np.where(trusted, d, 0).sum(axis=1)
        mu_ev = np.where(trusted, d * mu, 0).sum(axis=1) / np.maximum(d_ev, 1)
        screen = bb.binomial_sf(alt_ev, d_ev, mu_ev)
        is_known = np.array(
            [(int(positions[i]), BASES[ref[i]], BASES[a]) in known for i in at.tolist()], bool
        )
        keep = np.flatnonzero((screen < settings.report_p) | is_known)
        rho = background.rho[s][a, at[keep]]
        p = bb.sf(alt_ev[keep], d_ev[keep], mu_ev[keep], rho)
        for j, pval, r in zip(keep.tolist(), p.tolist(), rho.tolist(), strict=True):
            i = int(at[j])
            known_here = bool(is_known[j])
            if not known_here and pval >= settings.report_p:
                continue
            other = [b for b in range(4) if b != a]
            found.append(
                Candidate(
                    int(positions[i]),
                    BASES[ref[i]],
                    BASES[a],
                    tuple(int(v) for v in alt[j]),
                    tuple(int(v) for v in d[j]),
                    tuple(float(v) for v in mu[j]),
                    float(r),
                    tuple(bool(t) for t in trusted[j]),
                    float(pval),
                    settings.known_alpha / n_known if known_here else settings.alpha / tested,
                    known_here,
                    near_end=(
                        int(counts.near_end[a, i]),
                        int(x[:, a, i].sum()),
                        int(counts.near_end[other, i].sum()),
                        int(x[:, other, i].sum()),
                    ),
                    untrusted=describe_orientation(
                        int(untrusted[ref[i], a]),
                        int(ref[i]),
                        a,
                        float(background.excess[s][ref[i], a]),
                    ),
                )  # fmt: skip
            )
    return found


def trusted_cells(untrusted: np.ndarray) -> np.ndarray:
    """(m, 4) evidence cells from (m,) untrusted orientations (-1: every cell)."""
    out = np.ones((len(untrusted), 4), dtype=bool)
    for o, cells in enumerate(ORIENTATION_HALVES):
        out[np.ix_(untrusted == o, list(cells))] = False
    return out


def indel_candidates(
    counts: Counts,
    s: int,
    background: IndelBackground,
    known: set[Allele],
    tested: int,
    settings: CallSettings,
) -> list[Candidate]:
    """Sample ``s``'s indel alleles worth reporting, and the known pathogenic indels."""
    index = {int(p): i for i, p in enumerate(counts.positions.tolist())}
    n_known = max(len(known), 1)
    zero = np.zeros(4, dtype=np.int64)
    alleles = {k for k in counts.indels if k[0] in index} | {k for k in known if k[0] in index}
    found = []
    for allele in sorted(alleles):
        alt = counts.indels.get(allele, zero)
        d = counts.indel_depth[:, index[allele[0]]]
        mu = background.mu.get(allele)
        rho = background.rho.get(allele)
        if mu is None:  # a known allele nobody shows: the sample's own indel rate
            mu_s = np.maximum(background.own[s], settings.error_floor)
            rho_s = float(background.own_rho[s])
        else:
            mu_s, rho_s = mu[s], float(rho[s])
        total, reads = int(alt.sum()), int(d.sum())
        mean = float((d * mu_s).sum() / reads) if reads else float(mu_s.max())
        is_known = allele in known
        if not is_known and bb.binomial_sf(total, reads, mean) >= settings.report_p:
            continue
        p = float(bb.sf(total, reads, mean, rho_s))
        if not is_known and p >= settings.report_p:
            continue
        found.append(
            Candidate(
                allele[0],
                allele[1],
                allele[2],
                tuple(int(v) for v in alt),
                tuple(int(v) for v in d),
                tuple(float(v) for v in mu_s),
                rho_s,
                (True,) * 4,
                p,
                settings.known_alpha / n_known if is_known else settings.alpha / tested,
                is_known,
            )  # fmt: skip
        )
    return found


def bias_p(c: Candidate, halves) -> float | None:
    """Two-sided Fisher P that the ALT fragments split between ``halves`` unlike the other
    fragments at the position (evidence cells only); None where the split cannot be
    compared: the other fragments, or the evidence, all in one half."""
    alt = [sum(c.alt_cells[i] for i in h if c.trusted[i]) for h in halves]
    depth = [sum(c.depth_cells[i] for i in h if c.trusted[i]) for h in halves]
    other = [d - a for d, a in zip(depth, alt, strict=True)]
    if min(depth) == 0 or min(other) == 0:
        return None
    return fisher_exact(alt[0], alt[1], other[0], other[1])  # [[ALT A, B], [other A, B]]


def biased(c: Candidate, halves, settings: CallSettings) -> bool:
    p = bias_p(c, halves)
    return p is not None and p < settings.bias_alpha


def at_read_ends(c: Candidate, settings: CallSettings) -> bool:
    alt_near, alt_all, other_near, other_all = c.near_end
    if not alt_all or alt_near < settings.read_end_share * alt_all:
        return False
    # one-sided Fisher: are the ALT reads nearer the read ends than the other reads?
    total, near = alt_all + other_all, alt_near + other_near
    return hypergeom_sf(alt_near, total, alt_all, near) < settings.artefact_p


def near_indels(found: list[Candidate], settings: CallSettings) -> None:
    """Refuse (``near_indel``) a called SNV within ``indel_gap`` bases of an indel the
    sample shows at ``indel_gap_ratio`` times its fraction or more: reads that carry the
    indel but were aligned with a mismatch instead (near their ends) show as a small SNV
    beside it, as bcftools filter --SnpGap assumes."""
    indels = [c for c in found if not c.is_snv and c.verdict == "called"]
    for c in found:
        if not c.is_snv or c.verdict != "called":
            continue
        for indel in indels:
            first, last = indel.pos, indel.pos + len(indel.ref) - 1
            gap = max(first - c.pos, c.pos - last, 0)
            if gap <= settings.indel_gap and indel.vaf >= settings.indel_gap_ratio * c.vaf:
                c.verdict = "near_indel"
                break


def judge(c: Candidate, settings: CallSettings) -> str:
    """The verdict of one candidate: called, or why not."""
    if c.depth < settings.min_depth:
        return "low_depth"
    if c.p >= c.threshold or c.alt_reads < settings.min_alt_reads:
        return "not_significant"
    if biased(c, STRAND_HALVES, settings):
        return "strand_bias"
    if biased(c, ORIENTATION_HALVES, settings):
        return "orientation_bias"
    if c.is_snv and at_read_ends(c, settings):
        return "read_end"
    return "called"
