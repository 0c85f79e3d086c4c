"""A statistical call of each candidate allele in the reads, against the sample's own error
background. Pure (numpy/scipy over the counts of :mod:`nlrp3annot.reads.pileup`).

- **Background** per position and allele: the larger of (a) the sample's own rate for that
  substitution type (e.g. C>T) over its other target positions and (b) the rate at that
  position in the other samples scanned together; positions where an allele is above
  ``variant_fraction`` (real variants) are left out of both; never below ``error_floor``.
- **Test**: one-sided exact binomial P(X >= alt reads | depth, background).
- **Thresholds**: Bonferroni over every allele tested in the sample (``alpha`` 0.05 / tests,
  about 9,300), except at the known pathogenic alleles (ClinVar), where the prior is
  stronger: ``known_alpha`` 0.005 / number of known alleles (about 60): a cohort of 100
  negative samples expects 0.5 false calls at known alleles, and at 500x a 3% mosaic is
  found with over 95% power.
- **Artefact checks**: strand bias (two-sided Fisher test of ALT vs other reads by strand,
  P < ``artefact_p``, with at most 10% of ALT reads on one strand) and read ends (at least
  ``read_end_share`` of ALT reads within ``read_end_bases`` of an end of the aligned read,
  Fisher P < ``artefact_p`` against the other reads).
- **Limit of detection** at each known pathogenic allele: the smallest count k the test would
  call there, and the allele fraction f at which P(X >= k | depth, f) = ``power``
  (f = Beta quantile ``power`` of (k, depth - k + 1)): "at this depth a 3% mosaic would have
  been found with 95% power".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nlrp3annot.patients.binomial import clopper_pearson
from nlrp3annot.reads.pileup import BASES, Counts


@dataclass(frozen=True)
class CallSettings:
    alpha: float = 0.05  # per sample, family-wise over every allele tested
    known_alpha: float = 0.005  # per sample, family-wise over the known pathogenic alleles
    min_alt_reads: int = 3
    min_depth: int = 20
    variant_fraction: float = 0.02  # above it an allele is no part of the background
    error_floor: float = 1e-4
    artefact_p: float = 1e-3
    read_end_bases: int = 10
    read_end_share: float = 0.9
    power: float = 0.95
    max_lod: float = 0.05  # a sample is "negative" only where a mosaic this small is seen
    report_p: float = 1e-3  # candidates reported (called or not) below this nominal P


@dataclass
class Candidate:
    pos: int
    ref: str
    alt: str
    depth: int
    alt_forward: int
    alt_reverse: int
    other_forward: int
    other_reverse: int
    background: float
    p: float
    threshold: float
    known: bool
    verdict: str = ""  # called, strand_bias, read_end, not_significant, low_depth
    lod: float | None = None  # at known pathogenic alleles
    names: tuple[str, str, str] = ("", "", "")  # HGVS c., HGVS p., legacy (R260W)

    @property
    def alt_reads(self) -> int:
        return self.alt_forward + self.alt_reverse

    @property
    def vaf(self) -> float:
        return self.alt_reads / self.depth if self.depth else math.nan

    @property
    def vaf_ci(self) -> tuple[float, float]:
        return clopper_pearson(self.alt_reads, self.depth) if self.depth else (math.nan,) * 2


def type_rates(
    total: np.ndarray, depth: np.ndarray, quiet: np.ndarray, ref: np.ndarray
) -> dict[tuple, tuple]:
    """(REF base, ALT base) -> (ALT reads, depth) summed over the sample's target positions
    where that ALT is ``quiet`` (at most ``variant_fraction``): sums, so one position can be
    left out when it is the one tested. ``total``: reads per base (4, n)."""
    out = {}
    for r, ref_base in enumerate(BASES):
        at = ref == r
        for a, alt_base in enumerate(BASES):
            if a != r:
                keep = at & quiet[a]
                out[(ref_base, alt_base)] = (int(total[a][keep].sum()), int(depth[keep].sum()))
    return out


def snv_candidates(
    samples: list[Counts],
    ref_bases: str,
    known: set[tuple[int, str, str]],
    settings: CallSettings,
) -> dict[str, list[Candidate]]:
    """Every SNV allele of every sample worth reporting: tested against its background,
    with its verdict left to :func:`judge` (artefact checks need the reads)."""
    ref = np.array([BASES.index(b) if b in BASES else -1 for b in ref_bases])
    totals = [s.forward + s.reverse for s in samples]
    depths = [t.sum(axis=0) for t in totals]
    quiet = [
        t <= settings.variant_fraction * np.maximum(d, 1)
        for t, d in zip(totals, depths, strict=True)
    ]
    pooled_quiet_alt = sum(np.where(q, t, 0) for q, t in zip(quiet, totals, strict=True))
    pooled_quiet_depth = sum(np.where(q, d, 0) for q, d in zip(quiet, depths, strict=True))
    positions = samples[0].positions
    out: dict[str, list[Candidate]] = {}
    n_known = max(len(known), 1)
    for s, counts in enumerate(samples):
        rates = type_rates(totals[s], depths[s], quiet[s], ref)
        depth = depths[s]
        tested = int((depth > 0).sum()) * 3
        found = []
        for i, pos in enumerate(positions.tolist()):
            r = int(ref[i])
            if r < 0 or depth[i] == 0:
                continue
            for a in range(4):
                if a == r:
                    continue
                alt = int(totals[s][a, i])
                is_known = (pos, BASES[r], BASES[a]) in known
                if alt == 0 and not is_known:
                    continue
                type_alt, type_depth = rates[(BASES[r], BASES[a])]
                if quiet[s][a, i]:  # leave the tested position out of its own background
                    type_alt, type_depth = type_alt - alt, type_depth - int(depth[i])
                own = type_alt / type_depth if type_depth > 0 else 0.0
                others_alt = int(pooled_quiet_alt[a, i]) - (alt if quiet[s][a, i] else 0)
                others_depth = int(pooled_quiet_depth[a, i]) - (
                    int(depth[i]) if quiet[s][a, i] else 0
                )
                others = others_alt / others_depth if others_depth > 0 else 0.0
                background = max(own, others, settings.error_floor)
                p = float(stats.binom.sf(alt - 1, int(depth[i]), background)) if alt else 1.0
                threshold = (
                    settings.known_alpha / n_known if is_known else settings.alpha / max(tested, 1)
                )
                if not is_known and p >= settings.report_p:
                    continue
                found.append(
                    Candidate(
                        pos,
                        BASES[r],
                        BASES[a],
                        int(depth[i]),
                        int(counts.forward[a, i]),
                        int(counts.reverse[a, i]),
                        int(counts.forward[:, i].sum() - counts.forward[a, i]),
                        int(counts.reverse[:, i].sum() - counts.reverse[a, i]),
                        background,
                        p,
                        threshold,
                        is_known,
                    )  # fmt: skip
                )
        out[counts.sample] = found
    return out


def limit_of_detection(depth: int, background: float, threshold: float, settings: CallSettings):
    """The allele fraction found with ``power`` at this depth (None below ``min_depth``)."""
    if depth < settings.min_depth:
        return None
    k = max(settings.min_alt_reads, 1)
    while k <= depth and stats.binom.sf(k - 1, depth, background) >= threshold:
        k += 1
    if k > depth:
        return 1.0
    return float(stats.beta.ppf(settings.power, k, depth - k + 1))


def strand_bias(c: Candidate, settings: CallSettings) -> bool:
    if c.alt_reads == 0:
        return False
    table = [[c.alt_forward, c.alt_reverse], [c.other_forward, c.other_reverse]]
    p = stats.fisher_exact(table).pvalue
    return p < settings.artefact_p and min(c.alt_forward, c.alt_reverse) <= 0.1 * c.alt_reads


def at_read_ends(alt_ends: list[int], other_ends: list[int], settings: CallSettings) -> bool:
    if not alt_ends:
        return False
    near = sum(d < settings.read_end_bases for d in alt_ends)
    if near < settings.read_end_share * len(alt_ends):
        return False
    other_near = sum(d < settings.read_end_bases for d in other_ends)
    table = [[near, len(alt_ends) - near], [other_near, len(other_ends) - other_near]]
    return stats.fisher_exact(table).pvalue < settings.artefact_p


def judge(c: Candidate, ends: tuple[list[int], list[int]] | None, settings: CallSettings) -> str:
    """The verdict of one candidate: called, or why not."""
    if c.depth < settings.min_depth:
        return "low_depth"
    if c.p >= c.threshold or c.alt_reads < settings.min_alt_reads:
        return "not_significant"
    if strand_bias(c, settings):
        return "strand_bias"
    if ends is not None and at_read_ends(*ends, settings):
        return "read_end"
    return "called"


def indel_candidates(
    samples: list[Counts],
    spell,
    tested: dict[str, int],
    settings: CallSettings,
) -> dict[str, list[Candidate]]:
    """Small insertions and deletions of every sample, against the sample's own indel rate
    per base (and the other samples' rate for that indel); ``spell(start, end)`` gives the
    reference bases, so that REF/ALT are written VCF-style from the reference."""
    merged = []
    for counts in samples:
        by_allele: dict[tuple[int, str, str], list[int]] = {}
        for (pos, ref, alt, reverse), reads in counts.indels.items():
            if ref.startswith("N"):  # a deletion: spell it from the reference
                ref, alt = spell(pos, pos + len(ref) - 1), spell(pos, pos)
            else:  # an insertion: the reference anchor base, then the inserted bases
                ref = spell(pos, pos)
                alt = ref + alt[1:]
            by_allele.setdefault((pos, ref, alt), [0, 0])[int(reverse)] += reads
        merged.append(by_allele)
    index = {int(p): i for i, p in enumerate(samples[0].positions.tolist())}
    depths = [c.depth for c in samples]
    out: dict[str, list[Candidate]] = {}
    for s, counts in enumerate(samples):
        total_depth = int(depths[s].sum())
        limit = settings.variant_fraction
        quiet_reads = sum(
            f + r for (pos, _, _), (f, r) in merged[s].items()
            if pos in index and f + r <= limit * max(int(depths[s][index[pos]]), 1)
        )  # fmt: skip
        found = []
        for (pos, ref, alt), (forward, reverse) in merged[s].items():
            if pos not in index:
                continue
            depth = int(depths[s][index[pos]])
            reads = forward + reverse
            own = quiet_reads / total_depth if total_depth else 0.0
            others_reads = sum(
                sum(m.get((pos, ref, alt), (0, 0))) for k, m in enumerate(merged) if k != s
            )
            others_depth = sum(int(d[index[pos]]) for k, d in enumerate(depths) if k != s)
            others = others_reads / others_depth if others_depth else 0.0
            background = max(own, others, settings.error_floor)
            p = float(stats.binom.sf(reads - 1, depth, background)) if depth else 1.0
            if p >= settings.report_p:
                continue
            i = index[pos]
            found.append(
                Candidate(
                    pos,
                    ref,
                    alt,
                    depth,
                    forward,
                    reverse,
                    int(counts.forward[:, i].sum()) - forward,
                    int(counts.reverse[:, i].sum()) - reverse,
                    background,
                    p,
                    settings.alpha / max(tested.get(counts.sample, 1), 1),
                    False,
                )  # fmt: skip
            )
        out[counts.sample] = found
    return out
