"""Normal linear models in which a value below (or above) a detection limit is what it is:
an observation known only to lie below (above) the limit. Tobit-type censored likelihoods,
maximised with scipy, and t-based inference with stated degrees of freedom.

Two models (models.py builds their data and reports them):

* a random-intercept model, y_ij = x_ij beta + u_i + e_ij, u_i ~ N(0, tau^2),
  e_ij ~ N(0, sigma^2). A patient contributes the compound-symmetric normal density of
  their measured values times the probability, given those values, that each censored
  value lies beyond its limit: E[prod_c Phi(s_c (L_c - x_c beta - u) / sigma)] over u given
  the measured values (normal, in closed form), by adaptive Gauss-Hermite quadrature.
* an ANCOVA whose baseline may be censored too: baseline y0 ~ N(a0 + a1 g, s0^2) and
  follow-up y1 | y0 ~ N(b0 + b1 y0 + b2 g, s1^2). Measured pairs contribute both densities;
  a censored follow-up Phi of its conditional; a censored baseline the follow-up's marginal
  density times Phi of the baseline given the follow-up; both censored the bivariate normal
  probability (Owen's T, exact). With nothing censored the follow-up part is ordinary least
  squares (the baseline part has separate parameters), so b is the OLS estimate.

The standard errors come from the inverse observed information (a numerical Hessian of
the log likelihood at its maximum); intervals and P values use Student's t with the degrees
of freedom each model states, the interval and the P from the same estimate and SE, so the
interval excludes the null exactly when P < alpha.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

GH_NODES, GH_WEIGHTS = np.polynomial.hermite.hermgauss(40)
MODE_STEPS = 12
LOG_SCALE_LIMIT = 50.0  # |log SD| beyond which the likelihood is taken as -inf
LOG_GH_WEIGHTS = np.log(GH_WEIGHTS) - 0.5 * math.log(math.pi)
LOG_2PI = math.log(2 * math.pi)
NEWTON_STEPS = 20
STEP_TOLERANCE = 1e-7  # numerical derivatives leave steps of ~1e-9 at the maximum
SIGN = {"": 0, "<": 1, ">": -1}  # "<": the value is an upper bound; ">": a lower bound


@dataclass(frozen=True)
class CensoredFit:
    """Maximum-likelihood parameters, their covariance (inverse observed information) and
    whether the maximum was reached; ``note`` says anything unusual."""

    params: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool
    note: str


def signs(marks: np.ndarray) -> np.ndarray:
    """+1 for "<", -1 for ">", 0 for a measured value."""
    return np.array([SIGN.get(str(m), 0) for m in marks], dtype=float)


def t_inference(estimate: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    """(CI lower, CI upper, two-sided P against 0) by Student's t with ``df``."""
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0 and df > 0):
        return math.nan, math.nan, math.nan
    half = float(stats.t.isf(alpha / 2, df)) * se
    p = float(2 * stats.t.sf(abs(estimate) / se, df))
    return estimate - half, estimate + half, p


def _maximise(loglik: Callable[[np.ndarray], float], start: np.ndarray) -> CensoredFit:
    """BFGS on -loglik, then Newton steps on a numerical Hessian (step halved until the
    log likelihood does not fall) to reach the maximum to ~1e-8; the covariance is the
    inverse of minus that Hessian."""

    def negative(theta: np.ndarray) -> float:
        value = loglik(theta)
        return -value if np.isfinite(value) else 1e300

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # BFGS's "precision loss": the Newton steps follow
        found = optimize.minimize(negative, start, method="BFGS", options={"gtol": 1e-8})
        theta, current = found.x, loglik(found.x)
        converged = False
        for _ in range(NEWTON_STEPS):
            gradient = approx_fprime(theta, loglik, centered=True)
            hessian = approx_hess3(theta, loglik)
            try:
                step = -np.linalg.solve(hessian, gradient)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            for _ in range(40):
                value = loglik(theta + step)
                if np.isfinite(value) and value >= current - 1e-12 * abs(current):
                    break
                step /= 2
            theta, current = theta + step, value
            if np.max(np.abs(step)) < STEP_TOLERANCE:
                converged = True
                break
        hessian = approx_hess3(theta, loglik)
        try:
            cov = np.linalg.inv(-hessian)
        except np.linalg.LinAlgError:
            cov = np.full_like(hessian, math.nan)
    notes = []
    if not converged:
        notes.append("censored-likelihood fit did not converge")
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        notes.append("information matrix not positive definite")
        converged = False
    return CensoredFit(theta, cov, float(current), converged, "; ".join(notes))


# --------------------------------------------------------------------------------------------
# Random intercept


def random_intercept_loglik(
    theta: np.ndarray, y: np.ndarray, exog: np.ndarray, patient: np.ndarray, sign: np.ndarray
) -> float:
    """Log likelihood of the censored random-intercept model; theta = (beta, log sigma,
    log tau), ``patient`` integer codes 0..P-1, ``y`` the value or the limit (per ``sign``)."""
    k = exog.shape[1]
    if theta[k] > LOG_SCALE_LIMIT or theta[k + 1] > LOG_SCALE_LIMIT or theta[k] < -LOG_SCALE_LIMIT:
        return -math.inf  # a step of the optimiser far outside any plausible spread
    beta, s2, t2 = theta[:k], math.exp(2 * theta[k]), math.exp(2 * theta[k + 1])
    n_patients = int(patient.max()) + 1
    residual = y - exog @ beta
    measured = sign == 0
    who = patient[measured]
    m = np.bincount(who, minlength=n_patients).astype(float)
    total = np.bincount(who, residual[measured], minlength=n_patients)
    squares = np.bincount(who, residual[measured] ** 2, minlength=n_patients)
    spread = s2 + m * t2
    log_det = (m - 1) * math.log(s2) + np.log(spread)
    quadratic = (squares - t2 * total**2 / spread) / s2
    value = float(-0.5 * np.sum(m * LOG_2PI + log_det + quadratic))
    if measured.all():
        return value
    # u given the patient's measured values: N(mean, var); the prior when none was measured
    mean, var = t2 * total / spread, t2 * s2 / spread
    censored = ~measured
    return value + _log_beyond(
        mean, var, residual[censored], sign[censored], patient[censored], math.sqrt(s2)
    )


def _log_beyond(
    mean: np.ndarray, var: np.ndarray, residual: np.ndarray, sign: np.ndarray,
    where: np.ndarray, sigma: float,
) -> float:  # fmt: skip
    """Sum over patients of log E[prod_c Phi(sign_c (residual_c - u) / sigma)], u ~ N(mean,
    var) per patient: adaptive Gauss-Hermite quadrature, centred at the mode of the
    integrand and scaled by its curvature (found by Newton steps; the integrand is
    log-concave). Plain quadrature on u's distribution is not enough: when every value of a
    patient is censored and sigma is small beside tau, the integrand is a steep edge."""
    if var.max() == 0:  # no random intercept: u is 0
        return float(np.sum(special.log_ndtr(sign * residual / sigma)))
    hit, index = np.unique(where, return_inverse=True)
    centre, scale = mean[hit], var[hit]
    mode = centre.copy()
    for _ in range(MODE_STEPS):
        z = sign * (residual - mode[index]) / sigma
        mills = np.exp(stats.norm.logpdf(z) - special.log_ndtr(z))
        slope = (centre - mode) / scale - np.bincount(index, sign * mills / sigma, hit.size)
        bend = 1 / scale + np.bincount(index, mills * (z + mills) / sigma**2, hit.size)
        step = np.clip(slope / bend, -2 / np.sqrt(bend), 2 / np.sqrt(bend))
        mode = mode + step
    sd = 1 / np.sqrt(bend)
    u = mode[:, None] + math.sqrt(2) * sd[:, None] * GH_NODES[None, :]
    log_f = -0.5 * (LOG_2PI + np.log(scale))[:, None] - (u - centre[:, None]) ** 2 / (
        2 * scale[:, None]
    )
    terms = np.zeros_like(u)
    np.add.at(
        terms, index, special.log_ndtr(sign[:, None] * (residual[:, None] - u[index]) / sigma)
    )
    # minus the log density of the quadrature's own normal, N(mode, sd^2), at its nodes
    log_psi = -0.5 * LOG_2PI - np.log(sd)[:, None] - GH_NODES[None, :] ** 2
    return float(np.sum(special.logsumexp(log_f + terms - log_psi + LOG_GH_WEIGHTS, axis=1)))


def fit_random_intercept(
    y: np.ndarray, exog: np.ndarray, patient: np.ndarray, sign: np.ndarray
) -> CensoredFit:
    """The ML fit of :func:`random_intercept_loglik`, started from least squares on the
    values as written and a between/within split of its residual variance. When the
    random-intercept variance goes to 0 (a boundary maximum) the model without it is fitted
    (tau = 0 exactly), and the note says so."""
    k = exog.shape[1]
    beta = np.linalg.lstsq(exog, y, rcond=None)[0]
    residual = y - exog @ beta
    n_patients = int(patient.max()) + 1
    counts = np.bincount(patient, minlength=n_patients)
    means = np.bincount(patient, residual, minlength=n_patients) / np.maximum(counts, 1)
    within = float(np.var(residual - means[patient])) or float(np.var(residual)) or 1.0
    between = max(float(np.var(means)), 0.1 * within)
    start = np.concatenate([beta, [0.5 * math.log(within), 0.5 * math.log(between)]])
    full = _maximise(lambda t: random_intercept_loglik(t, y, exog, patient, sign), start)
    if full.params[k + 1] - full.params[k] > -8:  # tau above 1/3000 of sigma: interior
        return full
    fixed = lambda t: random_intercept_loglik(np.append(t, -np.inf), y, exog, patient, sign)  # noqa: E731
    with np.errstate(divide="ignore"):
        reduced = _maximise(fixed, full.params[: k + 1])
    cov = np.full((k + 2, k + 2), math.nan)
    cov[: k + 1, : k + 1] = reduced.cov
    note = "; ".join(n for n in ("random-intercept variance estimated as 0", reduced.note) if n)
    params = np.append(reduced.params, -np.inf)
    return CensoredFit(params, cov, reduced.loglik, reduced.converged, note)


# --------------------------------------------------------------------------------------------
# ANCOVA with censored baseline and follow-up


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(Z1 <= h, Z2 <= k) for standard normals with correlation rho, by Owen's T function
    (Owen 1956): exact, smooth in its arguments (unlike a numerical integration)."""
    h = np.where(h == 0, 1e-12, h)
    k = np.where(k == 0, 1e-12, k)
    root = np.sqrt(1 - rho**2)
    beta = np.where(h * k > 0, 0.0, 0.5)
    return (
        0.5 * special.ndtr(h) + 0.5 * special.ndtr(k) - beta
        - special.owens_t(h, (k - rho * h) / (h * root))
        - special.owens_t(k, (h - rho * k) / (k * root))
    )  # fmt: skip


def _log_normal_density(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * (LOG_2PI + ((x - mean) / sd) ** 2) - np.log(sd)


def ancova_loglik(
    theta: np.ndarray, y0: np.ndarray, y1: np.ndarray, c0: np.ndarray, c1: np.ndarray,
    group: np.ndarray,
) -> float:  # fmt: skip
    """Log likelihood of the censored ANCOVA; theta = (a0, a1, log s0, b0, b1, b2, log s1),
    c0/c1 the signs of the baseline and follow-up values (see :data:`SIGN`)."""
    a0, a1, log_s0, b0, b1, b2, log_s1 = theta
    if max(abs(log_s0), abs(log_s1)) > LOG_SCALE_LIMIT:
        return -math.inf  # a step of the optimiser far outside any plausible spread
    s0, s1 = math.exp(log_s0), math.exp(log_s1)
    m0 = a0 + a1 * group
    total = 0.0
    known = c0 == 0
    if known.any():  # measured baseline: its density and the follow-up given it
        conditional = b0 + b1 * y0[known] + b2 * group[known]
        total += float(np.sum(_log_normal_density(y0[known], m0[known], s0)))
        at = c1[known] == 0
        total += float(np.sum(_log_normal_density(y1[known][at], conditional[at], s1)))
        beyond = c1[known][~at] * (y1[known][~at] - conditional[~at]) / s1
        total += float(np.sum(special.log_ndtr(beyond)))
    if (~known).any():  # censored baseline: the follow-up's marginal, the baseline given it
        g, lim0, x1, sign0, sign1 = (v[~known] for v in (group, y0, y1, c0, c1))
        mean0 = m0[~known]
        mean1 = b0 + b1 * mean0 + b2 * g
        var1 = b1**2 * s0**2 + s1**2
        sd1 = math.sqrt(var1)
        at = sign1 == 0
        given = mean0[at] + b1 * s0**2 * (x1[at] - mean1[at]) / var1
        given_sd = s0 * s1 / sd1
        total += float(np.sum(_log_normal_density(x1[at], mean1[at], sd1)))
        total += float(np.sum(special.log_ndtr(sign0[at] * (lim0[at] - given) / given_sd)))
        both = ~at
        if both.any():
            h = sign0[both] * (lim0[both] - mean0[both]) / s0
            k = sign1[both] * (x1[both] - mean1[both]) / sd1
            rho = sign0[both] * sign1[both] * b1 * s0 / sd1
            probability = bivariate_normal_cdf(h, k, rho)
            total += float(np.sum(np.log(np.maximum(probability, 1e-300))))
    return total


def fit_ancova(
    y0: np.ndarray, y1: np.ndarray, c0: np.ndarray, c1: np.ndarray, group: np.ndarray
) -> CensoredFit:
    """The ML fit of :func:`ancova_loglik`, started from least squares on the values as
    written (the answer itself when nothing is censored)."""
    ones = np.ones_like(y0)
    a, *_ = np.linalg.lstsq(np.column_stack([ones, group]), y0, rcond=None)
    b, *_ = np.linalg.lstsq(np.column_stack([ones, y0, group]), y1, rcond=None)
    r0 = y0 - a[0] - a[1] * group
    r1 = y1 - b[0] - b[1] * y0 - b[2] * group
    spread = [0.5 * math.log(max(float(np.mean(r**2)), 1e-8)) for r in (r0, r1)]
    start = np.array([a[0], a[1], spread[0], b[0], b[1], b[2], spread[1]])
    return _maximise(lambda t: ancova_loglik(t, y0, y1, c0, c1, group), start)
