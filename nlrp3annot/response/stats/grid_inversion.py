"""Test inversion for cohorts too large to list every breakpoint (a registry).

:func:`nlrp3annot.response.stats.inversion.invert` evaluates the test at every breakpoint
(a pairwise difference, a Walsh average) and in every gap between two; at n1 x n2 = 22
million differences that list alone outgrows the machine. Here the shift runs over the grid
every change is rounded to (``DIFF_DECIMALS`` decimals), where the test's P is already a
step function: each end of the interval is found by bisection on grid points, about 40 tests
per end whatever the cohort's size, each test counted in O(n log n)
(:func:`nlrp3annot.response.stats.censored.gehan_scores`, scipy's asymptotic rank tests).
Whether a grid point is itself a breakpoint, which decides an open or closed end exactly as
the listing path does, is counted from the sorted values (:class:`PairSums`), never listed.

Where the interval's centre (the estimate) is not accepted (a censored value's unbounded
end can pull the estimate's range away from what the test accepts), the start is where the
test's statistic changes sign, found by bisection too: the statistic is monotone in the
shift, and the test accepts there if it accepts anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from nlrp3annot.response.stats.pairs import SCALE, PairSums

# Above this many breakpoints the grid path is taken (the listing path's sort and its 801
# full-scan points are the same answer, at O(n^2) memory).
LISTING_MAX = 200_000


@dataclass(frozen=True)
class GridBreakpoints:
    """The breakpoints of a test's P as grid integers: each set's sums (between groups:
    ``a - b`` differences) or, with ``walsh``, half-sums rounded to the grid (within)."""

    sets: tuple[PairSums, ...]
    walsh: bool = False

    def span(self) -> tuple[int, int] | None:
        spans = [span for span in (s.span() for s in self.sets) if span is not None]
        if not spans:
            return None
        low, high = min(a for a, _ in spans), max(b for _, b in spans)  # type: ignore[misc]
        return (low // 2, -(-high // 2)) if self.walsh else (low, high)

    def at(self, m: int) -> bool:
        """A breakpoint rounds to grid point m."""
        if self.walsh:  # (a + b) / 2 rounds to m when a + b lies within one unit of 2m
            return any(s.window(2 * m - 1, 2 * m + 1).size for s in self.sets)
        return any(s.contains(m) for s in self.sets)


@dataclass(frozen=True)
class GridEnd:
    value: float
    open: bool
    holes: tuple[float, ...] = ()  # rejected breakpoints stepped over (see Interval)


def invert_on_grid(
    p_at: Callable[[float], float],
    statistic_at: Callable[[float], float],
    breakpoints: GridBreakpoints,
    centre: float,
    alpha: float,
) -> tuple[GridEnd, GridEnd] | None:
    """The ends of {d : p_at(d) >= alpha} around ``centre`` (its connected part), found on the
    grid; None when no breakpoint is finite (no end can be bounded). ``statistic_at(d)``:
    the test's signed statistic, falling as d grows (positive: the data sit above d)."""
    span = breakpoints.span()
    if span is None:
        return None
    low, high = span
    margin = max(SCALE, high - low)
    outside_low, outside_high = low - margin, high + margin

    def accepted(m: int) -> bool:
        return p_at(m / SCALE) >= alpha - 1e-12

    start = (
        min(max(round(centre * SCALE), outside_low), outside_high)
        if math.isfinite(centre)
        else (low + high) // 2
    )
    if not accepted(start):
        start = _sign_change(statistic_at, outside_low, outside_high)
        if not accepted(start):
            if accepted(start + 1):
                start += 1
            else:
                return GridEnd(centre, True), GridEnd(centre, True)
    return (
        _end(accepted, breakpoints, start, outside_low, -1),
        _end(accepted, breakpoints, start, outside_high, +1),
    )


def boundary(holds: Callable[[int], bool], good: int, bad: int) -> tuple[int, int]:
    """Bisection from ``good`` (where ``holds``) towards ``bad`` (where it does not), either
    way round: the adjacent pair where it stops holding, assuming it holds on one side."""
    while abs(bad - good) > 1:
        mid = (good + bad) // 2
        if holds(mid):
            good = mid
        else:
            bad = mid
    return good, bad


def _sign_change(statistic_at: Callable[[float], float], low: int, high: int) -> int:
    """The last grid point at which the statistic is still >= 0 (it falls with the shift)."""
    if statistic_at(low / SCALE) < 0:
        return low
    return boundary(lambda m: statistic_at(m / SCALE) >= 0, low, high)[0]


def _end(
    accepted: Callable[[int], bool], breakpoints: GridBreakpoints, start: int, beyond: int,
    step: int,
) -> GridEnd:  # fmt: skip
    """The interval's end from ``start`` towards ``beyond`` (outside every breakpoint): an
    infinite end where even that is accepted, else the last accepted grid point (closed) or
    the first rejected one where it is a breakpoint the test itself rejects (open)."""
    holes: list[float] = []
    if accepted(beyond):
        return GridEnd(step * math.inf, False)
    good = start
    while True:
        good, bad = boundary(accepted, good, beyond)
        if breakpoints.at(bad) and bad + step != beyond and accepted(bad + step):
            holes.append(bad / SCALE)  # a single rejected breakpoint inside: step over it
            good = bad + step
            continue
        if breakpoints.at(bad) and not breakpoints.at(good):
            return GridEnd(bad / SCALE, True, tuple(holes))
        return GridEnd(good / SCALE, False, tuple(holes))
