"""Pairwise sums and differences of a cohort's values, without listing every pair.

The Hodges-Lehmann estimates are medians of n1 x n2 pairwise differences (between groups) or
of n (n + 1) / 2 Walsh averages (within), and the test-inversion intervals change only at such
values. Listing them costs O(n^2) time and memory: 22 million pairs for a registry of 10,000
patients split two to one, 50 million Walsh averages. Here they are a pair of sorted arrays;
how many pairs lie at or below a value is counted in O(n log n) (one ``searchsorted`` per
element), so an order statistic is found by bisection on the value and a narrow window of
pairs is listed only when it is small.

Values are held as integers on the grid the comparison rounds every change to
(``DIFF_DECIMALS`` decimals, :mod:`nlrp3annot.response.stats.comparison_data`), so a pair's
sum is exact and counting never depends on floating-point rounding. Infinite values (the
open end of a below-limit log ratio) are kept apart and combined by the rules of arithmetic
(-inf plus a finite value is -inf; -inf plus +inf is undefined and left out, as NaN is left
out of a median).
"""

from __future__ import annotations

import math

import numpy as np

from nlrp3annot.response.stats.comparison_data import DIFF_DECIMALS

SCALE = 10**DIFF_DECIMALS
# Beyond this magnitude a value times SCALE no longer fits exactly: the callers keep their
# listing path (no laboratory value or change comes near it).
LIMIT = 2**52 // SCALE // 4


def on_grid(values: np.ndarray) -> np.ndarray:
    """Finite values as integers on the DIFF_DECIMALS grid."""
    return np.rint(np.asarray(values, dtype=float) * SCALE).astype(np.int64)


def representable(values: np.ndarray) -> bool:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size == 0 or np.abs(finite).max() < LIMIT)


class PairSums:
    """The multiset {a_i + b_j : every i, j} or, with ``walsh``, {a_i + a_j : i <= j} (Walsh
    sums: twice the Walsh averages), of finite grid values, with the pairs involving an
    infinite value counted apart. Sums are in grid units (integers)."""

    def __init__(self, a: np.ndarray, b: np.ndarray | None = None) -> None:
        a = np.asarray(a, dtype=float)
        self.walsh = b is None
        b = a if b is None else np.asarray(b, dtype=float)
        self.a = np.sort(on_grid(a[np.isfinite(a)]))
        self.b = self.a if self.walsh else np.sort(on_grid(b[np.isfinite(b)]))
        a_low, a_high = int((a == -math.inf).sum()), int((a == math.inf).sum())
        b_low, b_high = int((b == -math.inf).sum()), int((b == math.inf).sum())
        na, nb = self.a.size, self.b.size
        if self.walsh:  # i <= j over one array of n values
            self.minus_inf = a_low * na + a_low * (a_low + 1) // 2
            self.plus_inf = a_high * na + a_high * (a_high + 1) // 2
        else:
            self.minus_inf = a_low * (nb + b_low) + na * b_low
            self.plus_inf = a_high * (nb + b_high) + na * b_high
        self.finite = na * (na + 1) // 2 if self.walsh else na * nb
        self.size = self.minus_inf + self.finite + self.plus_inf

    def count_le(self, s: int) -> int:
        """Finite pair sums at most ``s`` (grid units)."""
        if self.a.size == 0 or self.b.size == 0:
            return 0
        upto = np.searchsorted(self.b, s - self.a, side="right")
        if self.walsh:  # pair (i, j) with j >= i
            upto = np.maximum(upto - np.arange(self.a.size), 0)
        return int(upto.sum())

    def span(self) -> tuple[int, int] | None:
        """The smallest and largest finite sum, or None."""
        if self.a.size == 0 or self.b.size == 0:
            return None
        if self.walsh:
            return int(2 * self.a[0]), int(2 * self.a[-1])
        return int(self.a[0] + self.b[0]), int(self.a[-1] + self.b[-1])

    def kth_finite(self, k: int) -> int:
        """The k-th smallest finite sum (0-based), by bisection on the value."""
        lo, hi = self.span()  # type: ignore[misc]
        while lo < hi:
            mid = (lo + hi) // 2
            if self.count_le(mid) >= k + 1:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def window(self, lo: int, hi: int) -> np.ndarray:
        """Every finite sum in [lo, hi], sorted (for narrow windows)."""
        if self.a.size == 0 or self.b.size == 0 or lo > hi:
            return np.empty(0, dtype=np.int64)
        start = np.searchsorted(self.b, lo - self.a, side="left")
        stop = np.searchsorted(self.b, hi - self.a, side="right")
        if self.walsh:
            start = np.maximum(start, np.arange(self.a.size))
        lengths = np.maximum(stop - start, 0)
        rows = np.repeat(np.arange(self.a.size), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.sort(self.a[rows] + self.b[np.repeat(start, lengths) + offsets])

    def contains(self, s: int) -> bool:
        return self.window(s, s).size > 0

    def median(self) -> float:
        """The median of all defined sums (as numpy's median of the listed pairs: the mean
        of the two middle ones when their number is even), in grid units; nan if none."""
        if self.size == 0:
            return math.nan
        middle = [(self.size - 1) // 2, self.size // 2]
        return sum(self._kth(k) for k in middle) / 2

    def _kth(self, k: int) -> float:
        if k < self.minus_inf:
            return -math.inf
        k -= self.minus_inf
        if k < self.finite:
            return float(self.kth_finite(k))
        return math.inf
