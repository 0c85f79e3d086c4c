"""Exact binomial tail probabilities and the Clopper-Pearson interval, in pure Python.

The mosaic test needs two numbers per (ALT reads, depth): the one-sided exact P of seeing so
few ALT reads if the allele were germline (fraction 1/2), and the exact 95% interval of the
fraction. scipy gives both, but importing scipy.special costs ~0.25 s, more than annotating a
patient's VCF; these functions give the same values (checked against scipy.stats.binomtest
in the tests) at no import cost.

Tails are summed from the end away from the mode, in log space, so each sum converges
geometrically and nothing underflows at depth 5,000; interval ends are found by
Newton steps on the tail, kept inside a shrinking bracket.
"""

from __future__ import annotations

import math
from functools import cache

_TINY = 1e-17  # a term this small relative to the sum no longer changes a double


def _log_pmf(i: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if i == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if i == n else -math.inf
    return (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
    )


def _tail_from(start: int, step: int, n: int, p: float) -> float:
    """sum of pmf(i) for i = start, start+step, ... within 0..n (step +1 or -1), summed
    while the terms are not negligible (the caller starts on the side away from the mode)."""
    log_first = _log_pmf(start, n, p)
    if log_first == -math.inf:
        return 0.0
    total, term, i = 1.0, 1.0, start
    q_over_p = (1.0 - p) / p if p > 0 else math.inf
    tiny = _TINY
    # (one loop per direction, the same arithmetic: the interval's Newton steps run this
    # some 25 times per distinct read count, the warm-up of every worker process)
    if step < 0:
        while i > 0:  # pmf(i-1)/pmf(i) = i / (n-i+1) * q/p
            term *= i / (n - i + 1) * q_over_p
            i -= 1
            total += term
            if term < tiny * total:
                break
    else:
        while i < n:  # pmf(i+1)/pmf(i) = (n-i) / (i+1) * p/q
            term *= (n - i) / (i + 1) / q_over_p
            i += 1
            total += term
            if term < tiny * total:
                break
    return math.exp(log_first) * total


def cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if k <= n * p:  # left of the mean: sum k, k-1, ... (terms shrink)
        return min(_tail_from(k, -1, n, p), 1.0)
    return max(1.0 - _tail_from(k + 1, +1, n, p), 0.0)


def sf(k: int, n: int, p: float) -> float:
    """P(X >= k)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if k >= n * p:
        return min(_tail_from(k, +1, n, p), 1.0)
    return max(1.0 - _tail_from(k - 1, -1, n, p), 0.0)


def _solve(f, df, lo: float, hi: float) -> float:
    """The root of the decreasing function ``f`` in [lo, hi]: Newton steps, falling back to
    bisection whenever a step would leave the bracket."""
    x = (lo + hi) / 2
    for _ in range(400):
        fx = f(x)
        if fx == 0:
            return x
        if fx > 0:
            lo = x
        else:
            hi = x
        slope = df(x)
        new = x - fx / slope if slope < 0 else math.nan
        if not lo < new < hi:
            new = (lo + hi) / 2
        if abs(new - x) <= 1e-15 * abs(x) or hi - lo <= 1e-300:
            return new
        x = new
    return x


@cache
def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a proportion k/n."""
    tail = (1.0 - level) / 2

    def density(j: int, m: int, p: float) -> float:  # m * pmf(j; m, p), the tails' slope
        return m * math.exp(_log_pmf(j, m, p))

    low = 0.0
    if k > 0:  # P(X >= k; p) = tail, increasing in p
        low = _solve(lambda p: tail - sf(k, n, p), lambda p: -density(k - 1, n - 1, p), 0.0, k / n)
    high = 1.0
    if k < n:  # P(X <= k; p) = tail, decreasing in p
        high = _solve(lambda p: cdf(k, n, p) - tail, lambda p: -density(k, n - 1, p), k / n, 1.0)
    return low, high


@cache
def germline_p(k: int, n: int) -> float:
    """One-sided exact P(X <= k | n, 1/2): so few ALT reads from a heterozygous allele."""
    return cdf(k, n, 0.5)


@cache
def noise_p(k: int, n: int, floor: float) -> float:
    """One-sided exact P(X >= k | n, floor): so many ALT reads from sequencing error alone,
    at a per-base error rate ``floor``."""
    return sf(k, n, floor)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@cache
def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact P of the 2x2 table [[a, b], [c, d]] (as scipy.stats.fisher_exact:
    the tables with the same margins no more probable than the one seen)."""
    row, col, total = a + b, a + c, a + b + c + d
    if total == 0:
        return 1.0
    lo, hi = max(0, col - (total - row)), min(row, col)
    base = _log_choose(total, col)

    def log_p(x: int) -> float:  # hypergeometric probability of a = x
        return _log_choose(row, x) + _log_choose(total - row, col - x) - base

    seen = log_p(a)
    cut = seen + math.log1p(1e-7)  # ties in floating point count as equally probable
    p = sum(math.exp(lp) for lp in map(log_p, range(lo, hi + 1)) if lp <= cut)
    return min(p, 1.0)
