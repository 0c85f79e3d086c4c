"""The every-visit models against answers worked out independently: the ANCOVA against a
least-squares solution built here with numpy/scipy, the mixed model's interaction against
the difference of mean per-patient changes (which it must equal on complete balanced data,
where the GLS estimate of a saturated visit x group mean model is the cell means) and
against statsmodels' MixedLM (ML). With below-limit values, the censored (Tobit) fits
against their likelihood written again here by numerical integration (scipy's quad), and
against a simulated large-sample truth; P values against scipy's t with the stated df."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

from nlrp3annot.response.stats.models import (
    ANCOVA_COLUMNS,
    ANCOVA_METHOD,
    ASSUMPTIONS,
    MIXED_COLUMNS,
    MIXED_METHOD,
    ancova,
    mixed_model,
)
from nlrp3annot.response.stats.tobit import (
    bivariate_normal_cdf,
    fit_ancova,
    fit_random_intercept,
)

COMPARED = ("mutation_positive", "mutation_negative")
VISITS = ("baseline", "month3", "month6")


def _cohort(n1: int = 4, n2: int = 4, seed: int = 7) -> tuple[pd.DataFrame, dict[str, str]]:
    """Complete, balanced data: every patient has every measure at every visit. A patient
    level shift keeps the random-intercept variance well away from 0."""
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    for i in range(n1 + n2):
        patient = f"P{i:02d}"
        labels[patient] = COMPARED[0] if i < n1 else COMPARED[1]
        shift = rng.normal(0, 1.0)
        for j, visit in enumerate(VISITS):
            fall = (1.5 if i < n1 else 0.8) * j
            for measure, centre in (("saa", 5.0), ("crp", 3.0), ("esr", 3.0)):
                value = math.exp(centre + shift - fall + rng.normal(0, 0.3))
                rows.append((patient, visit, math.nan, measure, round(value, 4), "mg/l", ""))
            diary = max(0.0, 3.0 + shift - 0.5 * fall + rng.normal(0, 0.3))
            rows.append((patient, visit, math.nan, "diary", round(diary, 4), "", ""))
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    return pd.DataFrame(rows, columns=columns), labels


def _quiet(function, *args, **kwargs) -> pd.DataFrame:
    """Call with every warning an error: the models must keep them in their notes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


def _mean_change_difference(frame, labels, measure, visit, log=True) -> float:
    wide = frame[frame["measure"] == measure].pivot(
        index="patient_id", columns="visit", values="value"
    )
    if log:
        wide = np.log(wide)
    change = wide[visit] - wide[VISITS[0]]
    in1 = [labels[p] == COMPARED[0] for p in change.index]
    return float(change[in1].mean() - change[[not x for x in in1]].mean())


def test_mixed_interaction_equals_difference_of_mean_changes():
    frame, labels = _cohort()
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS)
    assert tuple(result.columns) == MIXED_COLUMNS
    assert len(result) == 4 * 2  # four measures x two later visits
    for row in result.itertuples():
        log = row.measure != "diary"
        expected = _mean_change_difference(frame, labels, row.measure, row.visit, log)
        assert row.estimate == pytest.approx(expected, abs=1e-6), row
        assert row.converged
        assert row.n_patients == 8 and row.n_observations == 24 and row.n_censored == 0
        assert row.ci_lower < row.estimate < row.ci_upper and 0 <= row.p <= 1
        # t, not z, with the between-patient df (8 patients - 2), interval and P alike
        assert row.df == 6 and row.method == MIXED_METHOD
        assert row.p == pytest.approx(2 * stats.t.sf(abs(row.estimate / row.se), 6), rel=1e-12)
        half = stats.t.ppf(0.975, 6) * row.se
        assert row.ci_upper - row.estimate == pytest.approx(half, rel=1e-12)
        if log:
            assert row.ratio == pytest.approx(math.exp(row.estimate))
            assert row.ratio_ci_lower == pytest.approx(math.exp(row.ci_lower))
        else:
            assert math.isnan(row.ratio)


def test_mixed_uncensored_equals_statsmodels_ml_fit():
    """Nothing censored: the censored likelihood is the ordinary one, so the fit is
    statsmodels' MixedLM by ML (its estimate to 1e-6; its SE from its own analytic Hessian,
    to the precision of its optimiser)."""
    frame, labels = _cohort()
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS).set_index(["measure", "visit"])
    for measure in ("saa", "diary"):
        data = frame[frame["measure"] == measure].copy()
        data["y"] = np.log(data["value"]) if measure == "saa" else data["value"]
        data["g"] = data["patient_id"].map(lambda p: float(labels[p] == COMPARED[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = MixedLM.from_formula("y ~ C(visit) * g", data, groups="patient_id").fit(
                reml=False
            )
        for visit in VISITS[1:]:
            term = f"C(visit)[T.{visit}]:g"
            row = result.loc[(measure, visit)]
            assert row["estimate"] == pytest.approx(fit.fe_params[term], abs=1e-6)
            assert row["se"] == pytest.approx(fit.bse_fe[term], rel=1e-3)


def _censor(frame: pd.DataFrame, measure: str, limit: float) -> pd.DataFrame:
    """Every value of ``measure`` below ``limit`` written as "<limit"."""
    frame = frame.copy()
    below = (frame["measure"] == measure) & (frame["value"] < limit)
    frame.loc[below, ["value", "censored"]] = [limit, "<"]
    return frame


def _independent_mixed_loglik(theta, y, x, patient, sign) -> float:
    """The censored random-intercept likelihood, patient by patient, by integrating over the
    random intercept with scipy's quad (not Gauss-Hermite, not the closed-form marginal)."""
    k = x.shape[1]
    beta, sigma, tau = theta[:k], math.exp(theta[k]), math.exp(theta[k + 1])
    total = 0.0
    for p in np.unique(patient):
        at = patient == p

        def integrand(u, at=at):
            mean = x[at] @ beta + u
            measured = stats.norm.pdf(y[at], mean, sigma)
            beyond = stats.norm.cdf(sign[at] * (y[at] - mean) / sigma)
            return np.prod(np.where(sign[at] == 0, measured, beyond)) * stats.norm.pdf(u, 0, tau)

        centre = float(np.mean(y[at] - x[at] @ beta))
        value = integrate.quad(
            integrand, -12 * tau, 12 * tau, points=[centre], epsabs=0, epsrel=1e-11, limit=200
        )[0]
        total += math.log(value)
    return total


def test_mixed_censored_fit_maximises_the_censored_likelihood():
    frame, labels = _cohort()
    frame = _censor(frame, "saa", math.exp(1.75))  # in group 1 at month 3 and month 6
    # and one patient censored at every visit (baseline below an assay's higher limit)
    at = (frame["patient_id"] == "P02") & (frame["measure"] == "saa")
    frame.loc[at & (frame["visit"] == "baseline"), ["value", "censored"]] = [12.0, "<"]
    data = frame[frame["measure"] == "saa"].reset_index(drop=True)
    assert (data["censored"] == "<").sum() == 5 and (data.loc[at, "censored"] == "<").all()
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS, measures=("saa",))
    # the same model built here: intercept, group, visits, visit x group
    g = data["patient_id"].map(lambda p: float(labels[p] == COMPARED[0])).to_numpy()
    visits = [(data["visit"] == v).to_numpy(float) for v in VISITS[1:]]
    x = np.column_stack([np.ones(len(data)), g, *visits, *(v * g for v in visits)])
    y = np.log(data["value"].to_numpy())
    sign = (data["censored"] == "<").to_numpy(float)
    patient = pd.factorize(data["patient_id"])[0]
    fit = fit_random_intercept(y, x, patient, sign)
    assert fit.converged
    mine = _independent_mixed_loglik(fit.params, y, x, patient, sign)
    assert mine == pytest.approx(fit.loglik, rel=1e-8)
    # a maximum of the independent likelihood: its gradient vanishes there (in the
    # interactions and the two variances)
    for j in (4, 5, 6, 7):
        step = np.zeros(len(fit.params))
        step[j] = 1e-4
        slope = (
            _independent_mixed_loglik(fit.params + step, y, x, patient, sign)
            - _independent_mixed_loglik(fit.params - step, y, x, patient, sign)
        ) / 2e-4
        assert abs(slope) < 1e-4, (j, slope)
    for row, k in zip(result.itertuples(), (4, 5), strict=True):
        assert row.n_censored == sign.sum() and row.df == 6
        assert row.estimate == pytest.approx(fit.params[k], abs=1e-9)
        assert row.se == pytest.approx(math.sqrt(fit.cov[k, k]), rel=1e-6)
        t = stats.t(6)
        assert row.p == pytest.approx(2 * t.sf(abs(row.estimate) / row.se), rel=1e-12)
        assert row.ci_lower == pytest.approx(row.estimate - t.ppf(0.975) * row.se, rel=1e-12)


def test_a_visit_where_a_group_is_all_censored_is_not_estimated():
    """Group 1's month 6 SAA all below the limit: the likelihood rises for ever as that
    cell's mean falls, so no finite estimate exists; month 3 is still estimated."""
    frame, labels = _cohort()
    frame = _censor(frame, "saa", math.exp(3.1))
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS, measures=("saa",))
    month3, month6 = (result.set_index("visit").loc[v] for v in ("month3", "month6"))
    assert math.isnan(month6["estimate"]) and "every group1 value at month6" in month6["note"]
    assert np.isfinite(month3["estimate"]) and month3["converged"]
    assert month3["ci_upper"] < 100  # a finite, bounded interval
    saa = frame["measure"] == "saa"
    month3_below = saa & (frame["visit"] == "month3") & frame["patient_id"].isin(["P00", "P02"])
    frame.loc[month3_below, "censored"] = "<"
    frame.loc[saa & (frame["visit"] == "month3") & frame["patient_id"].isin(["P01", "P03"]),
              "censored"] = "<"  # fmt: skip
    row = _quiet(ancova, frame, labels, COMPARED, measures=("saa",)).iloc[0]
    assert math.isnan(row["estimate"]) and "every group1 value at month3" in row["note"]


N_SIMULATED = 500


def test_mixed_censored_fit_finds_the_simulated_truth():
    """500 patients, a third of the values below the limit: the censored fit finds the
    interaction it was simulated with; the values put at the limit would not."""
    rng = np.random.default_rng(11)
    rows, labels = [], {}
    truth = {"month3": -1.0, "month6": -1.5}
    for i in range(N_SIMULATED):
        patient, first = f"S{i:03d}", i < N_SIMULATED // 2
        labels[patient] = COMPARED[0] if first else COMPARED[1]
        shift = rng.normal(0, 0.8)
        for j, visit in enumerate(VISITS):
            mean = 4.0 - 0.8 * j + (truth.get(visit, 0.0) if first else 0.0) + shift
            rows.append((patient, visit, math.nan, "saa", math.exp(mean + rng.normal(0, 0.5)),
                         "mg/l", ""))  # fmt: skip
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    frame = _censor(pd.DataFrame(rows, columns=columns), "saa", math.exp(2.5))
    share = (frame["censored"] == "<").mean()
    assert 0.2 < share < 0.45
    result = _quiet(mixed_model, frame, labels, COMPARED, VISITS).set_index("visit")
    naive = frame.assign(censored="")
    at_limit = _quiet(mixed_model, naive, labels, COMPARED, VISITS).set_index("visit")
    for visit, effect in truth.items():
        row = result.loc[visit]
        assert row["df"] == N_SIMULATED - 2
        assert abs(row["estimate"] - effect) < 3 * row["se"] and row["se"] < 0.12
        assert abs(at_limit.loc[visit, "estimate"] - effect) > 3 * row["se"]  # teeth


def test_mixed_one_patient_per_group_is_not_fitted():
    frame, labels = _cohort()
    keep = (frame["measure"] != "esr") | frame["patient_id"].isin(["P00", "P07"])
    result = _quiet(mixed_model, frame[keep], labels, COMPARED, VISITS)
    esr = result[result["measure"] == "esr"]
    assert len(esr) == 2
    assert esr["estimate"].isna().all() and not esr["converged"].any()
    assert esr["note"].str.contains("not fitted").all()
    assert (esr["n_patients1"] == 1).all() and (esr["n_patients2"] == 1).all()
    assert result.loc[result["measure"] == "saa", "estimate"].notna().all()


def test_zero_marker_value_is_left_out_and_counted():
    frame, labels = _cohort()
    at = (frame["measure"] == "crp") & (frame["patient_id"] == "P05")
    frame.loc[at & (frame["visit"] == "month3"), "value"] = 0.0
    mixed = _quiet(mixed_model, frame, labels, COMPARED, VISITS, measures=("crp",))
    assert (mixed["n_nonpositive"] == 1).all() and (mixed["n_observations"] == 23).all()
    assert mixed["estimate"].notna().all() and mixed["note"].str.contains("<= 0").all()
    covariance = _quiet(ancova, frame, labels, COMPARED, measures=("crp",)).iloc[0]
    assert covariance["n_nonpositive"] == 1 and covariance["n"] == 7
    assert np.isfinite(covariance["estimate"]) and "<= 0" in covariance["note"]


def _ancova_frame() -> tuple[pd.DataFrame, dict[str, str]]:
    """Nine patients, uneven groups, baseline and month 3 only; one patient lacks month 3."""
    saa = {
        "A1": (310.0, 12.0), "A2": (95.0, 4.1), "A3": (180.0, 9.5), "A4": (40.0, 3.0),
        "A5": (520.0, 30.0), "B1": (150.0, 60.0), "B2": (60.0, 33.0), "B3": (400.0, 95.0),
        "B4": (22.0, 14.0), "B5": (75.0, math.nan),
    }  # fmt: skip
    rows, labels = [], {}
    for patient, (first, second) in saa.items():
        labels[patient] = COMPARED[0] if patient[0] == "A" else COMPARED[1]
        for visit, value in (("baseline", first), ("month3", second)):
            if not math.isnan(value):
                rows.append((patient, visit, math.nan, "saa", value, "mg/l", ""))
                diary = round(value**0.5 / 4, 3)
                rows.append((patient, visit, math.nan, "diary", diary, "", ""))
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    return pd.DataFrame(rows, columns=columns), labels


@pytest.mark.parametrize("measure", ["saa", "diary"])
def test_ancova_equals_least_squares(measure):
    frame, labels = _ancova_frame()
    alpha = 0.1
    result = _quiet(ancova, frame, labels, COMPARED, measures=(measure,), alpha=alpha)
    assert tuple(result.columns) == ANCOVA_COLUMNS
    row = result.iloc[0]
    wide = frame[frame["measure"] == measure].pivot(
        index="patient_id", columns="visit", values="value"
    )
    wide = wide.dropna()
    if measure == "saa":
        wide = np.log(wide)
    group = np.array([labels[p] == COMPARED[0] for p in wide.index], dtype=float)
    x = np.column_stack([np.ones(len(wide)), wide["baseline"], group])
    y = wide["month3"].to_numpy()
    beta, rss, _, _ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    sigma2 = rss[0] / df
    se = math.sqrt(sigma2 * np.linalg.inv(x.T @ x)[2, 2])
    p = 2 * stats.t.sf(abs(beta[2] / se), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    assert row["n"] == 9 and row["n1"] == 5 and row["n2"] == 4
    assert row["estimate"] == pytest.approx(beta[2], rel=1e-7)
    assert row["baseline_slope"] == pytest.approx(beta[1], rel=1e-7)
    assert row["se"] == pytest.approx(se, rel=1e-6)
    assert row["p"] == pytest.approx(p, rel=1e-6)
    assert row["ci_lower"] == pytest.approx(beta[2] - half, rel=1e-6)
    assert row["ci_upper"] == pytest.approx(beta[2] + half, rel=1e-6)
    assert row["df"] == df == 6 and row["method"] == ANCOVA_METHOD
    if measure == "saa":
        assert row["ratio"] == pytest.approx(math.exp(beta[2]))
        assert row["ratio_ci_upper"] == pytest.approx(math.exp(beta[2] + half), rel=1e-6)
    else:
        assert math.isnan(row["ratio"])


def _independent_ancova_loglik(theta, y0, y1, c0, c1, group) -> float:
    """The censored ANCOVA likelihood, patient by patient: a censored baseline integrated
    out with scipy's quad (not the closed forms or Owen's T of tobit.py)."""
    a0, a1, log_s0, b0, b1, b2, log_s1 = theta
    s0, s1 = math.exp(log_s0), math.exp(log_s1)
    total = 0.0
    for i in range(len(y0)):
        m0 = a0 + a1 * group[i]

        def follow(x0, i=i):
            mean = b0 + b1 * x0 + b2 * group[i]
            if c1[i] == 0:
                return stats.norm.pdf(y1[i], mean, s1)
            return stats.norm.cdf(c1[i] * (y1[i] - mean) / s1)

        if c0[i] == 0:
            total += math.log(stats.norm.pdf(y0[i], m0, s0) * follow(y0[i]))
            continue
        low, high = (-np.inf, y0[i]) if c0[i] > 0 else (y0[i], np.inf)
        value = integrate.quad(
            lambda x, m0=m0, follow=follow: stats.norm.pdf(x, m0, s0) * follow(x),
            low, high, epsabs=0, epsrel=1e-11,
        )[0]  # fmt: skip
        total += math.log(value)
    return total


def test_bivariate_normal_cdf_matches_scipy():
    rng = np.random.default_rng(3)
    for _ in range(20):
        h, k = rng.normal(0, 1.5, 2)
        rho = rng.uniform(-0.95, 0.95)
        expected = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([h, k])
        assert bivariate_normal_cdf(np.array([h]), np.array([k]), np.array([rho]))[
            0
        ] == pytest.approx(expected, abs=1e-7)


def test_ancova_censored_fit_maximises_the_censored_likelihood():
    frame, labels = _ancova_frame()
    saa = frame["measure"] == "saa"
    for patient, visit, mark in (("A4", "month3", "<"), ("B4", "baseline", "<"),
                                 ("A2", "baseline", "<"), ("A2", "month3", "<"),
                                 ("B3", "month3", ">")):  # fmt: skip
        at = saa & (frame["patient_id"] == patient) & (frame["visit"] == visit)
        frame.loc[at, "censored"] = mark
    row = _quiet(ancova, frame, labels, COMPARED, measures=("saa",)).iloc[0]
    assert row["n_censored"] == 5 and row["n"] == 9 and row["df"] == 6
    wide = frame[saa].pivot(index="patient_id", columns="visit", values=["value", "censored"])
    wide = wide.dropna()
    y0, y1 = (np.log(wide[("value", v)].to_numpy(float)) for v in ("baseline", "month3"))
    c0, c1 = (wide[("censored", v)].map({"": 0, "<": 1, ">": -1}).to_numpy(float)
              for v in ("baseline", "month3"))  # fmt: skip
    group = np.array([labels[p] == COMPARED[0] for p in wide.index], dtype=float)

    fit = fit_ancova(y0, y1, c0, c1, group)
    assert fit.converged
    assert _independent_ancova_loglik(fit.params, y0, y1, c0, c1, group) == pytest.approx(
        fit.loglik, rel=1e-9
    )
    # a maximum of the independent likelihood: its gradient vanishes there
    slope = approx_fprime(
        fit.params, lambda t: _independent_ancova_loglik(t, y0, y1, c0, c1, group), centered=True
    )
    assert np.abs(slope).max() < 1e-5
    assert row["estimate"] == pytest.approx(fit.params[5], abs=1e-12)
    assert row["baseline_slope"] == pytest.approx(fit.params[4], abs=1e-12)
    # its t test with the residual df; the interval from the same estimate and SE
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(row["estimate"] / row["se"]), 6))
    half = stats.t.ppf(0.975, 6) * row["se"]
    assert row["ci_lower"] == pytest.approx(row["estimate"] - half, rel=1e-12)
    assert row["ratio"] == pytest.approx(math.exp(row["estimate"]))
    # the SE: the inverse curvature of the independent likelihood, scaled by n / (n - 3)
    hessian = approx_hess3(
        fit.params, lambda t: _independent_ancova_loglik(t, y0, y1, c0, c1, group)
    )
    se = math.sqrt(np.linalg.inv(-hessian)[5, 5] * 9 / 6)
    assert row["se"] == pytest.approx(se, rel=1e-5)


def test_ancova_censored_fit_finds_the_simulated_truth():
    """600 patients, a third of the follow-up and a tenth of the baselines below the limit:
    the censored fit finds the group effect it was simulated with; the limit put in for the
    value would not."""
    rng = np.random.default_rng(5)
    n, rows, labels = 600, [], {}
    for i in range(n):
        patient, first = f"S{i:03d}", i % 2 == 0
        labels[patient] = COMPARED[0] if first else COMPARED[1]
        y0 = rng.normal(4.0 + 0.3 * first, 1.0)
        y1 = 1.0 + 0.6 * y0 - 0.7 * first + rng.normal(0, 0.5)
        for visit, y in (("baseline", y0), ("month3", y1)):
            rows.append((patient, visit, math.nan, "saa", math.exp(y), "mg/l", ""))
    columns = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
    frame = _censor(pd.DataFrame(rows, columns=columns), "saa", math.exp(2.8))
    censored = frame[frame["censored"] == "<"]
    assert 0.05 < (censored["visit"] == "baseline").sum() / n < 0.2
    assert 0.2 < (censored["visit"] == "month3").sum() / n < 0.45
    row = _quiet(ancova, frame, labels, COMPARED, measures=("saa",)).iloc[0]
    naive = _quiet(ancova, frame.assign(censored=""), labels, COMPARED, measures=("saa",))
    assert row["df"] == n - 3
    assert abs(row["estimate"] + 0.7) < 3 * row["se"] and row["se"] < 0.06
    assert abs(row["baseline_slope"] - 0.6) < 0.06
    assert abs(naive["estimate"].iloc[0] + 0.7) > 3 * row["se"]  # teeth


def test_ancova_too_few_is_not_fitted():
    frame, labels = _ancova_frame()
    few = frame[frame["patient_id"].isin(["A1", "A2", "B1"])]
    row = _quiet(ancova, few, labels, COMPARED, measures=("saa",)).iloc[0]
    assert math.isnan(row["estimate"]) and "not fitted" in row["note"]


def test_assumptions_are_stated():
    assert set(ASSUMPTIONS) == {"mixed_model", "ancova"}
    assert "random intercept" in ASSUMPTIONS["mixed_model"]
    assert "parallel slopes" in ASSUMPTIONS["ancova"]
