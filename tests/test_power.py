"""Detectable effects (80% power) checked by an independent simulation of the row's own test:
scipy's exact Mann-Whitney test over draws of the stated model, with another seed and
another implementation of the model, on demo rows recomputed from the raw workbook."""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_analysis import raw_demo_values, raw_groups

from nlrp3annot.response.stats.censored import Bounds, gehan_test
from nlrp3annot.response.stats.hazard import cox_firth
from nlrp3annot.response.stats.power import (
    DRAWS,
    FLARE_METHODS,
    GEHAN_METHOD,
    SCHOENFELD_METHOD,
    SIMULATED_METHOD,
    detectable_hazard_ratio,
    detectable_shift,
    lower_critical_u,
)
from nlrp3annot.response.stats.power_censored import AssayPattern, _Model, _rejects

ALPHA = 0.05
CHECK_DRAWS = 4000  # SE 0.63 points at 80%; with the module's 0.9 points, 3 points is 2.7 SE


def model_draws(x: np.ndarray, y: np.ndarray, shape: tuple[int, ...], rng) -> np.ndarray:
    """The stated model written again: values centred on their group's median, pooled,
    resampled with Gaussian kernel noise of bandwidth 1.06 m**(-1/5) SD, variance kept."""
    pooled = np.concatenate([x - np.median(x), y - np.median(y)])
    h = 1.06 * len(pooled) ** -0.2
    mean, sd = pooled.mean(), pooled.std()
    picked = rng.choice(pooled, size=shape, replace=True)
    return mean + (picked - mean + rng.normal(0.0, h * sd, size=shape)) / np.sqrt(1 + h**2)


def scipy_power(x: np.ndarray, y: np.ndarray, shift: float, seed: int) -> float:
    """Share of draws in which scipy's exact two-sided Mann-Whitney test rejects at ALPHA,
    the first group shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    draws = model_draws(x, y, (CHECK_DRAWS, x.size + y.size), rng)
    first, second = draws[:, : x.size] + shift, draws[:, x.size :]
    p = stats.mannwhitneyu(first, second, axis=1, method="exact").pvalue
    return float(np.mean(p < ALPHA))


def demo_row_values(demo: Path, measure: str, earlier: str, later: str):
    """Per-patient change (diary) or log ratio (markers) of each compared group, from the
    workbook as typed."""
    values = raw_demo_values(demo)
    groups = raw_groups(demo)
    wide = values[values["measure"] == measure].pivot(
        index="patient_id", columns="visit", values="value"
    )
    wide = wide[[earlier, later]].dropna()
    if measure == "diary":
        change = (wide[later] - wide[earlier]).round(9)
    else:
        change = np.log(wide[later]) - np.log(wide[earlier])
    group = wide.index.map(groups)
    return (change[group == "mutation_positive"].to_numpy(),
            change[group == "mutation_negative"].to_numpy())  # fmt: skip


@pytest.mark.parametrize(
    "measure,earlier,later",
    [
        ("diary", "baseline", "month3"),
        ("esr", "baseline", "month3"),
        ("crp", "month3", "flare"),
    ],  # fmt: skip
)
def test_demo_detectable_effect_has_80_percent_power_by_scipy(demo: Path, measure, earlier, later):
    summary = json.loads((demo / "summary.json").read_text())
    family = summary["comparison"]["genotype_endpoints"]["endpoints"]  # the power rows
    row = next(
        r for r in family if r["measure"] == measure and r["change"] == f"{earlier}->{later}"
    )
    assert row["detectable_method"] == SIMULATED_METHOD
    x, y = demo_row_values(demo, measure, earlier, later)
    assert (x.size, y.size) == (row["n1"], row["n2"])
    shift = row["detectable_effect"]
    if measure != "diary":  # a ratio of ratios: the shift of the log ratios
        assert shift > 1
        shift = math.log(shift)
    # either way: the stated effect has 80% power in both directions (the weaker one is
    # at 80%), 0.9 of it has less
    at = [scipy_power(x, y, s * shift, seed=7) for s in (1, -1)]
    assert min(at) == pytest.approx(0.8, abs=0.03), at
    assert max(at) < 0.8 + 0.06, at
    below = [scipy_power(x, y, s * 0.9 * shift, seed=8) for s in (1, -1)]
    assert min(below) < 0.8, below


def test_the_old_normal_approximation_was_too_small_on_the_demo(demo: Path):
    """The diary row's effect under the old formula (pooled SD, efficiency 3/pi) has clearly
    less than 80% power by the same independent simulation: what issue 26 found."""
    x, y = demo_row_values(demo, "diary", "baseline", "month3")
    pooled = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1))
                       / (x.size + y.size - 2))  # fmt: skip
    old = 2.8016 * pooled * math.sqrt(1 / x.size + 1 / y.size) / math.sqrt(3 / math.pi)
    assert min(scipy_power(x, y, s * old, seed=9) for s in (1, -1)) < 0.76


def test_time_to_flare_states_its_simulated_flare_test(demo: Path):
    """Was Schoenfeld's approximation; now the plan's flare test (Firth's LR by default)
    is simulated, and the row and the power sentence say which test."""
    summary = json.loads((demo / "summary.json").read_text())
    family = summary["comparison"]["genotype_endpoints"]["endpoints"]  # the power rows
    flare = next(r for r in family if r["scale"] == "hazard ratio")
    assert flare["detectable_method"] == FLARE_METHODS["firth_lr"]
    assert "Firth penalised likelihood-ratio test" in flare["detectable_method"]
    # the flare row is the genotype comparison's: its line is among that family's lines
    power = summary["comparison"]["genotype_endpoints"]["power"]
    assert any("simulated power of the Firth penalised likelihood-ratio test" in line
               for line in power)  # fmt: skip


def _power_rows(endpoints: list[dict]) -> list[dict]:
    """The rows of a family that have a detectable effect (a finite number)."""
    return [r for r in endpoints if math.isfinite(float(r["detectable_effect"] or math.nan))]


def test_the_primary_power_lines_are_the_primary_familys(demo: Path):
    """The default plan's primary question is the study's (within-patient changes in all
    patients, no detectable effects computed): the primary family's power lists nothing of
    the genotype comparison, says which family the report's lines are about instead, and
    the report puts them under a heading naming that family and its role, not the primary
    question (issue 26 point 8)."""
    from nlrp3annot.response.report.html_report import _power

    comparison = json.loads((demo / "summary.json").read_text())["comparison"]
    primary, genotype = comparison["primary_endpoints"], comparison["genotype_endpoints"]
    assert comparison["question"] == "study" and primary["table"] == "study_endpoints"
    assert _power_rows(primary["endpoints"]) == []  # the within-patient rows have none
    assert primary["power"] == []
    assert primary["power_family"] == "genotype_endpoints"
    assert "the genotype comparison's, which is exploratory" in primary["power_note"]
    # the genotype comparison's lines: one per row with an effect (and one per simulated
    # row where no effect reached 80%), each labelled
    rows = _power_rows(genotype["endpoints"])
    assert genotype["role"] == "exploratory" and len(genotype["power"]) >= len(rows) > 0
    for row in rows:
        start = f"{row['endpoint']} (genotype comparison, exploratory): "
        assert any(line.startswith(start) for line in genotype["power"]), start
    for line in genotype["power"]:
        assert "(genotype comparison, exploratory): " in line
    page = (demo / "report.html").read_text()
    section = page[page.index("<h3 id='power'") :]
    heading = section[: section.index("</h3>")]
    assert "genotype comparison" in heading and "exploratory" in heading
    assert "not the primary question" in heading
    assert section.count("<li>") >= len(genotype["power"])
    methods = comparison_methods(demo)
    assert "each primary end point could detect" not in methods
    assert "each end point of the genotype comparison (exploratory" in methods
    # the same summary read by the report's builder: nothing under a primary heading
    assert "(the primary question" not in "".join(_power(comparison))


def comparison_methods(demo: Path) -> str:
    return json.loads((demo / "summary.json").read_text())["methods"]


def test_a_genotype_plan_lists_its_own_power_lines_as_primary():
    """question = "genotype": the primary family is the genotype comparison's, whose rows
    have detectable effects; the primary power lines are those rows', labelled primary."""
    from dataclasses import replace

    from test_compare import make_cohort

    from nlrp3annot.response.plan import default_plan
    from nlrp3annot.response.report.html_report import _power
    from nlrp3annot.response.stats.compare import run_comparison

    result = run_comparison(*make_cohort(9, 7, seed=20240611, censor=False),
                            plan=replace(default_plan(), question="genotype"))  # fmt: skip
    primary = result.summary["primary_endpoints"]
    assert primary["table"] == primary["power_family"] == "genotype_endpoints"
    assert "power_note" not in primary
    rows = _power_rows(primary["endpoints"])
    assert rows and len(primary["power"]) == len(rows)
    for row, line in zip(rows, primary["power"], strict=True):
        assert line.startswith(f"{row['endpoint']} (genotype comparison, primary): ")
    html = "".join(_power(result.summary))
    assert "What the study could detect (the primary question, the genotype comparison)" in html


@pytest.mark.parametrize("n1,n2", [(14, 4), (8, 3), (5, 5), (3, 3)])
def test_rejection_region_matches_scipy_exact_p(n1, n2):
    """U <= c rejects and U = c + 1 does not, by scipy's exact P of that U."""
    c = lower_critical_u(n1, n2, ALPHA)

    def p_of(u: int) -> float:
        """scipy's exact P of a split of 0 .. n-1 into the groups with U = u (untied)."""
        values = np.arange(n1 + n2, dtype=float)
        for chosen in combinations(range(n1 + n2), n1):
            first, second = values[list(chosen)], np.delete(values, list(chosen))
            if int((first[:, None] > second[None, :]).sum()) == u:
                return float(stats.mannwhitneyu(first, second, method="exact").pvalue)
        raise AssertionError(f"no split gives U = {u}")

    if c is None:
        assert p_of(0) >= ALPHA
        return
    assert p_of(c) < ALPHA
    assert p_of(c + 1) >= ALPHA


def test_too_small_groups_have_no_detectable_effect():
    # 3 vs 2: the smallest exact two-sided P is 2 / C(5, 2) = 0.2, no effect reaches 0.05
    effect, _ = detectable_shift(np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.5]), ALPHA, "change")
    assert math.isnan(effect)
    effect, _ = detectable_shift(np.array([1.0]), np.array([0.5, 1.5]), ALPHA, "change")
    assert math.isnan(effect)


def test_large_groups_use_noethers_formula_within_simulation_error():
    """Above 50 a group, the test is asymptotic; Noether's formula under the same model,
    checked against scipy's asymptotic test over simulated draws."""
    rng = np.random.default_rng(11)
    x, y = rng.normal(0, 1, 60), rng.normal(0.3, 1.2, 55)
    effect, method = detectable_shift(x, y, ALPHA, "change")
    assert method.startswith("Noether")
    draws = model_draws(x, y, (CHECK_DRAWS, x.size + y.size), np.random.default_rng(12))
    first, second = draws[:, : x.size] + effect, draws[:, x.size :]
    p = stats.mannwhitneyu(first, second, axis=1, method="asymptotic").pvalue
    assert float(np.mean(p < ALPHA)) == pytest.approx(0.8, abs=0.03)


def test_fixed_seed_gives_the_same_effect_and_draws_are_stated():
    x, y = np.array([0.1, 0.4, -0.3, 0.9, 0.2, -0.1]), np.array([1.2, 0.7, 1.5, 0.8])
    assert detectable_shift(x, y, ALPHA, "change") == detectable_shift(x, y, ALPHA, "change")
    assert f"{DRAWS:,}" in SIMULATED_METHOD and "0.9 points" in SIMULATED_METHOD


# --------------------------------------------------------------------------------------------
# Gehan rows: the test's own power with values censored at the detection limit


def own_gehan_power(x, y, earlier, limit, shift, seed, draws=CHECK_DRAWS) -> float:
    """The stated model written again for a log-ratio row whose earlier values are all
    measured: log ratio = median of all + smoothed residual draw (+ shift in group 1),
    later = earlier x exp(log ratio), censored below ``limit`` (then the log ratio is the
    interval below log(limit / earlier)). Gehan's scores by their definition and the exact
    permutation P by enumerating every split of the patients (no dynamic programming)."""
    rng = np.random.default_rng(seed)
    n1, n = x.size, x.size + y.size
    ratio = np.median(np.concatenate([x, y])) + model_draws(x, y, (draws, n), rng)
    ratio[:, :n1] += shift
    base = rng.choice(earlier, size=(draws, n), replace=True)
    censored = base * np.exp(ratio) < limit
    high = np.where(censored, np.log(limit / base), ratio)  # open at the top if censored
    low = np.where(censored, -np.inf, ratio)
    below = (high[:, :, None] < low[:, None, :]) | (
        (high[:, :, None] == low[:, None, :]) & censored[:, :, None]
    )
    scores = below.sum(axis=1) - below.sum(axis=2)
    splits = np.zeros((math.comb(n, y.size), n))
    for row, chosen in enumerate(combinations(range(n), y.size)):
        splits[row, list(chosen)] = 1.0
    null = np.abs(scores @ splits.T)  # |W| of the smaller group over all splits
    observed = np.abs(scores[:, n1:].sum(axis=1))
    p = (null >= observed[:, None] - 1e-9).mean(axis=1)
    return float(np.mean(p < ALPHA))


def test_demo_gehan_row_has_80_percent_power_by_an_own_simulation(demo: Path):
    summary = json.loads((demo / "summary.json").read_text())
    family = summary["comparison"]["genotype_endpoints"]["endpoints"]
    row = next(r for r in family if r["measure"] == "saa" and r["change"] == "baseline->month3")
    assert row["test"].startswith("Gehan") and row["detectable_method"] == GEHAN_METHOD
    assert "Gehan" in row["detectable_method"] and "censored" in row["detectable_method"]
    values = raw_demo_values(demo)
    saa = values[values["measure"] == "saa"]
    assert set(saa.loc[saa["censored"] == "<", "value"]) == {5.0}  # one limit: <5
    x, y = demo_row_values(demo, "saa", "baseline", "month3")  # "<5" at 5, as the model
    wide = saa.pivot(index="patient_id", columns="visit", values="value")
    earlier = wide["baseline"].to_numpy(float)
    shift = math.log(row["detectable_effect"])
    # module 1,000 draws (SE 1.26 points) against 4,000 here (0.63): 3 SE of the difference
    at = [own_gehan_power(x, y, earlier, 5.0, s * shift, seed=21) for s in (1, -1)]
    assert min(at) == pytest.approx(0.8, abs=0.045), at
    below = [own_gehan_power(x, y, earlier, 5.0, s * 0.85 * shift, seed=22) for s in (1, -1)]
    assert min(below) < 0.8, below


def test_vectorised_gehan_rejections_equal_gehan_test():
    """The simulation's rejections are those of censored.gehan_test on the same intervals."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(-2.5, 0.8, 9), rng.normal(-2.0, 0.8, 5)
    pattern = AssayPattern(tuple(rng.uniform(20, 300, 14)), ("",) * 13 + ("<",),
                           (5.0, 10.0), True)  # fmt: skip
    model = _Model(x, y, pattern, (300, 14), seed=6)
    bounds = model.bounds(-0.7)
    ours = _rejects(bounds, 9, ALPHA)
    low, high, low_open, high_open = bounds
    theirs = []
    for d in range(300):
        b = [Bounds(low[d, i], high[d, i], bool(low_open[d, i]), bool(high_open[d, i]))
             for i in range(14)]  # fmt: skip
        theirs.append(gehan_test(b[:9], b[9:]).p < ALPHA)
    assert (~np.isinf(low) & ~np.isinf(high)).sum() < low.size  # some draws are censored
    assert ours.tolist() == theirs


# --------------------------------------------------------------------------------------------
# Time to flare: the plan's flare test simulated

FLARE_T1 = np.array([20.0, 35, 41, 60, 77, 90, 130, 300, 365, 365])
FLARE_E1 = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
FLARE_T2 = np.array([45.0, 120, 150, 200, 300, 365, 365, 365])
FLARE_E2 = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)


def own_flare_power(hr: float, test: str, seed: int, draws: int) -> float:
    """The stated model written again (exponential flares, group 2 at the pooled rate,
    censoring times resampled within each group), tested with lifelines' log-rank test or
    the Firth fit of the row."""
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(seed)
    rate = (FLARE_E1.sum() + FLARE_E2.sum()) / (FLARE_T1.sum() + FLARE_T2.sum())
    rejected = 0
    for _ in range(draws):
        f1 = rng.exponential(1 / (rate * hr), FLARE_T1.size)
        f2 = rng.exponential(1 / rate, FLARE_T2.size)
        c1 = rng.choice(FLARE_T1[~FLARE_E1], FLARE_T1.size)
        c2 = rng.choice(FLARE_T2[~FLARE_E2], FLARE_T2.size)
        t1, t2 = np.minimum(f1, c1), np.minimum(f2, c2)
        e1, e2 = f1 <= c1, f2 <= c2
        if test == "logrank":
            p = logrank_test(t1, t2, event_observed_A=e1, event_observed_B=e2).p_value
        else:
            group = np.r_[np.ones(t1.size), np.zeros(t2.size)]
            p = cox_firth(np.r_[t1, t2], np.r_[e1, e2], group).p
        rejected += p < ALPHA
    return rejected / draws


@pytest.mark.parametrize("test,draws", [("logrank", 2000), ("firth_lr", 500)])
def test_flare_hazard_ratio_has_80_percent_power_by_an_own_simulation(test, draws):
    hr, method = detectable_hazard_ratio((FLARE_T1, FLARE_T2), (FLARE_E1, FLARE_E2), ALPHA, test)
    assert method == FLARE_METHODS[test]
    assert {"logrank": "log-rank", "firth_lr": "Firth"}[test] in method
    assert 1 < hr < 100
    # module 1,000 draws (SE 1.26 points), here 2,000 or (Firth fits are slow) 500: 3 SE of
    # the difference
    tolerance = 3 * math.sqrt(0.16 / 1000 + 0.16 / draws)
    at = [own_flare_power(h, test, seed=31, draws=draws) for h in (hr, 1 / hr)]
    assert min(at) == pytest.approx(0.8, abs=tolerance), at


def test_large_groups_fall_back_to_schoenfeld():
    t = np.full(60, 100.0)
    e = np.r_[np.ones(30, bool), np.zeros(30, bool)]
    hr, method = detectable_hazard_ratio((t, t[:55]), (e, e[:55]), ALPHA, "firth_lr")
    assert method == SCHOENFELD_METHOD and "above 50" in method
    share = 60 / 115
    expected = math.exp(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(60 * share * (1 - share))
    )  # fmt: skip (30 + 30 flares)
    assert hr == pytest.approx(expected)
