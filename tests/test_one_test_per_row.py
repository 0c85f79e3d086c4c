"""One test per row, and the multiplicity rule over the plan's family (issue 26, 1 and 2).

Every interval shown beside a P must invert that P's test: it excludes the null exactly
when P < alpha. Checked for every row of every table of the results that holds both, on the
demo and on a 13 versus 5 cohort where the time-to-flare row used to pair Firth's profile
interval (excluding HR 1) with a permutation log-rank P above 0.05. Then the plan's family:
an end point that cannot be tested (ESR absent) counts as not rejected, so a fixed sequence
stops there and Holm divides by the plan's family size; expected values from statsmodels'
multipletests and from enumeration, not from our output."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test
from statsmodels.stats.multitest import multipletests
from test_compare import NEG, POS, log_ratios, make_cohort, mann_whitney_enumeration_p

from nlrp3annot.response.plan import Endpoint, default_plan
from nlrp3annot.response.report.bottom_line import bottom_lines, overall_line
from nlrp3annot.response.report.headline import headline_table
from nlrp3annot.response.report.methods import methods_text
from nlrp3annot.response.stats.compare import run_comparison

ALPHA = 0.05
NULL_BY_SCALE = {"change": 0.0, "ratio": 1.0, "hazard ratio": 1.0}
# table -> (P column, lower, upper, the null value), for every table with a P and a CI
FIXED = {
    "between": [("p", "ci_lower", "ci_upper", 0.0)],
    "ratios_between": [("p", "ci_lower", "ci_upper", 1.0)],
    "within": [("p", "hl_ci_lower", "hl_ci_upper", 0.0)],
    "ratios_within": [("p", "ci_lower", "ci_upper", 1.0)],
    "hazard_ratio": [("p", "ci_lower", "ci_upper", 1.0)],
    # the odds ratio's exact conditional interval and the central Fisher P it inverts (the
    # Newcombe interval of the difference, difference_ci_*, stands beside no P)
    "responder_comparison": [("p", "ci_lower", "ci_upper", 1.0)],
    "mixed_model": [("p", "ci_lower", "ci_upper", 0.0), ("p", "ratio_ci_lower",
                                                         "ratio_ci_upper", 1.0)],
    "ancova": [("p", "ci_lower", "ci_upper", 0.0), ("p", "ratio_ci_lower", "ratio_ci_upper",
                                                    1.0)],
}  # fmt: skip

# the 13 positives' and 5 negatives' days from withdrawal to flare: the positives flare
# sooner; Firth's profile interval excludes HR 1, the permutation log-rank P is 0.061
POSITIVE_DAYS = [47, 39, 39, 54, 46, 14, 58, 13, 56, 11, 59, 9, 53]
NEGATIVE_DAYS = [68, 71, 28, 24, 98]


def _nulls(name: str, table: pd.DataFrame) -> list[tuple[str, str, str, pd.Series]]:
    # the families (issue 26: the study's within-patient changes and the genotype
    # comparison, either primary as the plan says) and the secondary end points: a change's
    # null is 0, a ratio's and a hazard ratio's 1, by the row's scale
    if name in ("study_endpoints", "genotype_endpoints", "secondary_endpoints"):
        return [("p", "ci_lower", "ci_upper", table["scale"].map(NULL_BY_SCALE))]
    if name == "sensitivity":  # the family's rows: the diary as a change, the rest ratios/HR
        null = table["endpoint"].map(lambda e: 0.0 if str(e).startswith("diary") else 1.0)
        return [("p", "ci_lower", "ci_upper", null)]
    assert name in FIXED, f"table {name} shows a P and a CI: say which null it tests"
    return [(p, lo, hi, pd.Series(null, index=table.index)) for p, lo, hi, null in FIXED[name]]


def agreement(tables: dict[str, pd.DataFrame]) -> tuple[list[str], set[bool], int]:
    """(rows whose interval and P disagree, the outcomes seen, rows checked)."""
    wrong, seen, checked = [], set(), 0
    for name, table in tables.items():
        if "p" not in table.columns or not any("ci_lower" in c for c in table.columns):
            continue
        for p_column, low, high, nulls in _nulls(name, table):
            for index, row in table.iterrows():
                p, lower, upper = (pd.to_numeric(row[c], errors="coerce")
                                   for c in (p_column, low, high))  # fmt: skip
                if not all(np.isfinite([p, lower, upper])) and not (
                    np.isfinite(p) and (np.isinf(lower) or np.isinf(upper))
                ):
                    continue
                null = nulls[index]
                excludes = null < lower or null > upper
                checked += 1
                seen.add(excludes)
                if excludes != (p < ALPHA):
                    wrong.append(f"{name} row {index}: P {p} beside [{lower}, {upper}]")
    return wrong, seen, checked


def test_every_interval_inverts_the_p_beside_it_on_the_demo(demo: Path):
    tables = {f.stem: pd.read_csv(f, sep="\t") for f in sorted((demo / "tables").glob("*.tsv"))}
    wrong, seen, checked = agreement(tables)
    assert wrong == []
    assert checked > 50 and seen == {True, False}  # both kinds occur: the check has teeth
    hazard = tables["hazard_ratio"]
    assert list(hazard["test"]) == ["firth_lr", "logrank"]  # the plan's test first
    assert list(hazard["role"]) == ["plan", "secondary"]


def cohort_13_vs_5(seed: int = 4, censor: bool = True):
    measurements, groups, events = make_cohort(13, 5, seed=seed, n_other=0, censor=censor)
    events["flare_day"] = events["withdrawal_day"] + np.array(POSITIVE_DAYS + NEGATIVE_DAYS)
    return measurements, groups, events


@pytest.mark.parametrize("flare_test", ["firth_lr", "logrank"])
def test_the_13_versus_5_cohort_where_interval_and_p_used_to_disagree(flare_test):
    cohort = cohort_13_vs_5()
    plan = replace(default_plan(), flare_test=flare_test, within_group="tested")
    result = run_comparison(*cohort, plan=plan)
    tables = result.tables
    hazard = tables["hazard_ratio"].set_index("test")
    # the old pairing: Firth's interval excludes 1 while the permutation P is above 0.05
    assert hazard.loc["firth_lr", "ci_lower"] > 1
    assert tables["logrank"]["p_permutation"].iloc[0] >= ALPHA
    wrong, seen, checked = agreement(tables)
    assert wrong == [] and seen == {True, False} and checked > 40

    days = np.array(POSITIVE_DAYS + NEGATIVE_DAYS, float)
    logrank_p = logrank_test(days[:13], days[13:], np.ones(13), np.ones(5)).p_value
    # the default plan asks the study's question: time to flare is in the genotype
    # comparison (exploratory), still one test per row
    flare = tables["genotype_endpoints"].set_index("endpoint").loc["time to flare"]
    others = tables["secondary_endpoints"]
    other = others[others["endpoint"].str.startswith("time to flare, secondary test: ")].iloc[0]
    assert "secondary" in other["endpoint"] and other["adjustment"] == "unadjusted (secondary)"
    logrank_row, firth_row = (flare, other) if flare_test == "logrank" else (other, flare)
    assert logrank_row["p"] == pytest.approx(logrank_p, rel=1e-9)  # lifelines, independent
    assert "log-rank" in logrank_row["test"] and "Firth" in firth_row["test"]
    for row, test in ((firth_row, "firth_lr"), (logrank_row, "logrank")):
        assert (row["p"], row["ci_lower"], row["ci_upper"]) == pytest.approx(
            tuple(hazard.loc[test, ["p", "ci_lower", "ci_upper"]]), rel=1e-12
        )
    # the headline quotes the plan's test only: its interval beside its own P
    sentence = headline_table(tables, family_name="genotype_endpoints")["sentence"].iloc[-1]
    assert f"unadjusted P = {flare['p']:.2g}, {flare['test']}" in sentence


# ---------------------------------------------------------------------------------------------
# Multiplicity over the plan's family


def _without_esr(seed: int = 4):
    measurements, groups, events = cohort_13_vs_5(seed, censor=False)
    return measurements[measurements["measure"] != "esr"], groups, events


def _crp_p(measurements, groups) -> float:
    return mann_whitney_enumeration_p(
        log_ratios(measurements, groups, POS, "crp", "baseline", "month3"),
        log_ratios(measurements, groups, NEG, "crp", "baseline", "month3"),
    )


def test_a_fixed_sequence_stops_at_an_end_point_it_cannot_test():
    cohort = _without_esr()
    sequence = (Endpoint("esr", ("baseline", "month3")), Endpoint("crp", ("baseline", "month3")),
                Endpoint("saa", ("baseline", "month3")))  # fmt: skip
    # the genotype question's family (issue 26: the default asks the study's question)
    plan = replace(default_plan(), primary=sequence, multiplicity="fixed_sequence",
                   question="genotype")  # fmt: skip
    result = run_comparison(*cohort, plan=plan)
    family = result.tables["genotype_endpoints"]
    assert list(family["endpoint"]) == [
        "ESR baseline->month3", "CRP baseline->month3", "SAA baseline->month3", "time to flare"
    ]  # fmt: skip
    crp = family.iloc[1]
    assert crp["p"] == pytest.approx(_crp_p(*cohort[:2]), rel=1e-9) and crp["p"] < ALPHA
    # by hand: the untested ESR is P = 1, and a fixed sequence's adjusted P is the running max
    raw = [1.0 if math.isnan(p) else p for p in family["p"]]
    expected = np.maximum.accumulate(raw)
    assert np.isnan(family["p_adjusted"].iloc[0])
    assert family["p_adjusted"].iloc[1:].to_numpy() == pytest.approx(expected[1:])
    assert not family["significant"].any()
    assert "no ESR values in the data" in family["note"].iloc[0]
    assert "stopped at ESR baseline->month3" in family["note"].iloc[1]
    summary = result.summary["primary_endpoints"]
    assert summary["family_size"] == 4
    assert summary["not_tested"] == [{"endpoint": "ESR baseline->month3",
        "reason": "no ESR values in the data; the fixed sequence stops here"}]  # fmt: skip
    tables = result.tables
    overall = overall_line(tables, ALPHA, plan.compared, "genotype_endpoints")
    assert overall.startswith(
        "None of the 4 primary between-group comparisons found a difference"
    )  # fmt: skip
    assert "1 of them could not be tested" in overall
    assert "Not tested: ESR baseline->month3 (no ESR values in the data" in methods_text(result)
    lines = dict(bottom_lines(tables, ALPHA, plan.compared, "genotype_endpoints"))
    crp_line = lines["CRP baseline->month3"]
    assert "differed" not in crp_line and "no difference between the groups" in crp_line


def test_holm_divides_by_the_plans_family_not_the_testable_part():
    cohort = _without_esr()
    # the default's 8 end points and time to flare, asked as the genotype question
    result = run_comparison(*cohort, plan=replace(default_plan(), question="genotype"))
    family = result.tables["genotype_endpoints"]
    assert len(family) == result.summary["primary_endpoints"]["family_size"] == 9
    untested = family["p"].isna().to_numpy()
    assert list(family.loc[untested, "endpoint"]) == ["ESR baseline->month3", "ESR month3->flare"]
    raw = np.where(untested, 1.0, family["p"].to_numpy(float))
    expected = multipletests(raw, method="holm")[1]
    assert family.loc[~untested, "p_adjusted"].to_numpy() == pytest.approx(expected[~untested])
    assert family.loc[untested, "p_adjusted"].isna().all()
    assert not family.loc[untested, "significant"].any()
    crp = family.set_index("endpoint").loc["CRP baseline->month3"]
    p = _crp_p(*cohort[:2])
    assert crp["p"] == pytest.approx(p, rel=1e-9) and p == raw.min()  # the smallest P
    assert crp["p_adjusted"] == pytest.approx(min(1.0, 9 * p))
    assert set(family["adjustment"]) == {"Holm over 9 test(s)"}


def test_multiplicity_none_never_calls_a_p_adjusted():
    cohort = cohort_13_vs_5()
    plan = replace(default_plan(), multiplicity="none")
    result = run_comparison(*cohort, plan=plan)
    tables = result.tables
    # both questions' words: the study's (primary under the default) and the genotype
    # comparison's (exploratory)
    families = ("study_endpoints", "genotype_endpoints")
    words = [
        *(s for f in families for s in headline_table(tables, family_name=f)["sentence"]),
        *(line for f in families for _, line in bottom_lines(tables, ALPHA, plan.compared, f)),
        *(overall_line(tables, ALPHA, plan.compared, f) for f in families),
    ]
    # the report's tables name their columns for reading: none says "adjusted" either
    from nlrp3annot.response.report.display import display_frame

    for name in families:
        frames = (headline_table(tables, family_name=name), tables[name])
        words += [str(c) for frame in frames for c in display_frame(frame).columns]
    # "not adjusted for multiplicity" (the exploratory rows) denies adjustment, as "unadjusted"
    claimed = [w for w in words
               if re.search(r"(?<!un)(?<!not )adjusted|after adjustment", w)]  # fmt: skip
    assert claimed == []
    family = tables["study_endpoints"]
    assert family["p_adjusted"].to_numpy() == pytest.approx(family["p"].to_numpy())
    assert any("no adjustment for multiplicity" in w for w in words)
