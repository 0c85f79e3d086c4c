"""Estimates and intervals that agree with their tests.

A confidence interval that excludes no effect beside a P of 0.15 is two methods talking:
here the interval of every comparison is the set of effects its own test does not reject
(test inversion), so a 95% interval excludes 0 exactly when that test's P at 0 is below
0.05. And the estimate comes from the values as measured: where a value is only known to lie
below (or above) a detection limit, the estimate is given as the range it takes over the
values the limits allow (the Hodges-Lehmann estimators are monotone in every value, so the
range's ends are the estimates at the bounds' ends), never as one substituted number.

- Between groups: the shift of group 1 against group 2 in the Gehan test of interval data
  (:func:`nlrp3annot.response.stats.censored.gehan_test`; with no censored value it is the
  Mann-Whitney test, by Mantel's scores): the interval is every shift d for which the test
  of (group 1 - d) against group 2 has P >= alpha.
- Within a group: the Wilcoxon signed-rank test with zero differences dropped (Wilcoxon's
  method): the interval is every d for which the test of the differences minus d has
  P >= alpha (a difference equal to d is then a zero, and dropped, as in the test itself).

Each test's P changes only where the order of the data changes (a pairwise difference of
bounds between groups; a Walsh average within), so it is evaluated at those points and
between them; up to ``FULL_SCAN`` points all of them, beyond by bisection from the estimate
outwards (P falls away from the estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import rankdata

from nlrp3annot.response.stats.censored import (
    Bounds,
    IntervalValues,
    gehan_test,
    signed_rank_interval_test,
)
from nlrp3annot.response.stats.comparison_data import DIFF_DECIMALS
from nlrp3annot.response.stats.grid_inversion import (
    LISTING_MAX,
    GridBreakpoints,
    boundary,
    invert_on_grid,
)
from nlrp3annot.response.stats.pairs import SCALE, PairSums, representable
from nlrp3annot.response.stats.rank_tests import (
    mann_whitney_p,
    signed_rank_p,
    signed_rank_statistic,
)

FULL_SCAN = 801
Values = Sequence[Bounds] | IntervalValues


@dataclass(frozen=True)
class Interval:
    """A confidence interval by test inversion; an end may be open (the test rejects the
    end itself but nothing just inside it), or infinite (no data could reject there).

    ``holes``: single values inside that the test rejects while it accepts both sides of
    them. With Wilcoxon's method a difference equal to the shifted value is dropped as a
    zero, so the P at exactly that value can fall below alpha while the values on either
    side are accepted: the interval is the smallest holding every accepted value, and the
    holes are named with it, so that it still excludes exactly what the test rejects."""

    lower: float
    upper: float
    lower_open: bool = False
    upper_open: bool = False
    holes: tuple[float, ...] = ()

    def excludes(self, value: float) -> bool:
        if value < self.lower or value > self.upper or value in self.holes:
            return True
        return (value == self.lower and self.lower_open) or (
            value == self.upper and self.upper_open
        )

    @property
    def finite(self) -> bool:
        return math.isfinite(self.lower) and math.isfinite(self.upper)

    @property
    def informative(self) -> bool:
        """At least one end bounded (a censored value can leave the other end open)."""
        return math.isfinite(self.lower) or math.isfinite(self.upper)

    def text(self, form: Callable[[float], str] = lambda v: f"{v:.3g}") -> str:
        """The interval as it is shown: "-1 to 0", an open end marked at its side ("-1 to <0":
        the test rejects 0 itself; "> -1 to 0"), "" when no end is bounded."""
        if not self.informative:
            return ""
        lower = "-inf" if self.lower == -math.inf else form(self.lower)
        upper = "inf" if self.upper == math.inf else form(self.upper)
        if self.lower_open and math.isfinite(self.lower):
            lower = f"> {lower}"
        if self.upper_open and math.isfinite(self.upper):
            upper = f"<{upper}"
        holes = f" except {', '.join(form(h) for h in self.holes)}" if self.holes else ""
        return f"{lower} to {upper}{holes}"


@dataclass(frozen=True)
class Estimate:
    """A Hodges-Lehmann estimate over the values the detection limits allow: one number
    when ``low == high``."""

    low: float
    high: float

    @property
    def exact(self) -> bool:
        return self.low == self.high

    @property
    def value(self) -> float:
        return self.low if self.exact else math.nan

    def text(self, form: Callable[[float], str] = lambda v: f"{v:.3g}") -> str:
        if self.exact or (math.isfinite(self.low) and form(self.low) == form(self.high)):
            return form(self.low)  # (a range narrower than the shown precision is one number)
        if not math.isfinite(self.low):
            return f"< {form(self.high)}" if math.isfinite(self.high) else "undetermined"
        if not math.isfinite(self.high):
            return f"> {form(self.low)}"
        return f"{form(self.low)} to {form(self.high)}"


def invert(
    p_at: Callable[[float], float],
    breakpoints: np.ndarray,
    centre: float,
    alpha: float,
    statistic_at: Callable[[float], float] | None = None,
) -> Interval:
    """The values d with p_at(d) >= alpha around ``centre``, where p_at is constant between
    consecutive ``breakpoints`` and may differ at them: the run of accepted points from the
    centre outwards, stepping over a single rejected breakpoint whose far side is accepted
    (a hole, see :class:`Interval`). ``statistic_at(d)``, the test's signed statistic
    (falling as d grows), finds an accepted start where the centre is not one."""
    cuts = np.unique(breakpoints[np.isfinite(breakpoints)])
    if cuts.size == 0:
        return Interval(-math.inf, math.inf)
    # test points: each breakpoint and one point inside each gap (and beyond both ends)
    inside = (cuts[:-1] + cuts[1:]) / 2
    spread = max(1.0, float(cuts[-1] - cuts[0]))
    points = np.empty(2 * cuts.size + 1)
    points[0], points[-1] = cuts[0] - spread, cuts[-1] + spread
    points[1:-1:2], points[2:-1:2] = cuts, inside
    start = int(np.argmin(np.abs(points - centre)))
    cache: dict[int, bool] = {}

    def accepted(i: int) -> bool:
        if i not in cache:
            cache[i] = p_at(float(points[i])) >= alpha - 1e-12
        return cache[i]

    if not accepted(start):
        # the estimate's range can reach beyond what the test accepts (a censored value's
        # unbounded end): start from an accepted point
        found = _accepted_start(accepted, points, start, statistic_at)
        if found is None:
            return Interval(centre, centre, True, True)
        start = found
    (left, left_holes), (right, right_holes) = (
        _run_end(accepted, start, -1, points.size),
        _run_end(accepted, start, +1, points.size),
    )
    lower = -math.inf if left == 0 else float(points[left] if left % 2 else points[left - 1])
    upper = (
        math.inf
        if right == points.size - 1
        else float(points[right] if right % 2 else points[right + 1])
    )
    # an end that is a gap (even index) closes on the breakpoint it touches, which the test
    # itself rejected: that end is open
    holes = tuple(sorted(float(points[i]) for i in (*left_holes, *right_holes)))
    return Interval(lower, upper, left % 2 == 0 and left != 0,
                    right % 2 == 0 and right != points.size - 1, holes)  # fmt: skip


def _accepted_start(
    accepted: Callable[[int], bool],
    points: np.ndarray,
    start: int,
    statistic_at: Callable[[float], float] | None,
) -> int | None:
    """An accepted point: where the statistic changes sign (it falls with the shift; the
    test accepts there if anywhere), else, with few points, the nearest accepted one."""
    if statistic_at is not None:
        low = 0
        if statistic_at(float(points[low])) >= 0:
            low = boundary(lambda i: statistic_at(float(points[i])) >= 0, 0, points.size - 1)[0]
        for i in (low, low + 1, low - 1):
            if 0 <= i < points.size and accepted(i):
                return i
    if points.size > FULL_SCAN:
        return None
    order = np.argsort(np.abs(np.arange(points.size) - start), kind="stable")
    return next((int(i) for i in order if accepted(int(i))), None)


def _run_end(
    accepted: Callable[[int], bool], start: int, step: int, size: int
) -> tuple[int, list[int]]:
    """The last accepted index from ``start`` going ``step``, and the holes stepped over:
    every point when there are few, else bisection (assuming P falls away from the
    estimate). A hole is a rejected breakpoint (odd index) whose next gap is accepted."""
    last = 0 if step < 0 else size - 1
    holes: list[int] = []

    def hole(i: int) -> bool:
        beyond = i + step
        return i % 2 == 1 and 0 <= beyond < size and accepted(beyond)

    if size <= FULL_SCAN:
        i = start
        while i != last:
            if accepted(i + step):
                i += step
            elif hole(i + step):
                holes.append(i + step)
                i += 2 * step
            else:
                break
        return i, holes
    good = start
    while True:
        if accepted(last):
            return last, holes
        good, bad = boundary(accepted, good, last)
        if not hole(bad):
            return good, holes
        holes.append(bad)
        good = bad + step


# --------------------------------------------------------------------------------------------
# Between groups: the shift in Gehan's (Mann-Whitney's) test


def shift_breakpoints(x: Values, y: Values) -> np.ndarray:
    """Shifts at which a pair's certain order changes: x.low - y.high and x.high - y.low."""
    x, y = IntervalValues.of(x), IntervalValues.of(y)
    xl, xh, yl, yh = x.low, x.high, y.low, y.high
    with np.errstate(invalid="ignore"):
        return np.concatenate(
            [np.subtract.outer(xl, yh).ravel(), np.subtract.outer(xh, yl).ravel()]
        )


def shift_estimate(x: Values, y: Values) -> Estimate:
    """The Hodges-Lehmann shift (median of pairwise differences, x - y) over the allowed
    values: lowest with x at its lows and y at its highs, highest the other way."""
    x, y = IntervalValues.of(x), IntervalValues.of(y)
    if len(x) * len(y) > LISTING_MAX and representable(np.r_[x.low, x.high, y.low, y.high]):
        return Estimate(_grid_value(PairSums(x.low, -y.high).median()),
                        _grid_value(PairSums(x.high, -y.low).median()))  # fmt: skip
    with np.errstate(invalid="ignore"):
        low = _median_or_nan(np.subtract.outer(x.low, y.high))
        high = _median_or_nan(np.subtract.outer(x.high, y.low))
    return Estimate(low, high)


# --------------------------------------------------------------------------------------------
# Within a group: the location in Wilcoxon's signed-rank test


def location_estimate(diffs: Values) -> Estimate:
    """The one-sample Hodges-Lehmann estimate (median of Walsh averages) over the allowed
    values."""
    v = IntervalValues.of(diffs)
    return Estimate(_walsh_median(v.low), _walsh_median(v.high))


def location_interval(diffs: np.ndarray, estimate: Estimate, alpha: float) -> Interval:
    """Inverting the exact (or, beyond 50 non-zero differences, asymptotic) signed-rank test
    with zeros dropped, on the differences ``diffs`` the test itself uses."""

    diffs = np.asarray(diffs, dtype=float)
    if diffs.size == 0:
        return Interval(-math.inf, math.inf)

    def p_at(d: float) -> float:
        p = signed_rank_p(diffs - d)
        return 1.0 if math.isnan(p) else p

    if _listed(diffs.size * (diffs.size + 1) // 2, diffs):
        i, j = np.triu_indices(diffs.size)
        walsh = (diffs[i] + diffs[j]) / 2
        centre = _centre(estimate) if math.isfinite(_centre(estimate)) else float(np.median(walsh))
        return invert(p_at, walsh, centre, alpha, lambda d: _signed_rank_deviation(diffs - d))
    return _on_grid(p_at, lambda d: _signed_rank_deviation(diffs - d),
                    GridBreakpoints((PairSums(diffs),), walsh=True), estimate, alpha)  # fmt: skip


def _signed_rank_deviation(diffs: np.ndarray) -> float:
    """T+ - T- of the signed-rank test with zeros dropped (falls as the data move down)."""
    diffs = np.round(diffs, DIFF_DECIMALS)
    nonzero = diffs[diffs != 0]
    ranks = rankdata(np.abs(nonzero))
    return float(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum())


def _walsh_median(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return math.nan
    if not _listed(v.size * (v.size + 1) // 2, v):
        return _grid_value(PairSums(v).median() / 2)
    i, j = np.triu_indices(v.size)
    with np.errstate(invalid="ignore"):
        return _median_or_nan((v[i] + v[j]) / 2)


def _listed(pairs: int, *values: np.ndarray) -> bool:
    """Few enough pairs to list them (or values too large for the grid's integers)."""
    return pairs <= LISTING_MAX or not representable(np.concatenate(values))


def _grid_value(units: float) -> float:
    return units / SCALE if math.isfinite(units) else units


def _on_grid(
    p_at: Callable[[float], float], statistic_at: Callable[[float], float],
    breakpoints: GridBreakpoints, estimate: Estimate, alpha: float,
) -> Interval:  # fmt: skip
    ends = invert_on_grid(p_at, statistic_at, breakpoints, _centre(estimate), alpha)
    if ends is None:
        return Interval(-math.inf, math.inf)
    lower, upper = ends
    holes = tuple(sorted((*lower.holes, *upper.holes)))
    return Interval(lower.value, upper.value, lower.open, upper.open, holes)


def _median_or_nan(values) -> float:
    values = np.asarray(values, dtype=float).ravel()
    values = values[~np.isnan(values)]
    return float(np.median(values)) if values.size else math.nan


def _centre(estimate: Estimate) -> float:
    if math.isfinite(estimate.low) and math.isfinite(estimate.high):
        return (estimate.low + estimate.high) / 2
    return estimate.high if math.isfinite(estimate.high) else estimate.low


# --------------------------------------------------------------------------------------------
# One comparison: the test, its interval and the estimate, from the same data


@dataclass(frozen=True)
class Effect:
    """A comparison as reported: the estimate over the allowed values, the interval by
    inverting the test, the test's P at no effect, and the test's name."""

    estimate: Estimate
    interval: Interval
    p: float
    statistic: float
    method: str  # "exact", "asymptotic", "Gehan exact", "Gehan asymptotic"
    n: tuple[int, ...]


def between_p(x: Values, y: Values) -> tuple[float, float, str]:
    """(U, P, method) of group x against y: the Mann-Whitney test where every value is
    measured (exact up to 50 a group, else tie- and continuity-corrected normal), Gehan's
    test of intervals where one is not. U counts the pairs where x is certainly larger, plus
    half of the others (with measured values, Mann-Whitney's U)."""
    x, y = IntervalValues.of(x), IntervalValues.of(y)
    if x.exact.all() and y.exact.all():
        u, p, method = mann_whitney_p(x.low, y.low)
        return u, p, method
    result = gehan_test(x, y)
    return (result.statistic + len(x) * len(y)) / 2, result.p, f"Gehan {result.method}"


def between_effect(x: Values, y: Values, alpha: float) -> Effect:
    """The Hodges-Lehmann shift over the values the limits allow and the interval inverting
    Mann-Whitney's (Gehan's) test. With censored changes the range can reach outside the
    interval: the test counts overlapping intervals as ties, the range moves every value to
    its ends (the tables then say so: :func:`range_outside`)."""
    x, y = IntervalValues.of(x), IntervalValues.of(y)
    u, p, method = between_p(x, y)
    estimate = shift_estimate(x, y)

    def p_at(d: float) -> float:
        q = between_p(x.shifted(d), y)[1]
        return 1.0 if math.isnan(q) else q

    def statistic_at(d: float) -> float:
        return between_p(x.shifted(d), y)[0] - len(x) * len(y) / 2

    if _listed(2 * len(x) * len(y), x.low, x.high, y.low, y.high):
        interval = invert(p_at, shift_breakpoints(x, y), _centre(estimate), alpha, statistic_at)
    else:
        breakpoints = GridBreakpoints((PairSums(x.low, -y.high), PairSums(x.high, -y.low)))
        interval = _on_grid(p_at, statistic_at, breakpoints, estimate, alpha)
    return Effect(estimate, _null_hole(interval, p, alpha), p, u, method, (len(x), len(y)))


def within_effect(bounds: Values, alpha: float) -> Effect:
    """``bounds``: each patient's change as the limits allow. Measured changes: Wilcoxon's
    signed-rank test (zeros dropped), the Hodges-Lehmann location and the interval inverting
    the test. A censored change: the signed-rank test of the changes as intervals
    (:func:`~nlrp3annot.response.stats.censored.signed_rank_interval_test`) and the interval
    inverting it; the estimate over the values the limits allow, as for measured ones."""
    values = IntervalValues.of(bounds)
    estimate = location_estimate(values)
    if values.exact.all():
        tested = values.low
        interval = location_interval(tested, estimate, alpha)
        p = signed_rank_p(tested)
        nonzero = int((np.round(tested, DIFF_DECIMALS) != 0).sum())
        method = "exact" if nonzero <= 50 else "asymptotic"
        interval = _null_hole(interval, p, alpha)
        return Effect(estimate, interval, p, signed_rank_statistic(tested), method,
                      (len(tested),))  # fmt: skip
    result = signed_rank_interval_test(values)

    def p_at(d: float) -> float:
        q = signed_rank_interval_test(values.shifted(d)).p
        return 1.0 if math.isnan(q) else q

    def deviation(d: float) -> float:
        shifted = signed_rank_interval_test(values.shifted(d))
        return 0.0 if shifted.n_signed == 0 else shifted.t_plus - shifted.t_minus

    ends = np.concatenate([values.low, values.high])
    ends = ends[np.isfinite(ends)]
    if _listed(ends.size * (ends.size + 1) // 2, ends):
        interval = invert(p_at, walsh_breakpoints(values), _centre(estimate), alpha, deviation)
    else:
        interval = _on_grid(p_at, deviation, GridBreakpoints((PairSums(ends),), walsh=True),
                            estimate, alpha)  # fmt: skip
    interval = _null_hole(interval, result.p, alpha)
    return Effect(estimate, interval, result.p, result.statistic,
                  f"interval ranks {result.method}", (len(values),))  # fmt: skip


def _null_hole(interval: Interval, p: float, alpha: float) -> Interval:
    """No effect (0) named as a hole where the test rejects it inside the interval. The walk
    from the centre finds every hole where the test points are few (:func:`invert`);
    bisection, with many, finds the ends but can pass over a hole, and a hole at 0 is the
    one that decides whether the interval agrees with the P beside it."""
    if math.isfinite(p) and p < alpha and not interval.excludes(0.0):
        return replace(interval, holes=tuple(sorted((*interval.holes, 0.0))))
    return interval


def walsh_breakpoints(bounds: Values) -> np.ndarray:
    """Shifts at which a change's certain sign, or the certain order of two changes' sizes,
    changes: every end, and every average of two ends of different changes."""
    v = IntervalValues.of(bounds)
    ends = np.column_stack([v.low, v.high]).ravel()  # each change's low, then its high
    ends = ends[np.isfinite(ends)]
    i, j = np.triu_indices(ends.size)
    return np.round((ends[i] + ends[j]) / 2, DIFF_DECIMALS)


def range_outside(effect: Effect) -> bool:
    """The estimate's range reaches outside its interval (censored changes only)."""
    ci, est = effect.interval, effect.estimate
    return ci.informative and not est.exact and (est.low < ci.lower or est.high > ci.upper)


RANGE_OUTSIDE_NOTE = (
    "the estimate's range reaches outside the CI: the range moves every below-limit value "
    "to both ends of its interval, while the test (and its CI) counts changes whose "
    "intervals overlap as ties"
)


def median_estimate(bounds: Sequence[Bounds]) -> Estimate:
    """The median over the allowed values (lows' median to highs' median)."""
    return Estimate(
        _median_or_nan([b.low for b in bounds]), _median_or_nan([b.high for b in bounds])
    )
