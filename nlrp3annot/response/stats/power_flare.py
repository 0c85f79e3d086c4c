"""Power of the plan's flare test (``flare_test``: Firth's penalised likelihood-ratio test,
or the asymptotic log-rank test), simulated at the observed group sizes, follow-up and
flare rate (issue 26).

The model (stated in the row's method and the methods text): flare times exponential, group
2 at the pooled observed rate (flares / days followed, both groups), group 1 at that rate
times the hazard ratio; each patient's censoring time resampled from the censoring times
observed in their own group (none where every patient of the group flared), so unequal
follow-up stays unequal. Continuous times: no ties.

Each draw is tested as the row is: Firth's penalised partial likelihood maximised over a
grid of log hazard ratios (-16 to 16, step 2) then 10 Newton steps (the LR statistic
2 (max - value at 0) against chi-square 1 df), or the log-rank chi-square
U^2 / V (Breslow, no ties). The draws are fixed (common random numbers: the unit
exponentials and the censoring times do not change with the hazard ratio), and the
hazard ratio with 80% power is found by bisection on its log in each direction; the
larger (as a ratio above 1) is the row's.

A group above 50 patients: Schoenfeld's formula with the observed flares and allocation
(the tests are then asymptotic and the formula accurate).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special, stats

from nlrp3annot.response.stats.comparison_data import MANNWHITNEY_EXACT_MAX_N
from nlrp3annot.response.stats.power_model import POWER, smallest_effect

FLARE_DRAWS = 1000
FLARE_SEED = 20060616
_COARSE = np.arange(-16.0, 17.0, 2.0)
NEWTON_STEPS = 10


def _risk_sets(times: np.ndarray, events: np.ndarray, group: np.ndarray):
    """Per draw, in time order: event flag, group-1 flag of the one who left, at risk in
    group 1 and in group 2 (no ties)."""
    order = np.argsort(times, axis=1)
    g = np.take_along_axis(group, order, axis=1)
    e = np.take_along_axis(events, order, axis=1)
    n1 = np.cumsum(g[:, ::-1], axis=1)[:, ::-1].astype(float)
    n = times.shape[1] - np.arange(times.shape[1])
    n0 = n[None, :] - n1
    return e, g.astype(float), n1, n0


def _firth_value(beta: np.ndarray, e, g, n1, n0) -> np.ndarray:
    """Firth's penalised log partial likelihood per draw (rows) at each beta (columns),
    without derivatives (the grid search)."""
    b = beta[None, None, :]
    with np.errstate(divide="ignore"):
        l1, l0 = np.log(n1)[..., None], np.log(n0)[..., None]
    ev = e[..., None]
    log_s0 = np.logaddexp(l0, l1 + b)
    loglik = np.sum(np.where(ev, g[..., None] * b - log_s0, 0.0), axis=1)
    # log(pi (1 - pi)) = l1 + b + l0 - 2 log_s0; -inf where one group is empty
    with np.errstate(invalid="ignore"):
        terms = np.where(ev, l1 + b + l0 - 2 * log_s0, -np.inf)
    terms = np.nan_to_num(terms, nan=-np.inf)
    return loglik + 0.5 * special.logsumexp(terms, axis=1)


def _firth_terms(beta: np.ndarray, e, g, n1, n0):
    """Per draw (rows) at each beta (columns): Firth's penalised log partial likelihood,
    its first derivative and minus its second (hazard._RiskTable, vectorised)."""
    b = beta[:, None, :] if beta.ndim == 2 else beta[None, None, :]
    with np.errstate(divide="ignore"):
        l1, l0 = np.log(n1)[..., None], np.log(n0)[..., None]
    ev = e[..., None]
    z = l1 + b - l0  # logit of the group-1 share of the risk set
    pi = special.expit(z)
    loglik = np.sum(np.where(ev, g[..., None] * b - np.logaddexp(l0, l1 + b), 0.0), axis=1)
    score = np.sum(np.where(ev, g[..., None] - pi, 0.0), axis=1)
    both = ev & np.isfinite(z)
    zs = np.where(both, z, 0.0)
    terms = np.where(both, -np.logaddexp(0, zs) - np.logaddexp(0, -zs), -np.inf)
    log_info = special.logsumexp(terms, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        weights = np.exp(terms - log_info)
        first = np.sum(weights * (1 - 2 * pi), axis=1)
        second = np.sum(weights * ((1 - 2 * pi) ** 2 - 2 * pi * (1 - pi)), axis=1)
    log_info = log_info[:, 0]
    value = loglik + 0.5 * log_info
    bend = np.exp(log_info) - 0.5 * (second - first**2)
    bend = np.where(bend > 0, bend, np.exp(log_info))  # not concave there: the information
    return value, score + 0.5 * first, bend


def firth_lr_statistic(e, g, n1, n0) -> np.ndarray:
    """Firth's penalised likelihood-ratio statistic against HR 1 per draw: the best of a
    grid of log hazard ratios (-16 to 16, step 2), then Newton steps from it (each at most
    1/2, the best value seen kept)."""
    values = _firth_value(_COARSE, e, g, n1, n0)
    top = values.max(axis=1)
    beta = _COARSE[np.argmax(values, axis=1)]
    for _ in range(NEWTON_STEPS):
        value, score, bend = _firth_terms(beta[:, None], e, g, n1, n0)
        top = np.fmax(top, value[:, 0])
        step = np.clip(score[:, 0] / np.maximum(bend[:, 0], 1e-12), -0.5, 0.5)
        beta = np.clip(beta + np.nan_to_num(step), -16.0, 16.0)
    top = np.fmax(top, _firth_terms(beta[:, None], e, g, n1, n0)[0][:, 0])
    at_zero = _firth_value(np.zeros(1), e, g, n1, n0)[:, 0]
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.maximum(0.0, 2 * (top - at_zero)))


def logrank_statistic(e, g, n1, n0) -> np.ndarray:
    n = n1 + n0
    share = n1 / n
    u = np.sum(np.where(e, g - share, 0.0), axis=1)
    v = np.sum(np.where(e, share * (1 - share), 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, u**2 / v, 0.0)


STATISTICS = {"firth_lr": firth_lr_statistic, "logrank": logrank_statistic}


@lru_cache(maxsize=64)
def simulated_hazard_ratio(
    durations1: tuple[float, ...],
    events1: tuple[bool, ...],
    durations2: tuple[float, ...],
    events2: tuple[bool, ...],
    alpha: float,
    test: str,
) -> float:
    """The hazard ratio (above 1) the plan's flare test at ``alpha`` detects with 80%
    simulated power in both directions (module docstring); nan when none does."""
    t1, t2 = np.asarray(durations1, float), np.asarray(durations2, float)
    e1, e2 = np.asarray(events1, bool), np.asarray(events2, bool)
    flares, followed = int(e1.sum() + e2.sum()), float(t1.sum() + t2.sum())
    if flares == 0 or followed <= 0:
        return math.nan
    rate = flares / followed
    rng = np.random.default_rng(FLARE_SEED)
    n1, n2 = t1.size, t2.size
    shape = (FLARE_DRAWS, n1 + n2)
    unit = rng.standard_exponential(shape)
    censor = np.full(shape, math.inf)
    for columns, t, e in ((slice(0, n1), t1, e1), (slice(n1, n1 + n2), t2, e2)):
        observed = t[~e]
        if observed.size:
            width = columns.stop - columns.start
            censor[:, columns] = observed[rng.integers(0, observed.size, (FLARE_DRAWS, width))]
    group = np.zeros(shape, dtype=bool)
    group[:, :n1] = True
    statistic = STATISTICS[test]
    critical = stats.chi2.isf(alpha, 1)
    memo: dict[float, float] = {}

    def power(log_hr: float) -> float:
        if log_hr not in memo:
            hr = math.exp(min(max(log_hr, -50.0), 50.0))  # beyond: every draw decided
            flare = unit / (rate * np.where(group, hr, 1.0))
            times = np.minimum(flare, censor)
            sets = _risk_sets(times, flare <= censor, group)
            memo[log_hr] = float(np.mean(statistic(*sets) > critical))
        return memo[log_hr]

    up = smallest_effect(power, POWER, 1.0, doublings=6)
    down = smallest_effect(lambda b: power(-b), POWER, 1.0, doublings=6)
    if math.isnan(up) or math.isnan(down):
        return math.nan
    return math.exp(max(up, down))


def large(n1: int, n2: int) -> bool:
    return n1 > MANNWHITNEY_EXACT_MAX_N or n2 > MANNWHITNEY_EXACT_MAX_N
