"""Responder classification on a hand-built frame (every branch of the rule), and the group
comparison against independent computations: the Newcombe interval from statsmodels, the
Fisher P values by enumerating hypergeometric tables with math.comb, and the conditional
odds ratio and its exact interval by root finding on the written-out noncentral
hypergeometric distribution."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from nlrp3annot.response.stats.responders import (
    RESPONDER_COLUMNS,
    RESPONDER_COMPARISON_COLUMNS,
    ResponderRule,
    classify,
    compare_responders,
)

COLUMNS = ["patient_id", "visit", "day", "measure", "value", "unit", "censored"]
UNIT = {"saa": "mg/L", "crp": "mg/L", "diary": "score"}


def _rows(patient: str, saa: str | None, crp: str | None, diary: tuple[str, str] | None):
    """Rows for one patient; a value may carry a "<" or ">" prefix; None leaves it out."""
    rows = []

    def add(visit: str, measure: str, text: str) -> None:
        sign = text[0] if text[0] in "<>" else ""
        day = 0 if visit == "baseline" else 90
        rows.append((patient, visit, day, measure, float(text.lstrip("<>")), UNIT[measure], sign))

    add("baseline", "saa", "150")
    add("baseline", "crp", "80")
    if saa is not None:
        add("month3", "saa", saa)
    if crp is not None:
        add("month3", "crp", crp)
    if diary is not None:
        add("baseline", "diary", diary[0])
        add("month3", "diary", diary[1])
    return rows


CASES = {
    # patient: (saa, crp, diary (baseline, month3), expected responder, reason fragment)
    "P01": ("3", "2", ("8", "2"), True, "all criteria met"),
    "P02": ("<5", "4", ("8", "4"), True, "all criteria met"),  # <5 counts as below 10; 50% fall
    "P03": ("<20", "4", ("8", "1"), None, "detection limit above the threshold 10"),
    "P04": ("12", "4", ("8", "1"), False, "SAA 12 mg/L at month3, not below 10"),
    "P05": ("10", "4", ("8", "1"), False, "not below 10"),  # strictly below
    "P06": ("3", "4", ("8", "5"), False, "not at least 50% below baseline"),
    "P07": ("3", None, ("8", "1"), None, "no crp at month3"),
    "P08": ("<20", "15", ("8", "1"), False, "CRP 15 mg/L"),  # a definite failure decides
    "P09": ("3", ">50", ("8", "1"), False, "CRP >50 mg/L at month3, not below 10"),
    "P10": ("3", ">5", ("8", "1"), None, "lower bound below the threshold 10"),
    "P11": ("3", "4", None, None, "no diary at baseline"),
}


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = [r for p, (s, c, d, _, _) in CASES.items() for r in _rows(p, s, c, d)]
    # P12 has only a baseline: every month3 criterion is missing.
    rows += [r for r in _rows("P12", None, None, None)]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_describe_states_the_rule() -> None:
    assert ResponderRule().describe() == (
        "SAA and CRP below 10 mg/L at month3 and a diary score at least 50% below baseline"
    )
    rule = ResponderRule(below={"crp": 5.0}, diary_fall=None, visit="month6")
    assert rule.describe() == "CRP below 5 mg/L at month6"


def test_classify_every_branch(frame: pd.DataFrame) -> None:
    labels = {p: ("pos" if i % 2 else "neg") for i, p in enumerate([*CASES, "P12", "P13"])}
    table = classify(frame, labels, ResponderRule())
    assert list(table.columns) == list(RESPONDER_COLUMNS)
    assert list(table["patient_id"]) == sorted(labels)
    got = table.set_index("patient_id")
    for patient, (*_, expected, fragment) in CASES.items():
        assert got.loc[patient, "responder"] is expected, patient
        assert fragment in got.loc[patient, "reason"], (patient, got.loc[patient, "reason"])
        assert got.loc[patient, "group"] == labels[patient]
    assert got.loc["P12", "responder"] is None
    assert "no saa at month3" in got.loc["P12", "reason"]
    assert got.loc["P13", "responder"] is None
    assert got.loc["P13", "reason"] == "no measurements"


def test_diary_criterion_can_be_switched_off(frame: pd.DataFrame) -> None:
    table = classify(frame, {"P06": "a", "P11": "a"}, ResponderRule(diary_fall=None))
    assert list(table["responder"]) == [True, True]


def _newcombe_statsmodels(r1: int, n1: int, r2: int, n2: int) -> tuple[float, float]:
    low, upp = confint_proportions_2indep(r1, n1, r2, n2, method="newcomb", compare="diff")
    return float(low), float(upp)


def _fisher_enumeration(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher P: the total probability of all tables with the observed margins
    no more likely than the observed one (with scipy's relative tolerance for ties)."""
    row1, col1, n = a + b, a + c, a + b + c + d
    total = math.comb(n, col1)

    def prob(x: int) -> float:
        return math.comb(row1, x) * math.comb(n - row1, col1 - x) / total

    observed = prob(a)
    support = range(max(0, col1 - (n - row1)), min(row1, col1) + 1)
    return sum(prob(x) for x in support if prob(x) <= observed * (1 + 1e-7))


def _hypergeometric(a: int, b: int, c: int, d: int, odds_ratio: float) -> dict[int, float]:
    """The conditional distribution of the top-left cell given the margins, at an odds
    ratio (Fisher's noncentral hypergeometric), written out."""
    row1, col1, n = a + b, a + c, a + b + c + d
    support = range(max(0, col1 - (n - row1)), min(row1, col1) + 1)
    # in logs: odds ratios far from 1 (while an interval end is searched) overflow a float
    logs = {x: math.log(math.comb(row1, x) * math.comb(n - row1, col1 - x))
            + x * math.log(odds_ratio) for x in support}  # fmt: skip
    top = max(logs.values())
    weights = {x: math.exp(v - top) for x, v in logs.items()}
    total = sum(weights.values())
    return {x: w / total for x, w in weights.items()}


def _central_fisher(a: int, b: int, c: int, d: int) -> float:
    """Twice the smaller one-sided Fisher P (the test the conditional interval inverts)."""
    probs = _hypergeometric(a, b, c, d, 1.0)
    less = sum(p for x, p in probs.items() if x <= a)
    greater = sum(p for x, p in probs.items() if x >= a)
    return min(1.0, 2 * min(less, greater))


def _conditional_interval(a: int, b: int, c: int, d: int, alpha: float = 0.05):
    """Fisher's exact conditional interval by root finding on the written-out
    distribution: the odds ratios where P(X >= a) and P(X <= a) are alpha/2 (Cornfield)."""
    from scipy.optimize import brentq

    probs = _hypergeometric(a, b, c, d, 1.0)
    low_end, high_end = min(probs), max(probs)

    def tail(odds_ratio: float, upper: bool) -> float:
        dist = _hypergeometric(a, b, c, d, odds_ratio)
        return sum(p for x, p in dist.items() if (x >= a if upper else x <= a))

    def end(upper: bool) -> float:
        root = brentq(lambda t: tail(math.exp(t), upper) - alpha / 2, -30, 30, xtol=1e-12)
        return math.exp(root)

    lower = 0.0 if a == low_end else end(True)
    upper = math.inf if a == high_end else end(False)
    return lower, upper


def _per_patient(r1: int, n1: int, r2: int, n2: int, u1: int = 0, u2: int = 0) -> pd.DataFrame:
    rows = []
    for group, r, n, u in (("pos", r1, n1, u1), ("neg", r2, n2, u2)):
        values = [True] * r + [False] * (n - r) + [None] * u
        rows += [(f"{group}{i}", group, v, "") for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=list(RESPONDER_COLUMNS)).astype({"responder": object})


@pytest.mark.parametrize(
    "r1, n1, r2, n2",
    [(7, 10, 2, 9), (0, 6, 3, 7), (5, 5, 1, 8), (0, 4, 0, 5), (6, 6, 7, 7), (3, 12, 9, 11),
     (1, 3, 2, 2), (15, 40, 22, 38)],
)  # fmt: skip
def test_comparison_matches_independent_computations(r1: int, n1: int, r2: int, n2: int) -> None:
    row = compare_responders(_per_patient(r1, n1, r2, n2, u1=1), ("pos", "neg")).iloc[0]
    assert (row["responders1"], row["n1"], row["responders2"], row["n2"]) == (r1, n1, r2, n2)
    assert row["difference"] == pytest.approx(r1 / n1 - r2 / n2)
    low, upp = _newcombe_statsmodels(r1, n1, r2, n2)
    assert row["difference_ci_lower"] == pytest.approx(low, abs=1e-10)
    assert row["difference_ci_upper"] == pytest.approx(upp, abs=1e-10)
    assert "does not invert the P" in row["difference_ci_method"]
    # one test per row (issue 26): the P beside the interval is the test it inverts, the
    # central Fisher P, and the interval is Fisher's exact conditional one for the odds ratio
    cells = (r1, n1 - r1, r2, n2 - r2)
    assert row["p"] == pytest.approx(_central_fisher(*cells), rel=1e-9)
    assert row["p"] >= _fisher_enumeration(*cells) * (1 - 1e-9)  # never below the usual P
    lower, upper = _conditional_interval(*cells)
    assert row["ci_lower"] == pytest.approx(lower, rel=1e-5, abs=1e-12)
    assert row["ci_upper"] == pytest.approx(upper, rel=1e-5)
    assert (row["ci_lower"] > 1 or row["ci_upper"] < 1) == (row["p"] < 0.05)
    assert (row["n_undetermined1"], row["n_undetermined2"]) == (1, 0)
    assert "1 undetermined in pos left out" in row["note"]


def test_comparison_columns_and_conditional_odds_ratio() -> None:
    """The odds ratio is the conditional MLE (the one its exact interval is built on): the
    odds ratio at which the conditional mean of the top-left cell is the observed 6."""
    from scipy.optimize import brentq

    table = compare_responders(_per_patient(6, 8, 2, 8), ("pos", "neg"))
    assert list(table.columns) == list(RESPONDER_COMPARISON_COLUMNS)

    def mean(t: float) -> float:
        return sum(x * p for x, p in _hypergeometric(6, 2, 2, 6, math.exp(t)).items())

    expected = math.exp(brentq(lambda t: mean(t) - 6, -20, 20, xtol=1e-12))
    assert table.iloc[0]["odds_ratio"] == pytest.approx(expected, rel=1e-6)
    assert table.iloc[0]["odds_ratio"] != pytest.approx((6 * 6) / (2 * 2))  # not the sample OR
    assert "conditional maximum-likelihood" in table.iloc[0]["odds_ratio_method"]
    assert "inverts the P" in table.iloc[0]["ci_method"]


def test_a_table_where_the_usual_fisher_p_and_the_interval_disagree() -> None:
    """The usual two-sided Fisher P (tables no more likely than the observed) can be below
    0.05 while twice the smaller tail, the test the conditional interval inverts, is not.
    On such a table (found here by enumeration) the row must show the central P, which
    agrees with its interval, not the usual one, which would contradict it."""
    found = None
    for r1, n1, r2, n2 in itertools.product(range(1, 9), range(2, 9), range(0, 9), range(2, 9)):
        if r1 > n1 or r2 > n2:
            continue
        cells = (r1, n1 - r1, r2, n2 - r2)
        if _fisher_enumeration(*cells) < 0.05 <= _central_fisher(*cells):
            found = (r1, n1, r2, n2)
            break
    assert found is not None
    row = compare_responders(_per_patient(*found), ("pos", "neg")).iloc[0]
    assert row["p"] >= 0.05 and row["ci_lower"] <= 1 <= row["ci_upper"]


def test_comparison_with_an_empty_group_gives_nan_and_a_note() -> None:
    row = compare_responders(_per_patient(3, 5, 0, 0, u2=2), ("pos", "neg")).iloc[0]
    assert math.isnan(row["p"]) and math.isnan(row["ci_lower"])
    assert "no classifiable patients in neg" in row["note"]
    assert row["n_undetermined2"] == 2


def test_durability_and_retreatment_are_described_from_the_visits():
    """A responds at month 3 and stays a responder at month 6, and responds again on
    retreatment (diary 9 -> 3 at the flare's baseline); B responds at month 3 only; C never
    responds and has no retreatment visit. Counted by hand from the rule."""
    from nlrp3annot.response.stats.secondary import durability

    rows = []

    def add(patient, visit, saa, crp, diary):
        for measure, value in (("saa", saa), ("crp", crp), ("diary", diary)):
            unit = "score" if measure == "diary" else "mg/L"
            rows.append((patient, visit, 0, measure, float(value), unit, ""))

    for visit, a, b, c in (
        ("baseline", (100, 50, 10), (100, 50, 10), (100, 50, 10)),
        ("month3", (5, 3, 2), (5, 3, 2), (50, 30, 8)),
        ("month6", (4, 2, 1), (40, 20, 6), (4, 2, 1)),
        ("flare", (80, 40, 9), (80, 40, 9), None),
        ("retreatment", (6, 4, 3), (60, 40, 8), None),
    ):
        add("A", visit, *a)
        add("B", visit, *b)
        if c:
            add("C", visit, *c)
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "day", "measure", "value",
                                        "unit", "censored"])  # fmt: skip
    table = durability(frame, {"A": "pos", "B": "pos", "C": "neg"}, ("pos", "neg"),
                       ResponderRule())  # fmt: skip
    got = {(r.question.split()[0], r.group): (r.n_yes, r.n_assessed) for r in
           table.itertuples(index=False)}  # fmt: skip
    assert got == {
        ("still", "pos"): (1, 2), ("still", "neg"): (0, 0),
        ("responded", "pos"): (1, 2), ("responded", "neg"): (0, 0),
    }  # fmt: skip
