"""Power of Gehan's test, simulated as the row uses it: changes involving a value below a
detection limit compared as intervals (:func:`nlrp3annot.response.stats.censored.gehan_test`).

The model (stated in the row's method and the methods text). Per simulated patient:

- the row's value (change, or log ratio for SAA, CRP and ESR) is the median of all the
  row's values plus a draw of the smoothed bootstrap of the residuals
  (:func:`nlrp3annot.response.stats.power_model.smoothed_draws`; for the spread only, a
  below-limit value sits at its limit, as the rank tests tie them there);
- the earlier visit's value is resampled from the row's patients' earlier values, with
  its mark: a measured value stays measured, a ``<L`` stays below L (its true value taken
  at L to place the later value);
- the later value is the earlier one moved by the row's value (multiplied by its
  exponential for ratios), group 1's moved further by the effect, and censored as an
  assay would: below a detection limit resampled from the limits the measure shows in the
  data (each below-limit value counted once), it becomes ``<limit``;
- the row's value is then the interval those two values allow
  (:func:`~nlrp3annot.response.stats.censored.log_ratio` / ``difference`` bounds), and the
  draw's two groups are compared by Gehan's scores and the exact permutation P (the
  critical |W| counted once per distinct multiset of scores, as ``gehan_test`` counts it).

The draws are fixed (common random numbers: one seed, the effect only moves group 1), so
the power is a function of the effect alone and the detectable effect, the smallest with
80% power, is found by bisection in each direction (group 1 higher, group 1 lower: below a
limit information is lost, so the two differ); the larger is the row's.

Groups above 50 (Gehan's test is then the normal approximation with the permutation
variance): the same model, Noether's argument for Gehan's statistic. Its mean under the
effect is n1 n2 theta, theta = P(X certainly above Y) - P(X certainly below Y) over model
pairs, its null variance n1 n2 (N + 1) E[g^2], g(v) the share of values certainly below v
minus those certainly above (1/3 without censoring: Noether's formula); 80% power where
|theta| = (z_{1-alpha/2} + z_0.8) sqrt((N + 1) E[g^2] / (n1 n2)), theta and E[g^2] from
2,000 model values per group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from nlrp3annot.response.stats.comparison_data import MANNWHITNEY_EXACT_MAX_N, _members
from nlrp3annot.response.stats.power_model import (
    POWER,
    residuals_of,
    smallest_effect,
    smoothed_draws,
)

GEHAN_DRAWS = 1000
GEHAN_SEED = 19650601  # fixed: the same cohort always gives the same detectable effects
GEHAN_LARGE_VALUES = 2000  # model values per group for the large-group formula


@dataclass(frozen=True)
class AssayPattern:
    """How a row's values were censored: the row's patients' earlier values with their
    marks ("<", ">" or ""), the detection limits the measure shows (one per below-limit
    value, so an assay counts as often as its limit was seen), and the row's scale."""

    earlier: tuple[float, ...]
    marks: tuple[str, ...]
    limits: tuple[float, ...]
    ratio: bool


def assay_patterns(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    changes: list[tuple[str, str]],
    ratio_measures: frozenset[str] | tuple[str, ...],
) -> dict[tuple[str, str], AssayPattern]:
    """Per (measure, "earlier->later") the censoring pattern of the compared patients with
    both visits (values as reported, never at a limit)."""
    patients = _members(labels, compared[0]) | _members(labels, compared[1])
    data = frame[frame["patient_id"].isin(patients)]
    out = {}
    for measure in sorted(data["measure"].unique()):
        rows = data[data["measure"] == measure]
        limits = tuple(float(v) for v in rows.loc[rows["censored"] == "<", "value"])
        at = {(r.patient_id, r.visit): (float(r.value), str(r.censored))
              for r in rows.itertuples(index=False)}  # fmt: skip
        ratio = measure in ratio_measures
        for earlier, later in changes:
            pairs = [
                (at[(p, earlier)], at[(p, later)])
                for p in sorted(set(rows["patient_id"]))
                if (p, earlier) in at and (p, later) in at
            ]
            if ratio:  # a measured 0 has no ratio (as paired_bounds)
                pairs = [(a, b) for a, b in pairs
                         if (a[0] > 0 or a[1] == "<") and (b[0] > 0 or b[1] == "<")]  # fmt: skip
            out[(measure, f"{earlier}->{later}")] = AssayPattern(
                tuple(a[0] for a, _ in pairs), tuple(a[1] for a, _ in pairs), limits, ratio
            )
    return out


def _to_scale(values: np.ndarray, ratio: bool) -> np.ndarray:
    if not ratio:
        return values
    with np.errstate(divide="ignore"):
        return np.log(values)


class _Model:
    """Fixed draws of the model (module docstring) for one row: ``bounds(effect)`` gives
    each draw's intervals with group 1 (the first n1 columns) moved by ``effect``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, pattern: AssayPattern, shape, seed: int):
        rng = np.random.default_rng(seed)
        residuals = residuals_of(x, y)
        centre = float(np.median(np.concatenate([x, y])))
        # who the effect moves: group 1, the first n1 columns of each draw
        self.moved = np.zeros(shape, dtype=bool)
        self.moved[..., : x.size] = True
        self.change = centre + smoothed_draws(residuals, shape, rng)
        earlier = np.asarray(pattern.earlier, dtype=float)
        marks = np.asarray(pattern.marks, dtype=str)
        picked = rng.integers(0, earlier.size, size=shape)
        value, mark = earlier[picked], marks[picked]
        scaled = _to_scale(value, pattern.ratio)
        floor = -math.inf if pattern.ratio else 0.0  # lab values are never negative
        self.e_true = scaled  # a censored earlier value placed at its limit
        self.e_low = np.where(mark == "<", floor, scaled)
        self.e_high = np.where(mark == ">", math.inf, scaled)
        self.e_low_open = mark == ">"
        self.e_high_open = mark == "<"
        if pattern.limits:
            limits = np.asarray(pattern.limits, dtype=float)
            self.limit = _to_scale(limits[rng.integers(0, limits.size, size=shape)], pattern.ratio)
        else:
            self.limit = np.full(shape, -math.inf)
        self.floor = floor

    def bounds(self, effect: float) -> tuple[np.ndarray, ...]:
        later = self.e_true + self.change + np.where(self.moved, effect, 0.0)
        below = later < self.limit
        l_low = np.where(below, self.floor, later)
        l_high = np.where(below, self.limit, later)
        low = l_low - self.e_high
        high = l_high - self.e_low
        return low, high, self.e_high_open, below | self.e_low_open


def _scores(low, high, low_open, high_open) -> np.ndarray:
    """Gehan's (Mantel's) scores per draw, as ``censored.gehan_scores`` per row."""
    below = (high[..., :, None] < low[..., None, :]) | (
        (high[..., :, None] == low[..., None, :])
        & (high_open[..., :, None] | low_open[..., None, :])
    )
    return below.sum(axis=-2) - below.sum(axis=-1)


@lru_cache(maxsize=65536)
def _critical(scores: bytes, n1: int, alpha: float) -> float:
    """The smallest |W| (W: the first group's score sum) whose exact two-sided P,
    P(|W| >= |w|) over all splits of these scores into groups of the sizes, is below
    ``alpha``; inf when none is. The group counted is the smaller (W of the other is -W)."""
    values = np.frombuffer(scores, dtype=np.int64)
    k = min(n1, values.size - n1)
    offset = int(-values.min())
    shifted = values + offset
    top = int(np.sort(shifted)[-k:].sum()) if k else 0
    counts = np.zeros((k + 1, top + 1))
    counts[0, 0] = 1.0
    for s in shifted:
        s = int(s)
        counts[1:, s:] = counts[1:, s:] + counts[:-1, : top + 1 - s]
    sizes = np.abs(np.arange(top + 1) - k * offset)  # |W| of each sum
    by_size = np.bincount(sizes, weights=counts[k])
    tails = np.cumsum(by_size[::-1])[::-1] / by_size.sum()  # P(|W| >= a), a = 0, 1, ...
    rejecting = np.flatnonzero((tails < alpha) & (by_size > 0))
    return float(rejecting.min()) if rejecting.size else math.inf


def _rejects(bounds: tuple[np.ndarray, ...], n1: int, alpha: float) -> np.ndarray:
    scores = _scores(*bounds).astype(np.int64)
    w = np.abs(scores[:, :n1].sum(axis=1))
    patterns, inverse = np.unique(np.sort(scores, axis=1), axis=0, return_inverse=True)
    critical = np.array([_critical(p.tobytes(), n1, alpha) for p in patterns])
    return w >= critical[inverse.ravel()]


@lru_cache(maxsize=256)
def gehan_detectable_shift(
    x: tuple[float, ...], y: tuple[float, ...], pattern: AssayPattern, alpha: float
) -> float:
    """The smallest shift (on the row's scale) at which Gehan's test at ``alpha`` has 80%
    power in both directions (module docstring); nan when none has."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = xa.size, ya.size
    spread = float(np.concatenate([xa - np.median(xa), ya - np.median(ya)]).std())
    if spread == 0 or not pattern.earlier:
        return math.nan
    large = n1 > MANNWHITNEY_EXACT_MAX_N or n2 > MANNWHITNEY_EXACT_MAX_N
    if large:
        return _large_shift(xa, ya, pattern, alpha, spread)
    model = _Model(xa, ya, pattern, (GEHAN_DRAWS, n1 + n2), GEHAN_SEED)
    memo: dict[float, float] = {}

    def power(effect: float) -> float:
        if effect not in memo:
            memo[effect] = float(_rejects(model.bounds(effect), n1, alpha).mean())
        return memo[effect]

    up = smallest_effect(power, POWER, spread)
    down = smallest_effect(lambda e: power(-e), POWER, spread)
    return max(up, down) if not (math.isnan(up) or math.isnan(down)) else math.nan


def _large_shift(
    x: np.ndarray, y: np.ndarray, pattern: AssayPattern, alpha: float, spread: float
) -> float:
    """Noether's argument for Gehan's statistic (module docstring)."""
    n1, n2 = x.size, y.size
    m = GEHAN_LARGE_VALUES
    model = _Model(x, y, pattern, (2, m), GEHAN_SEED)  # row 0: group 1, row 1: group 2
    model.moved = np.array([[True], [False]])

    def theta(effect: float) -> float:
        low, high, low_open, high_open = model.bounds(0.0)
        moved = model.bounds(effect)
        first = (moved[0][0], moved[1][0], moved[2][0], moved[3][0])
        second = (low[1], high[1], low_open[1], high_open[1])
        above = _certainly_below(second, first).mean()
        under = _certainly_below(first, second).mean()
        return float(above - under)

    null = model.bounds(0.0)
    pooled = [np.concatenate([b[0], b[1]]) for b in null]
    g = _scores(*pooled) / (2 * m - 1)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)
    target = z * math.sqrt((n1 + n2 + 1) * float(np.mean(g.astype(float) ** 2)) / (n1 * n2))
    up = smallest_effect(theta, target, spread)
    down = smallest_effect(lambda e: -theta(-e), target, spread)
    return max(up, down) if not (math.isnan(up) or math.isnan(down)) else math.nan


def _certainly_below(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> np.ndarray:
    """Over all pairs (i of a, j of b): a_i certainly below b_j (Bounds.below)."""
    a_high, a_high_open = a[1][:, None], a[3][:, None]
    b_low, b_low_open = b[0][None, :], b[2][None, :]
    return (a_high < b_low) | ((a_high == b_low) & (a_high_open | b_low_open))
