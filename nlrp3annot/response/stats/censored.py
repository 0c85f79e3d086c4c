"""Laboratory values below (or above) a detection limit, handled as what they are: bounds.

A value reported as ``<5`` lies somewhere in [0, 5); one reported as ``>200`` above 200.
Ranking such a value at its limit is harmless when there is one limit and every measured
value lies above it. It is not when a measure has several limits (two assays), or when a
limit sits above values that were measured: ``<5`` would then rank above a measured 3,
though it may be lower. For those measures:

- within groups (wherever a censored value enters a change), the signed-rank test of the
  changes as intervals (:func:`signed_rank_interval_test`): a change of unknown sign is
  dropped like a zero, the sizes ranked Gehan's way;
- between groups (every measure, wherever a censored value enters a change), a Gehan-type
  test compares the changes as intervals
  (:func:`gehan_test`): patient i's change is known to be smaller than patient j's only
  when its whole interval lies below j's; pairs whose intervals overlap count as ties.
  Gehan's statistic (1965) is the sum over cross-group pairs of +1 / -1 / 0; by Mantel's
  scores it is the sum of per-patient scores over one group, so its exact permutation
  distribution is counted like a rank sum.

Descriptive medians and quartiles are the ranges they take over the values the limits allow
(:func:`quantile_range`: "8 to 9", "< 20"), never a number computed at a limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from nlrp3annot.response.stats.comparison_data import DIFF_DECIMALS, MANNWHITNEY_EXACT_MAX_N


@dataclass(frozen=True)
class Bounds:
    """Where a true value lies: between ``low`` and ``high``, each end open or closed."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    @classmethod
    def of(cls, value: float, mark: str) -> Bounds:
        """A measured value, or one below / above its detection limit (lab values are
        concentrations or rates, never negative, so ``<L`` starts at 0)."""
        if mark == "<":
            return cls(0.0, value, False, True)
        if mark == ">":
            return cls(value, math.inf, True, False)
        return cls(value, value)

    @property
    def exact(self) -> bool:
        return self.low == self.high and not (self.low_open or self.high_open)

    def below(self, other: Bounds) -> bool:
        """Certainly smaller than ``other``, whatever the true values are."""
        if self.high < other.low:
            return True
        return self.high == other.low and (self.high_open or other.low_open)


def difference(earlier: Bounds, later: Bounds) -> Bounds:
    """Bounds of later - earlier."""
    return Bounds(
        later.low - earlier.high,
        later.high - earlier.low,
        later.low_open or earlier.high_open,
        later.high_open or earlier.low_open,
    )


def log_ratio(earlier: Bounds, later: Bounds) -> Bounds:
    """Bounds of log(later / earlier); both must have a positive lower end or be ``<L``."""

    def log(x: float) -> float:
        return math.log(x) if x > 0 else -math.inf

    return Bounds(
        log(later.low) - log(earlier.high),
        log(later.high) - log(earlier.low),
        later.low_open or earlier.high_open,
        later.high_open or earlier.low_open,
    )


def paired_bounds(
    frame: pd.DataFrame, measure: str, earlier: str, later: str, patients: set[str], *, ratio=False
) -> list[Bounds]:
    """The bounds of each patient's change (or log ratio) between two visits, for patients
    with both visits (with a ratio: both values above 0 or below a limit)."""
    data = frame[(frame["measure"] == measure) & frame["patient_id"].isin(patients)]
    at = {
        (row.patient_id, row.visit): Bounds.of(float(row.value), str(row.censored))
        for row in data.itertuples(index=False)
    }
    out = []
    for patient in sorted(set(data["patient_id"])):
        first, second = at.get((patient, earlier)), at.get((patient, later))
        if first is None or second is None:
            continue
        if ratio:
            if first.high <= 0 or second.high <= 0:
                continue  # a measured 0 has no ratio, as in ratios.log_ratios
            change = log_ratio(first, second)
        else:
            change = difference(first, second)
        # float noise would break ties that exist on paper (2.3 - 1.1 != 3.3 - 2.1)
        out.append(Bounds(round(change.low, DIFF_DECIMALS), round(change.high, DIFF_DECIMALS),
                          change.low_open, change.high_open))  # fmt: skip
    return out


@dataclass(frozen=True)
class IntervalValues:
    """Many :class:`Bounds` as four arrays: the form the tests and their inversion compute
    on, so that a registry of thousands of patients is counted with sorted arrays rather
    than pair by pair."""

    low: np.ndarray
    high: np.ndarray
    low_open: np.ndarray
    high_open: np.ndarray

    @classmethod
    def of(cls, values: Sequence[Bounds] | IntervalValues) -> IntervalValues:
        if isinstance(values, IntervalValues):
            return values
        return cls(
            np.array([b.low for b in values], dtype=float),
            np.array([b.high for b in values], dtype=float),
            np.array([b.low_open for b in values], dtype=bool),
            np.array([b.high_open for b in values], dtype=bool),
        )

    def __len__(self) -> int:
        return int(self.low.size)

    @property
    def exact(self) -> np.ndarray:
        return (self.low == self.high) & ~self.low_open & ~self.high_open

    def shifted(self, d: float) -> IntervalValues:
        """Each value minus d, rounded as changes are (DIFF_DECIMALS), so that a bound moved
        onto another's position ties with it, as on paper."""
        with np.errstate(invalid="ignore"):
            return IntervalValues(np.round(self.low - d, DIFF_DECIMALS),
                                  np.round(self.high - d, DIFF_DECIMALS), self.low_open,
                                  self.high_open)  # fmt: skip

    def joined(self, other: IntervalValues) -> IntervalValues:
        return IntervalValues(*(np.concatenate([a, b]) for a, b in zip(self._parts(),
                                                                        other._parts(),
                                                                        strict=True)))  # fmt: skip

    def _parts(self) -> tuple[np.ndarray, ...]:
        return self.low, self.high, self.low_open, self.high_open


def gehan_scores(pooled: Sequence[Bounds] | IntervalValues) -> np.ndarray:
    """Mantel's score per value: how many values are certainly below it minus how many are
    certainly above it (:meth:`Bounds.below` over every pair). With no censoring this is
    2 x midrank - (N + 1). Counted with sorted ends, O(N log N)."""
    v = IntervalValues.of(pooled)
    highs, open_highs = np.sort(v.high), np.sort(v.high[v.high_open])
    lows, open_lows = np.sort(v.low), np.sort(v.low[v.low_open])
    # below: j certainly under i, i.e. high_j < low_i, or equal with either end open
    under = np.searchsorted(highs, v.low, side="left")
    tied_any = np.searchsorted(highs, v.low, side="right") - under
    tied_open = np.searchsorted(open_highs, v.low, side="right") - np.searchsorted(
        open_highs, v.low, side="left"
    )
    below = under + np.where(v.low_open, tied_any, tied_open)
    # above: i certainly under j, i.e. high_i < low_j, or equal with either end open
    over = lows.size - np.searchsorted(lows, v.high, side="right")
    tied_any = np.searchsorted(lows, v.high, side="right") - np.searchsorted(
        lows, v.high, side="left"
    )
    tied_open = np.searchsorted(open_lows, v.high, side="right") - np.searchsorted(
        open_lows, v.high, side="left"
    )
    above = over + np.where(v.high_open, tied_any, tied_open)
    return (below - above).astype(int)


@dataclass(frozen=True)
class GehanResult:
    statistic: int  # Gehan's U: over cross-group pairs, +1 where x is certainly larger, -1 smaller
    p: float
    method: str  # "exact" or "asymptotic"


def gehan_test(
    x: Sequence[Bounds] | IntervalValues, y: Sequence[Bounds] | IntervalValues
) -> GehanResult:
    """Two-sided Gehan-type test of two groups of interval-censored values.

    Exact up to 50 per group: every split of the pooled patients into groups of the observed
    sizes is equally likely under the null, and the score sum of the first group is counted
    over all of them by dynamic programming; P = P(|W| >= |w|) (the scores sum to 0, so the
    null mean is 0). Beyond, the normal approximation with the permutation variance
    n1 n2 / (N (N - 1)) x sum of squared scores (Mantel 1967)."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both groups need at least one value")
    scores = gehan_scores(IntervalValues.of(x).joined(IntervalValues.of(y)))
    observed = int(scores[:n1].sum())
    if not scores.any():
        return GehanResult(observed, math.nan, "exact")
    if n1 <= MANNWHITNEY_EXACT_MAX_N and n2 <= MANNWHITNEY_EXACT_MAX_N:
        return GehanResult(observed, _exact_p(scores, n1, observed), "exact")
    n = n1 + n2
    variance = n1 * n2 / (n * (n - 1)) * float((scores.astype(float) ** 2).sum())
    z = abs(observed) / math.sqrt(variance)
    return GehanResult(observed, float(2 * stats.norm.sf(z)), "asymptotic")


def _exact_p(scores: np.ndarray, n1: int, observed: int) -> float:
    offset = int(-scores.min())
    shifted = scores + offset  # non-negative, so sums index an array
    top = int(np.sort(shifted)[-n1:].sum())
    counts = np.zeros((n1 + 1, top + 1))
    counts[0, 0] = 1.0
    for s in shifted:  # each patient joins the first group or not
        s = int(s)
        counts[1:, s:] = counts[1:, s:] + counts[:-1, : top + 1 - s]
    sums = np.arange(top + 1) - n1 * offset
    row = counts[n1]
    extreme = np.abs(sums) >= abs(observed)
    return min(1.0, float(row[extreme].sum() / row.sum()))


# --------------------------------------------------------------------------------------------
# Within a group: the signed-rank test of changes known as intervals


def certain_sign(change: Bounds) -> int:
    """+1 / -1 where the change is certainly above / below 0, else 0 (a measured zero, or an
    interval reaching both sides: its sign is unknown, and Wilcoxon's method drops it)."""
    if change.low > 0 or (change.low == 0 and change.low_open and change.high > 0):
        return 1
    if change.high < 0 or (change.high == 0 and change.high_open and change.low < 0):
        return -1
    return 0


def certain_signs(v: IntervalValues) -> np.ndarray:
    """:func:`certain_sign` of every change at once."""
    positive = (v.low > 0) | ((v.low == 0) & v.low_open & (v.high > 0))
    negative = (v.high < 0) | ((v.high == 0) & v.high_open & (v.low < 0))
    return np.where(positive, 1, np.where(negative, -1, 0))


@dataclass(frozen=True)
class SignedRankResult:
    t_plus: float  # sum of the (interval) midranks of the certainly positive changes
    statistic: float  # min(T+, T-), as the signed-rank table reports it
    p: float
    n_signed: int  # changes of certain sign (the others are dropped like zeros)
    method: str  # "exact" or "asymptotic"
    t_minus: float = math.nan  # sum of the midranks of the certainly negative changes


def signed_rank_interval_test(changes: Sequence[Bounds] | IntervalValues) -> SignedRankResult:
    """Two-sided Wilcoxon signed-rank test of changes known as intervals.

    A change of unknown sign (its interval holds 0) is dropped, as Wilcoxon's method drops a
    zero. The others are ranked by their size |change| as intervals, Gehan's way: rank = 1 +
    (how many are certainly smaller) + half of those whose size may be either side, which for
    measured values is the midrank. Under the null each sign is + or - with probability 1/2
    given the sizes, so T+ has the signed-rank permutation distribution over these ranks:
    exact by dynamic programming up to 50 signed changes, else the normal approximation with
    variance sum(rank^2) / 4 and continuity correction. No value is put at its limit and no
    order is invented between values the limits leave unordered."""
    v = IntervalValues.of(changes)
    signs = certain_signs(v)
    up = signs > 0
    sizes = IntervalValues(  # |change|: a negative change's interval mirrored
        np.where(up, v.low, -v.high)[signs != 0], np.where(up, v.high, -v.low)[signs != 0],
        np.where(up, v.low_open, v.high_open)[signs != 0],
        np.where(up, v.high_open, v.low_open)[signs != 0],
    )  # fmt: skip
    n = len(sizes)
    if n == 0:
        return SignedRankResult(math.nan, math.nan, math.nan, 0, "exact")
    # doubled midranks: 2 x (1 + below + (n - 1 - below - above) / 2) = n + 1 + score
    ranks2 = (n + 1 + gehan_scores(sizes)).astype(int)
    positive = signs[signs != 0] > 0
    t2 = int(ranks2[positive].sum())
    total2 = int(ranks2.sum())
    statistic = min(t2, total2 - t2) / 2
    if n <= MANNWHITNEY_EXACT_MAX_N:
        counts = np.zeros(total2 + 1)
        counts[0] = 1.0
        for r in ranks2:  # each change adds its rank to T+ or not
            counts[r:] = counts[r:] + counts[: counts.size - r]
        extreme = np.abs(np.arange(total2 + 1) - total2 / 2) >= abs(t2 - total2 / 2) - 1e-9
        p = min(1.0, float(counts[extreme].sum() / counts.sum()))
        return SignedRankResult(t2 / 2, statistic, p, n, "exact", (total2 - t2) / 2)
    deviation = max(0.0, abs(t2 - total2 / 2) / 2 - 0.5)
    z = deviation / math.sqrt(float((ranks2.astype(float) ** 2).sum()) / 16)
    return SignedRankResult(t2 / 2, statistic, float(2 * stats.norm.sf(z)), n, "asymptotic",
                            (total2 - t2) / 2)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Which measures need it, and the tie-at-the-highest-limit substitution


def _limits(frame: pd.DataFrame, measure: str) -> tuple[list[float], pd.Series]:
    """The detection limits of a measure's below-limit values, sorted, and its measured
    values."""
    data = frame[frame["measure"] == measure]
    limits = sorted(set(data.loc[data["censored"] == "<", "value"]))
    return limits, data.loc[data["censored"] == "", "value"]


def dishonest_limits(frame: pd.DataFrame) -> dict[str, float]:
    """Measures whose below-limit values cannot be ranked at their limit, with the highest
    limit: several limits, or a limit above a measured value."""
    out = {}
    for measure in sorted(frame["measure"].unique()):
        limits, observed = _limits(frame, measure)
        if not limits:
            continue
        if len(limits) > 1 or bool((observed < limits[-1]).any()):
            out[measure] = float(limits[-1])
    return out


def censor_at_highest_limit(frame: pd.DataFrame, limits: dict[str, float]) -> pd.DataFrame:
    """Every value of these measures below their highest limit becomes ``<limit`` (tied with
    every other value there); other measures unchanged."""
    frame = frame.copy()
    for measure, limit in limits.items():
        low = (frame["measure"] == measure) & (
            (frame["value"] < limit) | ((frame["censored"] == "<") & (frame["value"] <= limit))
        )
        frame.loc[low, "value"] = limit
        frame.loc[low, "censored"] = "<"
    return frame


def censoring_warnings(frame: pd.DataFrame) -> list[str]:
    """Say where values below a detection limit could not be ranked at their limit, and
    what was done instead."""
    warnings = []
    for measure, highest in dishonest_limits(frame).items():
        limits, observed = _limits(frame, measure)
        below = int((observed < highest).sum())
        reasons = []
        if len(limits) > 1:
            reasons.append(
                "several detection limits (" + ", ".join(f"<{v:g}" for v in limits) + ")"
            )
        if below:
            reasons.append(f"{below} measured value(s) below the limit <{highest:g}")
        warnings.append(
            f"{measure}: {' and '.join(reasons)}; a below-limit value may be lower than those "
            f"values, so no order is invented: each change is the interval its limits allow "
            f"(within groups the signed-rank test of intervals, between groups Gehan's test), "
            f"the estimates where those tests are centred."
        )
    return warnings


def quantile_range(data: pd.DataFrame, q: float) -> tuple[float, float]:
    """The q-quantile (numpy's linear interpolation) over the values the detection limits
    allow: every below-limit value at the bottom of its interval (0: lab values are never
    negative) gives the lowest, at its limit the highest; a value above a limit runs from its
    limit to infinity. The quantile is monotone in every value, so these are its ends."""
    values = data["value"].to_numpy(float)
    marks = data["censored"].to_numpy(str)
    if values.size == 0:
        return math.nan, math.nan
    lows = np.where(marks == "<", 0.0, values)
    highs = np.where(marks == ">", math.inf, values)
    return _linear_quantile(lows, q), _linear_quantile(highs, q)


def _linear_quantile(values: np.ndarray, q: float) -> float:
    """numpy's linear quantile, where an infinite value counts only with a positive weight
    (numpy gives 0 x inf = nan for a quantile falling exactly on the value below it)."""
    ordered = np.sort(values)
    position = (ordered.size - 1) * q
    below = int(math.floor(position))
    weight = position - below
    if weight == 0 or below + 1 >= ordered.size:
        return float(ordered[below])
    return float(ordered[below] + weight * (ordered[below + 1] - ordered[below]))


def range_text(low: float, high: float) -> str:
    """A quantile as the data allow it: one number, "< 20" (from 0, the floor of any lab
    value, to below the limit), "> 200" or "8 to 9"."""
    if math.isnan(low):
        return ""
    if low == high:
        return f"{low:g}"
    if math.isinf(high):
        return f"> {low:g}"
    if low == 0:
        return f"< {high:g}"
    return f"{low:g} to {high:g}"


def median_text(data: pd.DataFrame) -> str:
    """The median as a reader should see it: the number, or the range the detection limits
    leave it (:func:`range_text`)."""
    return range_text(*quantile_range(data, 0.5))
