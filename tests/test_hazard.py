"""Cox hazard ratios for time to flare: the standard fit against lifelines and statsmodels,
the Firth fit against a brute-force penalised partial likelihood written here (sums over
risk sets, patient by patient), its profile interval and LR test, and monotone likelihood."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from nlrp3annot.response.stats.hazard import (
    HazardRatio,
    cox_firth,
    cox_standard,
    logrank_interval,
)


def penalised_loglik(t: np.ndarray, e: np.ndarray, x: np.ndarray, beta: float) -> float:
    """l(beta) + 0.5 log I(beta), Breslow ties: every event uses its whole risk set."""
    loglik = information = 0.0
    for i in range(t.size):
        if not e[i]:
            continue
        risk = [k for k in range(t.size) if t[k] >= t[i]]
        s0 = sum(math.exp(beta * x[k]) for k in risk)
        s1 = sum(x[k] * math.exp(beta * x[k]) for k in risk)
        s2 = sum(x[k] ** 2 * math.exp(beta * x[k]) for k in risk)
        loglik += beta * x[i] - math.log(s0)
        information += s2 / s0 - (s1 / s0) ** 2
    return loglik + 0.5 * math.log(information)


def _data(seed: int, n1: int, n2: int, hr: float = 1.0, untied: bool = True):
    rng = np.random.default_rng(seed)
    x = np.r_[np.ones(n1, int), np.zeros(n2, int)]
    times = rng.exponential(1 / np.where(x == 1, hr, 1.0))
    censor = rng.uniform(0, 2.5, x.size)
    t, e = np.minimum(times, censor), times <= censor
    if not untied:
        t = np.ceil(t * 4) / 4  # quarter-year visits: many tied flare times
    return t, e, x


def _lifelines(t: np.ndarray, e: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    fitter = CoxPHFitter().fit(pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e")
    return float(fitter.params_["x"]), float(fitter.standard_errors_["x"])


@pytest.mark.parametrize("seed, n1, n2, hr", [(1, 12, 10, 2.0), (2, 30, 25, 0.6), (3, 8, 9, 1)])
def test_standard_fit_matches_lifelines_without_ties(seed: int, n1: int, n2: int, hr: float):
    t, e, x = _data(seed, n1, n2, hr)
    assert np.unique(t[e]).size == e.sum()  # no tied event times: Efron equals Breslow
    fit = cox_standard(t, e, x)
    log_hr, se = _lifelines(t, e, x)
    assert fit.converged and fit.note == ""
    assert fit.log_hr == pytest.approx(log_hr, abs=1e-5)
    assert fit.se == pytest.approx(se, abs=1e-5)
    z = stats.norm.isf(0.025)
    assert fit.ci_lower == pytest.approx(math.exp(log_hr - z * se), rel=1e-4)
    assert fit.p == pytest.approx(2 * stats.norm.sf(abs(log_hr / se)), rel=1e-3)


def test_standard_fit_matches_statsmodels_breslow_with_ties() -> None:
    t, e, x = _data(4, 25, 25, 1.8, untied=False)
    assert np.unique(t[e]).size < e.sum()
    result = PHReg(t, x[:, None].astype(float), status=e.astype(int), ties="breslow").fit()
    fit = cox_standard(t, e, x)
    assert fit.log_hr == pytest.approx(result.params[0], abs=1e-6)
    assert fit.se == pytest.approx(result.bse[0], abs=1e-6)


@pytest.mark.parametrize(
    "seed, n1, n2, hr, untied", [(5, 7, 6, 2.5, True), (6, 10, 12, 0.5, False)]
)
def test_firth_estimate_maximises_the_penalised_likelihood(seed, n1, n2, hr, untied) -> None:
    t, e, x = _data(seed, n1, n2, hr, untied)
    fit = cox_firth(t, e, x)
    assert fit.converged
    at_top = penalised_loglik(t, e, x, fit.log_hr)
    assert at_top > penalised_loglik(t, e, x, fit.log_hr + 1e-3)
    assert at_top > penalised_loglik(t, e, x, fit.log_hr - 1e-3)
    # The penalty shrinks towards 0 relative to the ordinary estimate.
    assert abs(fit.log_hr) < abs(cox_standard(t, e, x).log_hr)


def _lr(t, e, x, fit: HazardRatio, beta: float) -> float:
    return 2 * (penalised_loglik(t, e, x, fit.log_hr) - penalised_loglik(t, e, x, beta))


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_profile_interval_endpoints_and_lr_test(alpha: float) -> None:
    t, e, x = _data(7, 9, 8, 3.0)
    fit = cox_firth(t, e, x, alpha=alpha)
    critical = stats.chi2.isf(alpha, 1)
    assert _lr(t, e, x, fit, math.log(fit.ci_lower)) == pytest.approx(critical, abs=1e-6)
    assert _lr(t, e, x, fit, math.log(fit.ci_upper)) == pytest.approx(critical, abs=1e-6)
    assert fit.p == pytest.approx(stats.chi2.sf(_lr(t, e, x, fit, 0.0), 1), rel=1e-6)


def _monotone(n1: int, n2: int, flares: int, seed: int):
    """All ``flares`` flares in group1 (the first n1 patients); group2 all censored later."""
    rng = np.random.default_rng(seed)
    t = np.r_[rng.uniform(0.1, 1.0, n1), rng.uniform(1.0, 3.0, n2)]
    e = np.r_[np.arange(n1) < flares, np.zeros(n2, bool)]
    return t, e, np.r_[np.ones(n1, int), np.zeros(n2, int)]


@pytest.mark.parametrize("n1, n2, flares", [(3, 3, 1), (4, 4, 3), (5, 6, 5), (2, 8, 2)])
def test_monotone_likelihood_gives_finite_firth_estimate(n1: int, n2: int, flares: int) -> None:
    t, e, x = _monotone(n1, n2, flares, seed=n1 * 10 + n2)
    standard = cox_standard(t, e, x)
    assert standard.log_hr == math.inf and not standard.converged
    assert "monotone" in standard.note
    fit = cox_firth(t, e, x)
    assert fit.converged and math.isfinite(fit.log_hr) and fit.log_hr > 0
    assert math.isfinite(fit.ci_lower) and math.isfinite(fit.ci_upper)
    assert fit.ci_lower < fit.hr < fit.ci_upper
    assert "monotone" in fit.note
    critical = stats.chi2.isf(0.05, 1)
    assert _lr(t, e, x, fit, math.log(fit.ci_upper)) == pytest.approx(critical, abs=1e-6)


def test_interval_excludes_one_exactly_when_p_below_alpha() -> None:
    data = [_monotone(n1, n2, f, seed) for seed, (n1, n2, f) in enumerate(
        [(3, 3, 1), (4, 4, 3), (5, 6, 5), (6, 6, 6), (2, 8, 2), (8, 8, 4)]
    )]  # fmt: skip
    data += [_data(seed, 8, 8, hr) for seed, hr in [(10, 1.0), (11, 4.0), (12, 0.2), (13, 6.0)]]
    outcomes = set()
    for alpha in (0.05, 0.2):
        for t, e, x in data:
            fit = cox_firth(t, e, x, alpha=alpha)
            excludes = fit.ci_lower > 1 or fit.ci_upper < 1
            assert excludes == (fit.p < alpha), (fit, alpha)
            outcomes.add(excludes)
    assert outcomes == {True, False}  # both kinds occur, so the check has teeth


def test_large_balanced_data_firth_agrees_with_standard() -> None:
    t, e, x = _data(20, 300, 300, 1.6)
    firth, standard = cox_firth(t, e, x), cox_standard(t, e, x)
    assert firth.hr == pytest.approx(standard.hr, rel=0.03)
    assert firth.ci_lower == pytest.approx(standard.ci_lower, rel=0.03)
    assert firth.ci_upper == pytest.approx(standard.ci_upper, rel=0.03)


@pytest.mark.parametrize("function", [cox_firth, cox_standard])
def test_degenerate_inputs_give_a_note(function) -> None:
    t = np.array([1.0, 2.0, 3.0, 4.0])
    cases = [
        (np.zeros(4, bool), np.array([1, 1, 0, 0]), "no events"),
        (np.ones(4, bool), np.ones(4, int), "group2 is empty"),
        (np.ones(4, bool), np.zeros(4, int), "group1 is empty"),
        # Flares only after the last of group2 has left: no risk set holds both groups.
        (np.array([0, 0, 1, 1], bool), np.array([0, 0, 1, 1]), "no event time with both"),
    ]
    for events, group, fragment in cases:
        fit = function(t, events, group)
        assert math.isnan(fit.log_hr) and not fit.converged
        assert fragment in fit.note


def logrank_score(t: np.ndarray, e: np.ndarray, x: np.ndarray, beta: float) -> float:
    """The log-rank score statistic for H0: log HR = beta, written out patient by patient:
    at each distinct flare time, observed minus expected flares of group 1 when group 1's
    hazard is e^beta times group 2's, over the hypergeometric-type variance with the
    log-rank tie factor (n - d) / (n - 1). At beta = 0 it is the log-rank chi-square."""
    score = variance = 0.0
    for time in sorted(set(t[e])):
        risk = [k for k in range(t.size) if t[k] >= time]
        flared = [k for k in risk if t[k] == time and e[k]]
        n, d = len(risk), len(flared)
        weight1 = sum(math.exp(beta) for k in risk if x[k] == 1)
        share = weight1 / (weight1 + sum(1 for k in risk if x[k] == 0))
        score += sum(1 for k in flared if x[k] == 1) - d * share
        if n > 1:
            variance += d * share * (1 - share) * (n - d) / (n - 1)
    return score**2 / variance


@pytest.mark.parametrize("untied", [True, False])
@pytest.mark.parametrize("seed, n1, n2, hr", [(31, 9, 7, 2.5), (32, 13, 5, 1.0), (33, 20, 15, 0.4)])
def test_logrank_interval_inverts_the_logrank_test(seed, n1, n2, hr, untied) -> None:
    """P is lifelines' log-rank P; each end of the interval is where the log-rank score test
    (written out above) reaches the chi-square critical value, and it rejects nothing
    inside; the estimate is the Cox one (statsmodels, Breslow)."""
    t, e, x = _data(seed, n1, n2, hr, untied)
    fit = logrank_interval(t, e, x)
    expected = logrank_test(t[x == 1], t[x == 0], e[x == 1], e[x == 0]).p_value
    assert fit.p == pytest.approx(expected, rel=1e-9)
    critical = stats.chi2.isf(0.05, 1)
    for bound in (fit.ci_lower, fit.ci_upper):
        assert logrank_score(t, e, x, math.log(bound)) == pytest.approx(critical, rel=1e-6)
    inside = np.linspace(math.log(fit.ci_lower), math.log(fit.ci_upper), 41)[1:-1]
    assert all(logrank_score(t, e, x, b) < critical for b in inside)
    reference = PHReg(t, x[:, None].astype(float), status=e.astype(int), ties="breslow").fit()
    assert fit.log_hr == pytest.approx(float(reference.params[0]), abs=1e-5)
    assert (fit.ci_lower > 1 or fit.ci_upper < 1) == (fit.p < 0.05)


def test_logrank_interval_is_open_when_one_group_has_every_flare() -> None:
    """All 13 group-1 patients flare before any of 5 group-2 patients: the Cox estimate is
    infinite, the interval has no upper end, and its lower end still inverts the test."""
    t = np.arange(1.0, 19.0)
    e = np.ones(18, bool)
    x = np.r_[np.ones(13, int), np.zeros(5, int)]
    fit = logrank_interval(t, e, x)
    assert math.isinf(fit.hr) and math.isinf(fit.ci_upper) and "monotone" in fit.note
    assert logrank_score(t, e, x, math.log(fit.ci_lower)) == pytest.approx(
        stats.chi2.isf(0.05, 1), rel=1e-6
    )
    assert fit.p == pytest.approx(logrank_test(t[:13], t[13:], e[:13], e[13:]).p_value)


def test_logrank_table_reports_the_asymptotic_p_under_unequal_censoring() -> None:
    """The negatives are all censored early (withdrawn): the permutation log-rank P is not
    exact there, so the reported P is the asymptotic one (lifelines', independent), the
    method says so, and the permutation P is a secondary column with a note why."""
    import pandas as pd

    from nlrp3annot.response.stats.survival import _time_to_flare

    positive = [47, 39, 39, 54, 46, 14, 58, 13, 56, 11, 59, 9, 53]
    negative = [68, 71, 28, 24, 98]
    times = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(18)],
            "group": ["pos"] * 13 + ["neg"] * 5,
            "duration": positive + negative,
            "event": [1] * 13 + [0, 1, 0, 0, 1],
        }
    )
    _, _, table = _time_to_flare(times, ("pos", "neg"), 0.05)
    row = table.iloc[0]
    t, e = np.array(positive + negative, float), times["event"].to_numpy()
    expected = logrank_test(t[:13], t[13:], e[:13], e[13:])
    assert row["p"] == pytest.approx(expected.p_value, rel=1e-12)
    assert row["test_statistic"] == pytest.approx(expected.test_statistic, rel=1e-12)
    assert row["method"].startswith("asymptotic log-rank")
    assert "valid under unequal censoring" in row["method"]
    assert "p_permutation is secondary" in row["method"]
    assert np.isfinite(row["p_permutation"]) and row["p_permutation"] != row["p"]
    assert "censoring differs between the groups (0% vs 60% censored)" in row["note"]
