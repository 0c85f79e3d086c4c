"""Responders: a yes/no response per patient from a stated rule, compared between groups.

A responder (by default) has SAA and CRP strictly below 10 mg/L at month 3 and a diary
score at least 50% below its baseline. Each patient is a responder (True), not (False) or
undetermined (None): a missing visit or measure, or a value censored at a detection limit
that does not settle the comparison. Undetermined patients are counted, never guessed.

Between groups: the responder proportions, their difference with the Newcombe hybrid score
interval (Newcombe 1998, method 10; it describes the difference and inverts no test shown),
and one test with the interval that inverts it (issue 26, one test per row): the
conditional maximum-likelihood odds ratio with Fisher's exact conditional interval, beside
the P of the test that interval inverts, the central Fisher exact P (twice the smaller
one-sided P). The interval excludes an odds ratio of 1 exactly when that P < alpha; the
usual two-sided Fisher P (tables no more likely than the observed) can fall below alpha
while it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
from scipy import stats

RESPONDER_COLUMNS = ("patient_id", "group", "responder", "reason")
RESPONDER_COMPARISON_COLUMNS = (
    "group1", "group2", "responders1", "n1", "responders2", "n2", "proportion1",
    "proportion2", "difference", "difference_ci_lower", "difference_ci_upper",
    "difference_ci_method", "odds_ratio", "odds_ratio_method", "ci_lower", "ci_upper",
    "ci_method", "p", "p_method", "n_undetermined1", "n_undetermined2", "note",
)  # fmt: skip
UNITS = {"saa": "mg/L", "crp": "mg/L", "esr": "mm/h"}
DIFFERENCE_CI_METHOD = (
    "Newcombe hybrid score (method 10, from Wilson intervals); describes the difference, "
    "does not invert the P (the odds ratio's interval does)"
)
OR_METHOD = "conditional maximum-likelihood odds ratio (scipy.stats.contingency.odds_ratio)"
CI_METHOD = "Fisher's exact conditional interval for the odds ratio; inverts the P beside it"
P_METHOD = (
    "Fisher exact, central two-sided (twice the smaller one-sided P), the test the odds "
    "ratio's interval inverts"
)
# A diary fall of exactly the required fraction must count as met; without a little slack
# a product such as 0.7 * baseline can land one ulp on the wrong side.
RELATIVE_SLACK = 1e-12


@dataclass(frozen=True)
class ResponderRule:
    """Who counts as a responder: each measure in ``below`` strictly below its threshold at
    ``visit`` and (unless ``diary_fall`` is None) the diary score at ``visit`` at least that
    fraction below its value at ``baseline``."""

    baseline: str = "baseline"
    visit: str = "month3"
    below: dict[str, float] = field(default_factory=lambda: {"saa": 10.0, "crp": 10.0})
    diary_fall: float | None = 0.5

    def __post_init__(self) -> None:
        if not self.below and self.diary_fall is None:
            raise ValueError("a responder rule needs at least one criterion")
        for measure, threshold in self.below.items():
            if not math.isfinite(threshold):
                raise ValueError(f"threshold for {measure} must be finite, got {threshold}")
        if self.diary_fall is not None and not 0 < self.diary_fall <= 1:
            raise ValueError(f"diary_fall must be in (0, 1], got {self.diary_fall}")

    def describe(self) -> str:
        """The rule in plain English."""
        parts = []
        if self.below:
            by_threshold: dict[tuple[float, str], list[str]] = {}
            for measure, threshold in self.below.items():
                key = (threshold, UNITS.get(measure, ""))
                by_threshold.setdefault(key, []).append(measure.upper())
            clauses = [
                f"{_and(names)} below {_number(threshold)}{' ' + unit if unit else ''}"
                for (threshold, unit), names in by_threshold.items()
            ]
            parts.append(f"{_and(clauses)} at {self.visit}")
        if self.diary_fall is not None:
            parts.append(
                f"a diary score at least {_number(100 * self.diary_fall)}% below {self.baseline}"
            )
        return " and ".join(parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _number(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------------------------
# Per patient


def classify(
    frame: pd.DataFrame, labels: dict[str, str], rule: ResponderRule | None = None
) -> pd.DataFrame:
    """One row per labelled patient (sorted by id): patient_id, group, responder
    (True / False / None when undetermined) and reason (the failed criteria, the reasons it
    cannot be decided, or "all criteria met"). One definite failure makes a non-responder
    even when another criterion is undetermined."""
    rule = rule or ResponderRule()
    censored = frame["censored"].fillna("").astype(str).str.strip()
    data = frame.assign(censored=censored)
    # each patient's measured values by (measure, visit), read once (a registry has
    # thousands of patients: filtering the whole frame per patient and criterion is slow)
    cells: dict[str, Cells] = {}
    for record in data[data["value"].notna()].to_dict("records"):
        cells.setdefault(record["patient_id"], {}).setdefault(
            (record["measure"], record["visit"]), []
        ).append(record)
    rows = []
    for patient in sorted(labels):
        responder, reason = _classify_patient(cells.get(patient, {}), rule)
        rows.append((patient, labels[patient], responder, reason))
    return pd.DataFrame(rows, columns=list(RESPONDER_COLUMNS)).astype({"responder": object})


Cells = dict[tuple[str, str], list[dict]]


def _classify_patient(rows: Cells, rule: ResponderRule) -> tuple[bool | None, str]:
    if not rows:
        return None, "no measurements"
    failed, unknown = [], []
    for measure, threshold in rule.below.items():
        met, why = _below(rows, measure, rule.visit, threshold)
        if met is False:
            failed.append(why)
        elif met is None:
            unknown.append(why)
    if rule.diary_fall is not None:
        met, why = _diary_fell(rows, rule)
        if met is False:
            failed.append(why)
        elif met is None:
            unknown.append(why)
    if failed:
        return False, "; ".join(failed)
    if unknown:
        return None, "; ".join(unknown)
    return True, "all criteria met"


def _single(rows: Cells, measure: str, visit: str) -> tuple[dict | None, str]:
    """The one measured row for a measure at a visit, or None and why not."""
    hits = rows.get((measure, visit), [])
    if not hits:
        return None, f"no {measure} at {visit}"
    if len(hits) > 1:
        # Two values for one visit have no agreed choice between them: do not pick one.
        return None, f"{len(hits)} values of {measure} at {visit}"
    return hits[0], ""


def _below(rows: Cells, measure: str, visit: str, threshold: float) -> tuple[bool | None, str]:
    row, why = _single(rows, measure, visit)
    if row is None:
        return None, why
    value, sign = float(row["value"]), row["censored"]
    unit = UNITS.get(measure, "")
    shown = f"{measure.upper()} {sign}{_number(value)}{' ' + unit if unit else ''} at {visit}"
    if sign == "<":
        # True value < L <= threshold is strictly below; with L > threshold it may not be.
        if value <= threshold:
            return True, ""
        return None, f"{shown}: detection limit above the threshold {_number(threshold)}"
    if sign == ">":
        # True value > L >= threshold is not below; with L < threshold it may be either.
        if value >= threshold:
            return False, f"{shown}, not below {_number(threshold)}"
        return None, f"{shown}: lower bound below the threshold {_number(threshold)}"
    if value < threshold:
        return True, ""
    return False, f"{shown}, not below {_number(threshold)}"


def _diary_fell(rows: Cells, rule: ResponderRule) -> tuple[bool | None, str]:
    fall = float(rule.diary_fall)  # type: ignore[arg-type]
    before, why = _single(rows, "diary", rule.baseline)
    if before is None:
        return None, why
    after, why = _single(rows, "diary", rule.visit)
    if after is None:
        return None, why
    b, a = float(before["value"]), float(after["value"])
    if before["censored"] or b <= 0:
        # A censored or zero baseline leaves the size of the fall unknown or undefined.
        return None, f"diary at {rule.baseline} is {before['censored']}{_number(b)}"
    target = (1 - fall) * b * (1 + RELATIVE_SLACK)
    wanted = f"at least {_number(100 * fall)}% below {rule.baseline}"
    shown = f"diary {after['censored']}{_number(a)} at {rule.visit} vs {_number(b)}"
    if after["censored"] == "<":
        if a <= target:
            return True, ""
        return None, f"{shown}: detection limit too high to tell if {wanted}"
    if after["censored"] == ">":
        if a >= target:
            return False, f"{shown}, not {wanted}"
        return None, f"{shown}: lower bound too low to tell if {wanted}"
    if a <= target:
        return True, ""
    return False, f"{shown} (fell {_number(round(100 * (b - a) / b, 1))}%), not {wanted}"


# --------------------------------------------------------------------------------------------
# Between groups


def wilson_interval(count: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (NaN when n is 0)."""
    if n == 0:
        return math.nan, math.nan
    z = stats.norm.isf(alpha / 2)
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    count1: int, n1: int, count2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (1998, method 10): each side combines
    the distances from each proportion to the relevant end of its Wilson interval."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p1, p2 = count1 / n1, count2 / n2
    l1, u1 = wilson_interval(count1, n1, alpha)
    l2, u2 = wilson_interval(count2, n2, alpha)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def conditional_odds_ratio(
    count1: int, n1: int, count2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """(conditional MLE odds ratio, its exact conditional interval, the central Fisher P)
    for responders ``count1`` of ``n1`` against ``count2`` of ``n2``. The interval's ends
    are the odds ratios at which each one-sided Fisher P is alpha/2, so at odds ratio 1 it
    is the test whose P is twice the smaller one-sided P: one test, one interval."""
    table = [[count1, n1 - count1], [count2, n2 - count2]]
    result = stats.contingency.odds_ratio(table, kind="conditional")
    lower, upper = result.confidence_interval(confidence_level=1 - alpha)
    one_sided = (stats.fisher_exact(table, alternative=side).pvalue
                 for side in ("less", "greater"))  # fmt: skip
    p = min(1.0, 2 * min(one_sided))
    return float(result.statistic), float(lower), float(upper), float(p)


def compare_responders(
    per_patient: pd.DataFrame, compared: tuple[str, str], alpha: float = 0.05
) -> pd.DataFrame:
    """One row (RESPONDER_COMPARISON_COLUMNS) comparing the responder proportions of the two
    groups in ``compared`` (difference = group1 - group2); undetermined patients are left out
    of the proportions and tests and counted in n_undetermined1/2."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    group1, group2 = compared
    counts = [_counts(per_patient, group) for group in compared]
    (r1, n1, u1), (r2, n2, u2) = counts
    notes = []
    for group, (_, n, u) in zip(compared, counts, strict=True):
        if u:
            notes.append(f"{u} undetermined in {group} left out")
        if n == 0:
            notes.append(f"no classifiable patients in {group}")
    if n1 and n2:
        low_difference, high_difference = newcombe_interval(r1, n1, r2, n2, alpha)
        odds_ratio, lower, upper, p = conditional_odds_ratio(r1, n1, r2, n2, alpha)
        if r1 + r2 == 0 or r1 + r2 == n1 + n2:
            notes.append("all classified patients alike: odds ratio undefined")
        elif odds_ratio in (0.0, math.inf):
            notes.append("a zero cell: the odds ratio is 0 or infinite, its interval open")
    else:
        lower = upper = odds_ratio = p = low_difference = high_difference = math.nan
    proportion1 = r1 / n1 if n1 else math.nan
    proportion2 = r2 / n2 if n2 else math.nan
    row = {
        "group1": group1, "group2": group2, "responders1": r1, "n1": n1,
        "responders2": r2, "n2": n2, "proportion1": proportion1, "proportion2": proportion2,
        "difference": proportion1 - proportion2, "difference_ci_lower": low_difference,
        "difference_ci_upper": high_difference, "difference_ci_method": DIFFERENCE_CI_METHOD,
        "odds_ratio": odds_ratio, "odds_ratio_method": OR_METHOD,
        "ci_lower": lower, "ci_upper": upper, "ci_method": CI_METHOD,
        "p": p, "p_method": P_METHOD,
        "n_undetermined1": u1, "n_undetermined2": u2,
        "note": "; ".join(notes),
    }  # fmt: skip
    return pd.DataFrame([row], columns=list(RESPONDER_COMPARISON_COLUMNS))


def _counts(per_patient: pd.DataFrame, group: str) -> tuple[int, int, int]:
    """(responders, classified, undetermined) in a group."""
    values = per_patient.loc[per_patient["group"] == group, "responder"]
    known = [bool(v) for v in values if v is not None and not pd.isna(v)]
    return sum(known), len(known), len(values) - len(known)
