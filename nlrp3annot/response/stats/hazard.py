"""Hazard ratio for time to flare, group1 vs group2, when the groups are small.

With a handful of patients all flares can fall in one group ("monotone likelihood"): the
ordinary Cox estimate then runs off to infinity. Firth's penalised partial likelihood
(Heinze & Schemper 2002) maximises l(beta) + 0.5 log I(beta), which stays finite, and its
confidence interval and P come from the penalised likelihood profile, not from a Wald
standard error (which is meaningless near the boundary).

One binary covariate (1 = group1), Breslow ties. With n1_j and n0_j at risk in each group
and d_j events (s_j of them in group1) at the j-th distinct event time, and
pi_j = n1_j e^beta / (n0_j + n1_j e^beta):

    l(beta) = sum_j s_j beta - d_j log(n0_j + n1_j e^beta)
    U(beta) = sum_j s_j - d_j pi_j
    I(beta) = sum_j d_j pi_j (1 - pi_j)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

MAX_ITERATIONS = 200
STEP_TOLERANCE = 1e-10
MAX_STEP = 5.0  # a Newton step on a flat likelihood can overshoot far into the tail
BRACKET_LIMIT = 1_000.0  # |log HR| beyond which a profile bound is reported as infinite
FIRTH_METHOD = "Cox PH, Breslow ties, Firth penalised partial likelihood, profile CI and LR test"
STANDARD_METHOD = "Cox PH, Breslow ties, partial likelihood, Wald CI and test"
Scalar = Callable[[float], float]


@dataclass(frozen=True)
class HazardRatio:
    """Hazard ratio group1 / group2: log_hr and hr, the CI on the HR scale, the P, whether
    the fit converged, and a note for anything unusual. ``se`` is 1 / sqrt(I(beta_hat))
    (the basis of the Wald CI of the standard fit; for Firth, information only)."""

    log_hr: float
    hr: float
    ci_lower: float
    ci_upper: float
    p: float
    method: str
    converged: bool
    note: str
    se: float = math.nan


@dataclass(frozen=True)
class _RiskTable:
    """Per distinct event time: events, events in group1, at risk in group1 and group2."""

    d: np.ndarray
    s: np.ndarray
    n1: np.ndarray
    n0: np.ndarray

    def z(self, beta: float) -> np.ndarray:
        """logit(pi_j); +-inf where one group has nobody at risk."""
        with np.errstate(divide="ignore"):
            return beta + np.log(self.n1) - np.log(self.n0)

    def loglik(self, beta: float) -> float:
        with np.errstate(divide="ignore"):
            log_s0 = np.logaddexp(np.log(self.n0), np.log(self.n1) + beta)
        return float(np.sum(self.s * beta - self.d * log_s0))

    def score(self, beta: float) -> float:
        return float(np.sum(self.s - self.d * special.expit(self.z(beta))))

    def _log_terms(self, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """log(d_j pi_j (1 - pi_j)) and pi_j at the times with both groups at risk (the
        others add nothing to I). On the log scale because far out in the tail
        pi (1 - pi) underflows, and the penalty must keep falling there, not hit log(0)."""
        z = self.z(beta)
        both = np.isfinite(z)
        zb = z[both]
        terms = np.log(self.d[both]) - np.logaddexp(0, zb) - np.logaddexp(0, -zb)
        return terms, special.expit(zb)

    def log_information(self, beta: float) -> float:
        terms, _ = self._log_terms(beta)
        return float(special.logsumexp(terms)) if terms.size else -math.inf

    def penalised(self, beta: float) -> float:
        return self.loglik(beta) + 0.5 * self.log_information(beta)

    def penalised_score(self, beta: float) -> float:
        # d/dbeta 0.5 log I = 0.5 I'/I, with I' = sum d pi (1 - pi)(1 - 2 pi): a weighted
        # mean of (1 - 2 pi), weights normalised on the log scale.
        terms, pi = self._log_terms(beta)
        weights = np.exp(terms - special.logsumexp(terms))
        return self.score(beta) + 0.5 * float(np.sum(weights * (1 - 2 * pi)))

    def penalised_curvature(self, beta: float) -> float:
        """-(second derivative) of the penalised log likelihood: I - 0.5 (I''/I - (I'/I)^2),
        where I''/I = sum w [(1 - 2 pi)^2 - 2 pi (1 - pi)] with the same weights w.
        Newton with I alone would overshoot: with one event the penalty doubles the
        curvature, and the steps then jump back and forth across the maximum."""
        terms, pi = self._log_terms(beta)
        weights = np.exp(terms - special.logsumexp(terms))
        first = float(np.sum(weights * (1 - 2 * pi)))
        second = float(np.sum(weights * ((1 - 2 * pi) ** 2 - 2 * pi * (1 - pi))))
        return math.exp(self.log_information(beta)) - 0.5 * (second - first**2)


def _risk_table(durations: np.ndarray, events: np.ndarray, group: np.ndarray) -> _RiskTable:
    times = np.unique(durations[events])
    at_risk = durations[None, :] >= times[:, None]
    died = (durations[None, :] == times[:, None]) & events[None, :]
    return _RiskTable(
        d=died.sum(axis=1).astype(float),
        s=(died & group[None, :]).sum(axis=1).astype(float),
        n1=(at_risk & group[None, :]).sum(axis=1).astype(float),
        n0=(at_risk & ~group[None, :]).sum(axis=1).astype(float),
    )


def _prepare(
    durations: ArrayLike, events: ArrayLike, group: ArrayLike, alpha: float
) -> tuple[_RiskTable | None, str]:
    """The risk table, or None and why no hazard ratio can be estimated; the inputs and
    ``alpha`` checked."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    g = np.asarray(group)
    if not t.shape == e.shape == g.shape or t.ndim != 1:
        raise ValueError("durations, events and group must be 1-d and of equal length")
    if not np.isin(g, (0, 1)).all():
        raise ValueError("group must be 1 (group1) or 0 (group2)")
    g = g.astype(bool)
    keep = np.isfinite(t)
    notes = [f"{int((~keep).sum())} without a finite duration left out"] if not keep.all() else []
    t, e, g = t[keep], e[keep], g[keep]
    if not g.any() or g.all():
        return None, "; ".join([*notes, f"group{1 if not g.any() else 2} is empty"])
    if not e.any():
        return None, "; ".join([*notes, "no events"])
    table = _risk_table(t, e, g)
    if not ((table.n1 > 0) & (table.n0 > 0)).any():
        return None, "; ".join([*notes, "no event time with both groups at risk"])
    return table, "; ".join(notes)


def _empty(method: str, note: str) -> HazardRatio:
    nan = math.nan
    return HazardRatio(nan, nan, nan, nan, nan, method, False, note)


def _maximise(
    value: Scalar, score: Scalar, curvature: Scalar, information: Scalar, start: float = 0.0
) -> tuple[float, bool]:
    """Newton-Raphson for one parameter, the step halved until the objective rises. Where
    the objective is not concave (the penalised likelihood need not be) the information
    stands in for the curvature, so the step still points uphill."""
    beta, current = start, value(start)
    for _ in range(MAX_ITERATIONS):
        bend = curvature(beta)
        if not bend > 0:
            bend = information(beta)
        step = score(beta) / max(bend, 1e-12)
        step = max(-MAX_STEP, min(MAX_STEP, step))
        for _ in range(60):
            candidate = value(beta + step)
            if candidate >= current - 1e-13 * abs(current):
                break
            step /= 2
        beta, current = beta + step, candidate
        if abs(step) < STEP_TOLERANCE:
            return beta, True
    return beta, False


def cox_firth(
    durations: ArrayLike, events: ArrayLike, group: ArrayLike, alpha: float = 0.05
) -> HazardRatio:
    """Firth-penalised Cox hazard ratio of group1 (group == 1) vs group2, Breslow ties, with
    the profile penalised likelihood CI and the penalised likelihood-ratio P against HR 1.
    Finite also when all events fall in one group."""
    table, note = _prepare(durations, events, group, alpha)
    if table is None:
        return _empty(FIRTH_METHOD, note)
    information = lambda b: math.exp(table.log_information(b))  # noqa: E731
    beta, converged = _maximise(
        table.penalised, table.penalised_score, table.penalised_curvature, information
    )
    top = table.penalised(beta)
    critical = stats.chi2.isf(alpha, 1)

    def excess(b: float) -> float:
        return 2 * (top - table.penalised(b)) - critical

    bounds, notes = [], [note] if note else []
    for direction in (-1.0, 1.0):
        width, bound = 1.0, math.nan
        while width <= BRACKET_LIMIT:
            if excess(beta + direction * width) > 0:
                ends = sorted((beta, beta + direction * width))
                bound = optimize.brentq(excess, *ends, xtol=1e-12, rtol=1e-12)
                break
            width *= 2
        if math.isnan(bound):
            bound = direction * math.inf
            notes.append(f"profile {'upper' if direction > 0 else 'lower'} bound not reached")
        bounds.append(bound)
    statistic = max(0.0, 2 * (top - table.penalised(0.0)))
    if _monotone(table):
        notes.append("monotone likelihood (standard Cox estimate infinite); Firth estimate")
    if not converged:
        notes.append("penalised fit did not converge")
    return HazardRatio(
        log_hr=beta,
        hr=math.exp(beta),
        ci_lower=math.exp(bounds[0]),
        ci_upper=math.exp(bounds[1]),
        p=float(stats.chi2.sf(statistic, 1)),
        method=FIRTH_METHOD,
        converged=converged,
        note="; ".join(notes),
        se=1 / math.sqrt(information(beta)),
    )


def _monotone(table: _RiskTable) -> int:
    """+1 or -1 when the partial likelihood rises for ever towards beta = +-inf, else 0.
    U is decreasing in beta, so a finite maximum exists exactly when U(-inf) > 0 > U(+inf);
    the limits only need which events have someone of the other group at risk."""
    score_at_plus = np.sum(table.s) - np.sum(table.d[table.n1 > 0])
    score_at_minus = np.sum(table.s) - np.sum(table.d[table.n0 == 0])
    if score_at_plus >= 0:
        return 1
    if score_at_minus <= 0:
        return -1
    return 0


def cox_standard(
    durations: ArrayLike, events: ArrayLike, group: ArrayLike, alpha: float = 0.05
) -> HazardRatio:
    """Ordinary Cox hazard ratio of group1 vs group2 (Breslow ties), Wald CI and P. Under
    monotone likelihood the estimate is infinite: log_hr is +-inf, CI and P NaN, with a
    note (use :func:`cox_firth`)."""
    table, note = _prepare(durations, events, group, alpha)
    if table is None:
        return _empty(STANDARD_METHOD, note)
    notes = [note] if note else []
    direction = _monotone(table)
    if direction:
        notes.append("monotone likelihood: the estimate is infinite, use the Firth fit")
        nan, beta = math.nan, direction * math.inf
        return HazardRatio(
            beta, math.exp(beta), nan, nan, nan, STANDARD_METHOD, False, "; ".join(notes)
        )
    information = lambda b: math.exp(table.log_information(b))  # noqa: E731
    beta, converged = _maximise(table.loglik, table.score, information, information)
    se = 1 / math.sqrt(information(beta))
    z = stats.norm.isf(alpha / 2)
    if not converged:
        notes.append("fit did not converge")
    return HazardRatio(
        log_hr=beta,
        hr=math.exp(beta),
        ci_lower=math.exp(beta - z * se),
        ci_upper=math.exp(beta + z * se),
        p=float(2 * stats.norm.sf(abs(beta) / se)),
        method=STANDARD_METHOD,
        converged=converged,
        note="; ".join(notes),
        se=se,
    )


LOGRANK_METHOD = (
    "log-rank test (asymptotic chi-square, 1 df), HR by Cox partial likelihood (Breslow), "
    "CI inverting the log-rank score test"
)
_GRID = np.unique(np.concatenate([np.linspace(-20, 20, 1601), np.geomspace(20, BRACKET_LIMIT, 60)]))
_GRID = np.unique(np.concatenate([-_GRID, _GRID]))


def _logrank_statistic(table: _RiskTable, beta: float) -> float:
    """The log-rank score statistic for H0: log HR = beta: U(beta)^2 / V(beta), with U the
    partial-likelihood score and V its hypergeometric variance, sum d pi (1 - pi) (n - d) /
    (n - 1) (the tie correction of the log-rank test). At beta = 0 it is the log-rank
    chi-square, so the interval of the betas it does not reject inverts that test."""
    z = table.z(beta)
    both = np.isfinite(z)
    pi = special.expit(z[both])
    n = table.n1[both] + table.n0[both]
    d = table.d[both]
    ties = np.where(n > 1, (n - d) / np.maximum(n - 1, 1), 0.0)
    variance = float(np.sum(d * pi * (1 - pi) * ties))
    score = table.score(beta)
    if variance <= 0:
        return 0.0 if abs(score) < 1e-12 else math.inf
    return score**2 / variance


def logrank_interval(
    durations: ArrayLike, events: ArrayLike, group: ArrayLike, alpha: float = 0.05
) -> HazardRatio:
    """Hazard ratio of group1 vs group2 with the interval that inverts the log-rank test:
    the set of HRs the log-rank score test (:func:`_logrank_statistic`) does not reject at
    ``alpha``, and the asymptotic log-rank P against HR 1. So the interval excludes 1
    exactly when P < alpha. The estimate is the Cox partial-likelihood one (Breslow ties),
    where the score is zero: infinite when one group has every flare its risk sets allow,
    and then the interval is open on that side."""
    table, note = _prepare(durations, events, group, alpha)
    if table is None:
        return _empty(LOGRANK_METHOD, note)
    critical = stats.chi2.isf(alpha, 1)
    standard = cox_standard(durations, events, group, alpha)
    excess = [_logrank_statistic(table, b) - critical for b in _GRID]
    kept = np.flatnonzero(np.asarray(excess) <= 0)
    notes = [note] if note else []
    if not kept.size:  # no HR in the grid is compatible (cannot happen with a finite MLE)
        return _empty(LOGRANK_METHOD, "; ".join([*notes, "no hazard ratio is compatible"]))

    def bound(inside: int, outside: int) -> float:
        if outside < 0 or outside >= _GRID.size:
            return math.copysign(math.inf, outside - inside)
        f = lambda b: _logrank_statistic(table, b) - critical  # noqa: E731
        ends = sorted((_GRID[inside], _GRID[outside]))
        return optimize.brentq(f, *ends, xtol=1e-12, rtol=1e-12)

    # the hull of the betas not rejected (one interval in every case seen: U falls with beta)
    lower, upper = bound(kept[0], kept[0] - 1), bound(kept[-1], kept[-1] + 1)
    statistic = _logrank_statistic(table, 0.0)
    if _monotone(table):
        notes.append("monotone likelihood: the Cox estimate is infinite, the interval open")
    return HazardRatio(
        log_hr=standard.log_hr,
        hr=standard.hr,
        ci_lower=math.exp(lower),
        ci_upper=math.exp(upper),
        p=float(stats.chi2.sf(statistic, 1)),
        method=LOGRANK_METHOD,
        converged=standard.converged or bool(_monotone(table)),
        note="; ".join(notes),
        se=standard.se,
    )
