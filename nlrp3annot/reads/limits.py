"""Limits of detection: the allele fraction at which the whole call rule (significance,
and not refused by the strand and orientation bias tests) finds an allele with ``power``
(95%), given a position's depth per cell, background and overdispersion. Pure, vectorised
over alleles.

A real allele at fraction f shows in each fragment with probability f (the background
only adds fragments, so leaving it out makes the limit conservative). The call needs the
evidence count to reach ``k`` (the smallest significant count against the background),
and neither bias test to refuse it: a real allele's fragments split between the halves as
the other fragments do, so each test, a conditional Fisher test at ``bias_alpha``, refuses
it with chance at most ``bias_alpha``. The chance of missing is bounded by the sum of the
parts' chances (the union bound, conservative), so a stated limit is one the rule meets,
not a hope.
"""

from __future__ import annotations

import numpy as np

from nlrp3annot.reads.betabinomial import min_count
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.reads.tails import binomial_cdf


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
    # the strand test and the orientation test each refuse a real allele with chance at
    # most bias_alpha
    allowed = 1 - settings.power - 2 * settings.bias_alpha

    def missed(f: np.ndarray) -> np.ndarray:
        return binomial_cdf(k - 1, evidence, f)

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
