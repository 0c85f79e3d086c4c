"""Limits of detection: the allele fraction at which the whole call rule (significance,
both strands, both orientations) finds an allele with ``power`` (95%), given a position's
depth per cell, background and overdispersion. Pure, vectorised over alleles.

A real allele at fraction f shows in each read with probability f (the background only
adds reads, so leaving it out makes the limit conservative). The call needs the evidence
count to reach ``k`` (the smallest significant count against the background), each half
(forward, reverse, F1R2, F2R1) to reach its own significant count, and the two halves of
each pair to agree; the chance of missing is bounded by the sum of the chances of each
part failing (the union bound, again conservative), so a stated limit is one the rule
meets, not a hope.
"""

from __future__ import annotations

import numpy as np

from nlrp3annot.reads.betabinomial import min_count
from nlrp3annot.reads.fragments import ORIENTATION_HALVES, STRAND_HALVES
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.reads.tails import binomial_cdf

HALVES = STRAND_HALVES + ORIENTATION_HALVES


def detection_limits(
    depth_cells: np.ndarray,
    mu_cells: np.ndarray,
    rho: np.ndarray,
    trusted: np.ndarray,
    threshold: np.ndarray,
    settings: CallSettings,
) -> np.ndarray:
    """(m,) allele fractions (nan where the evidence depth is below ``min_depth``; 1.0
    where no fraction reaches the power). Inputs: (m, 4) fragments and background rate
    per cell, (m,) overdispersion, (m, 4) cells that are evidence, (m,) threshold."""
    depth_cells = np.asarray(depth_cells, dtype=np.int64).reshape(-1, 4)
    mu_cells = np.asarray(mu_cells, dtype=float).reshape(-1, 4)
    trusted = np.asarray(trusted, dtype=bool).reshape(-1, 4)
    rho = np.broadcast_to(np.asarray(rho, dtype=float), (len(depth_cells),))
    threshold = np.broadcast_to(np.asarray(threshold, dtype=float), (len(depth_cells),))
    evidence = np.where(trusted, depth_cells, 0).sum(axis=1)
    mu = _mean(depth_cells, mu_cells, trusted)
    k = min_count(evidence, mu, rho, threshold, floor=settings.min_alt_reads)
    parts = [(evidence, k)]
    for half in HALVES:
        cells = np.zeros(4, dtype=bool)
        cells[list(half)] = True
        inside = np.broadcast_to(cells, depth_cells.shape)
        n = np.where(inside, depth_cells, 0).sum(axis=1)
        parts.append((n, min_count(n, _mean(depth_cells, mu_cells, inside), rho,
                                   settings.split_alpha)))  # fmt: skip
    # the agreement test of each pair of halves fails a real allele with chance at most
    # consistency_alpha on either side
    allowed = 1 - settings.power - 4 * settings.consistency_alpha

    def missed(f: np.ndarray) -> np.ndarray:
        return sum(binomial_cdf(kk - 1, n, f) for n, kk in parts)

    lo = np.full(len(evidence), 1e-5)
    hi = np.ones(len(evidence))
    reachable = missed(hi) <= allowed
    # bisection on the log scale to ln(1e5) / 2**12, 0.3%: the limit reported is the upper
    # end, so it is never below the fraction the rule needs
    for _ in range(12):
        mid = np.sqrt(lo * hi)
        ok = missed(mid) <= allowed
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    out = np.where(reachable, hi, 1.0)
    return np.where(evidence >= settings.min_depth, out, np.nan)


def _mean(depth_cells, mu_cells, cells) -> np.ndarray:
    n = np.where(cells, depth_cells, 0)
    total = n.sum(axis=1)
    return np.where(total > 0, (n * mu_cells).sum(axis=1) / np.maximum(total, 1),
                    mu_cells.max(axis=1))  # fmt: skip
