"""The plan's primary family: which tests answer the study's question, their P adjusted as
the plan says, and the smallest effect each could have detected.

Scale: SAA, CRP and ESR fall by orders of magnitude, so they are compared as ratios (the
Hodges-Lehmann ratio of ratios of later / earlier, table ``ratios_between``); the diary score
as the change (the Hodges-Lehmann shift, table ``between``). Time to flare, when the plan
makes it primary, enters with the P of the plan's ``flare_test`` (Firth's penalised
likelihood-ratio test or the log-rank test), beside the interval that inverts it.
Within-group changes never enter the family: they say how a group did, not whether
genotype matters. Each row's detectable effect (80% power) comes from the power of the
row's own test, with how it was found in ``detectable_method``
(:mod:`nlrp3annot.response.stats.power`).

Multiplicity (the plan's ``multiplicity``), over the plan's whole family: an end point that
could not be tested counts as not rejected (P = 1), it is not dropped from the family:
- ``holm``: Holm's step-down over the family (statsmodels ``multipletests``);
- ``fixed_sequence``: each test at full alpha in the plan's order, stopping at the first
  that is not significant or not tested; the adjusted P of the k-th is the largest P of
  the first k;
- ``none``: each at alpha, the adjusted P is the P.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from nlrp3annot.response.plan import AnalysisPlan, Endpoint
from nlrp3annot.response.stats.power import (
    METHOD_WORDS,
    detectable_hazard_ratio,
    detectable_shift,
)
from nlrp3annot.response.stats.power_censored import AssayPattern
from nlrp3annot.response.stats.ratios import RATIO_MEASURES

PRIMARY_COLUMNS = (
    "endpoint", "measure", "change", "scale", "table", "n1", "n2", "estimate", "ci_lower",
    "ci_upper", "ci_text", "p", "test", "p_adjusted", "adjustment", "significant",
    "detectable_effect", "detectable_method", "role", "note",
)  # fmt: skip
# How the question the plan did not make primary is labelled (its P unadjusted)
EXPLORATORY = "unadjusted (exploratory: the plan's primary question is the study's)"
SUPPORTING = "unadjusted (supporting: the plan's primary question is the genotype comparison)"
RULE_NAMES = {
    "holm": "Holm",
    "fixed_sequence": "fixed sequence",
    "none": "unadjusted (the plan's multiplicity is none)",
}


def scale_of(measure: str) -> str:
    return "ratio" if measure in RATIO_MEASURES else "change"


def family_table(
    plan: AnalysisPlan,
    tables: dict[str, pd.DataFrame],
    values: dict[tuple[str, str, str], np.ndarray],
    patterns: dict[tuple[str, str], AssayPattern] | None = None,
    times: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The genotype comparison: one row per between-group test of the primary end points
    (and time to flare when primary), in the plan's order. Adjusted as the plan says when
    its ``question`` is "genotype"; otherwise exploratory, each P unadjusted and said so.
    ``values``: per (measure, change, group) the per-patient log ratios or changes (for the
    detectable effect); ``patterns``: per (measure, change) how the values were censored
    (for the power of Gehan's test); ``times``: per patient duration, event and group (for
    the power of the flare test)."""
    rows = [endpoint_row(e, plan, tables, values, patterns) for e in plan.primary]
    if plan.time_to_flare == "primary":
        rows.append(flare_row(plan, tables, times=times))
    frame = pd.DataFrame(rows, columns=list(PRIMARY_COLUMNS))
    if plan.question == "genotype":
        return adjust(frame, plan.multiplicity, plan.alpha).assign(role="primary")
    return unadjusted_family(frame, plan.alpha, EXPLORATORY).assign(role="exploratory")


def study_table(plan: AnalysisPlan, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The study's question (NEJM 2006): each primary end point's within-patient change in
    all patients, by the signed-rank test of the changes (the log ratios for SAA, CRP and
    ESR) with its Hodges-Lehmann estimate and the interval inverting it. Adjusted as the plan
    says when its ``question`` is "study"; otherwise supporting, unadjusted and said so."""
    from nlrp3annot.response.plan import ALL_PATIENTS
    from nlrp3annot.response.stats.comparison_data import ALL

    rows = [within_row(e, ALL, tables, f"{ALL_PATIENTS}: {e.label}") for e in plan.primary]
    frame = pd.DataFrame(rows, columns=list(PRIMARY_COLUMNS))
    if plan.question == "study":
        return adjust(frame, plan.multiplicity, plan.alpha).assign(role="primary")
    return unadjusted_family(frame, plan.alpha, SUPPORTING).assign(role="supporting")


def unadjusted_family(frame: pd.DataFrame, alpha: float, adjustment: str) -> pd.DataFrame:
    """Rows outside the primary family: each at alpha, the P as it is, labelled so."""
    frame = frame.copy()
    p = frame["p"].to_numpy(float)
    frame["p_adjusted"] = math.nan  # no adjusted P: nothing here is adjusted
    frame["adjustment"] = adjustment
    frame["significant"] = [bool(v < alpha) if math.isfinite(v) else None for v in p]
    notes = [str(n) if isinstance(n, str) else "" for n in frame["note"]]
    frame["note"] = [
        n if math.isfinite(v) or n.startswith("not tested") else f"not tested: {n or 'no P'}"
        for n, v in zip(notes, p, strict=True)
    ]
    return frame


def within_row(
    endpoint: Endpoint, group: str, tables: dict[str, pd.DataFrame], label: str = ""
) -> dict[str, Any]:
    """An end point's change within one group (``all``: every patient): the signed-rank P
    (of the log ratios for the markers), its Hodges-Lehmann estimate and the interval
    inverting that test, open ends kept (``ci_text``)."""
    change = f"{endpoint.change[0]}->{endpoint.change[1]}"
    ratio = scale_of(endpoint.measure) == "ratio"
    name = "ratios_within" if ratio else "within"
    table = tables[name]
    found = table[(table["measure"] == endpoint.measure) & (table["change"] == change)
                  & (table["group"] == group)]  # fmt: skip
    row = _blank_row(endpoint=label or f"within {group}: {endpoint.label}",
                     measure=endpoint.measure, change=change, scale=scale_of(endpoint.measure),
                     table=name)  # fmt: skip
    if found.empty or int(found.iloc[0]["n"]) == 0:
        row["note"] = _not_compared(endpoint, tables)
        return row
    r = found.iloc[0]
    ci = ("ci_lower", "ci_upper", "ci_text") if ratio else ("hl_ci_lower", "hl_ci_upper",
                                                              "hl_ci_text")  # fmt: skip
    note = r["note"] if isinstance(r["note"], str) else ""
    if not math.isfinite(r["p"]) and not note:
        note = "too few patients for a test"
    row.update(n1=int(r["n"]), n2=0, p=r["p"], ci_lower=r[ci[0]], ci_upper=r[ci[1]],
               ci_text=r[ci[2]] if isinstance(r[ci[2]], str) else "",
               estimate=r["ratio_text"] if ratio else r["hl_change_text"], note=note,
               test=f"Wilcoxon signed-rank, {r['method']}" if r["method"] else "")  # fmt: skip
    return row


def adjust(frame: pd.DataFrame, rule: str, alpha: float) -> pd.DataFrame:
    """The family's P adjusted by ``rule`` over every row of ``frame`` (the plan's family,
    in its order), not only the rows that could be tested: an end point without a P (no
    data, too few patients) counts as not rejected, P = 1. So Holm divides alpha over the
    plan's family size, and a fixed sequence stops at the first end point it cannot reject,
    tested or not: nothing after it is significant. The untested rows keep no adjusted P
    and say why in ``note``."""
    frame = frame.copy()
    p = frame["p"].to_numpy(float)
    testable = np.isfinite(p)
    as_family = np.where(testable, p, 1.0)  # not tested = not rejected
    size = len(frame)
    if rule == "holm" and size:
        adjusted = multipletests(as_family, method="holm")[1]
    elif rule == "fixed_sequence":
        adjusted = np.maximum.accumulate(as_family) if size else as_family
    else:
        adjusted = p.copy()
    adjusted = np.where(testable, adjusted, math.nan)
    notes = [str(n) if isinstance(n, str) else "" for n in frame["note"]]
    for i in np.flatnonzero(~testable):
        why = notes[i] or "no P"
        counted = {"holm": "; counted as P = 1 in the Holm family",
                   "fixed_sequence": "; the fixed sequence stops here"}.get(rule, "")  # fmt: skip
        notes[i] = f"not tested: {why}{counted}"
    if rule == "fixed_sequence":
        stops = np.flatnonzero(as_family >= alpha)
        if stops.size:
            stop = frame["endpoint"].iloc[stops[0]]
            for i in range(stops[0] + 1, size):
                after = f"after the fixed sequence stopped at {stop}: not significant"
                notes[i] = f"{notes[i]}; {after}" if notes[i] else after
    frame["p_adjusted"] = adjusted
    frame["adjustment"] = (
        f"{RULE_NAMES[rule]} over {size} test(s)" if rule != "none" else RULE_NAMES[rule]
    )
    frame["significant"] = [bool(a < alpha) if t else False
                            for a, t in zip(adjusted, testable, strict=True)]  # fmt: skip
    frame["note"] = notes
    return frame


def not_tested(family: pd.DataFrame) -> list[dict[str, str]]:
    """The family's end points without a P, each with why (for the summary and report)."""
    return [
        {"endpoint": r["endpoint"], "reason": str(r["note"]).removeprefix("not tested: ")}
        for r in family.to_dict("records")
        if not math.isfinite(float(r["p"]))
    ]


def endpoint_row(
    endpoint: Endpoint,
    plan: AnalysisPlan,
    tables: dict[str, pd.DataFrame],
    values: dict[tuple[str, str, str], np.ndarray],
    patterns: dict[tuple[str, str], AssayPattern] | None = None,
) -> dict[str, Any]:
    change = f"{endpoint.change[0]}->{endpoint.change[1]}"
    scale = scale_of(endpoint.measure)
    name = "ratios_between" if scale == "ratio" else "between"
    table = tables[name]
    found = table[(table["measure"] == endpoint.measure) & (table["change"] == change)]
    row = _blank_row(endpoint=endpoint.label, measure=endpoint.measure, change=change,
                     scale=scale, table=name, detectable_method="")  # fmt: skip
    if found.empty:
        row["note"] = _not_compared(endpoint, tables)
        return row
    r = found.iloc[0]
    estimate = r["hl_ratio_of_ratios_text"] if scale == "ratio" else r["hl_shift_text"]
    note = r["note"] or ("" if math.isfinite(r["p"]) else "too few patients for a test")
    row.update(n1=int(r["n1"]), n2=int(r["n2"]), estimate=estimate, ci_lower=r["ci_lower"],
               ci_upper=r["ci_upper"], p=r["p"], test=_test_name(r["method"]), note=note,
               ci_text=r["ci_text"] if isinstance(r["ci_text"], str) else "")  # fmt: skip
    x = values.get((endpoint.measure, change, plan.compared[0]), np.array([]))
    y = values.get((endpoint.measure, change, plan.compared[1]), np.array([]))
    gehan = str(r["method"] or "").startswith("Gehan")
    pattern = (patterns or {}).get((endpoint.measure, change))
    row["detectable_effect"], row["detectable_method"] = detectable_shift(
        x, y, plan.alpha, scale, gehan, pattern
    )
    return row


def flare_row(
    plan: AnalysisPlan,
    tables: dict[str, pd.DataFrame],
    own: bool = True,
    times: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Time to flare by the plan's ``flare_test`` (``own``) or by the other test (a
    secondary row, labelled so): the estimate, interval and P of one test, the interval
    inverting that P (table ``hazard_ratio``), and the hazard ratio that test detects with
    80% power at the follow-up of ``times`` (per patient duration, event, group)."""
    from nlrp3annot.response.plan import FLARE_TEST_NAMES, FLARE_TESTS, TIME_TO_FLARE_LABEL

    test = plan.flare_test if own else next(t for t in FLARE_TESTS if t != plan.flare_test)
    secondary = f"{TIME_TO_FLARE_LABEL}, secondary test: {FLARE_TEST_NAMES[test]}"
    label = TIME_TO_FLARE_LABEL if own else secondary
    row = _blank_row(endpoint=label, measure="", change="withdrawal->flare",
                     scale="hazard ratio", table="hazard_ratio", test=FLARE_TEST_NAMES[test],
                     detectable_method="")  # fmt: skip
    hazard = tables["hazard_ratio"]
    h = hazard[hazard["test"] == test].iloc[0]
    logrank = tables["logrank"].iloc[0]
    notes = [str(n) for n in (h["note"], logrank["note"]) if isinstance(n, str) and n]
    if math.isfinite(h["p"]):
        estimate = f"HR {h['hr']:.3g}" if math.isfinite(h["hr"]) else "HR not finite"
        row.update(estimate=estimate, ci_lower=h["ci_lower"], ci_upper=h["ci_upper"], p=h["p"])
    row.update(n1=int(h["n1"]), n2=int(h["n2"]), note="; ".join(dict.fromkeys(notes)))
    if times is not None:
        parts = [times[times["group"] == g] for g in plan.compared]
        row["detectable_effect"], row["detectable_method"] = detectable_hazard_ratio(
            tuple(p["duration"].to_numpy(float) for p in parts),
            tuple(p["event"].to_numpy(bool) for p in parts),
            plan.alpha,
            test,
        )
    return row


def open_ends(ci_text: str) -> tuple[bool, bool]:
    """(lower open, upper open) of an interval as the tables write it (``Interval.text``:
    "> -1 to 0", "-1 to <0"): an open end is one the test rejects itself."""
    text = str(ci_text) if isinstance(ci_text, str) else ""
    return text.startswith(">"), " to <" in text


def ci_shown(lower: float, upper: float, ci_text: str, form) -> str:
    """The interval for reading, ends formatted by ``form`` and open ends marked as the
    tables mark them ("-1 to <0": 0 itself is rejected); "" when an end is missing."""
    if math.isnan(lower) or math.isnan(upper):
        return ""
    low_open, high_open = open_ends(ci_text)
    low = f"> {form(lower)}" if low_open and math.isfinite(lower) else form(lower)
    high = f"<{form(upper)}" if high_open and math.isfinite(upper) else form(upper)
    return f"{low} to {high}"


def _blank_row(**fields: Any) -> dict[str, Any]:
    """A family row before its test: every column NaN, its texts empty, then ``fields``."""
    row: dict[str, Any] = dict.fromkeys(PRIMARY_COLUMNS, math.nan)
    row.update(estimate="", test="", note="", ci_text="", role="")
    row.update(fields)
    return row


def _not_compared(endpoint, tables: dict[str, pd.DataFrame]) -> str:
    """Why an end point has no row in its table: no values of the measure at all, or no
    patient with both visits."""
    present = set(tables["descriptives"]["measure"]) if "descriptives" in tables else set()
    shown = endpoint.label.split(" ")[0]
    if endpoint.measure not in present:
        return f"no {shown} values in the data"
    return f"no patient has {shown} at both {endpoint.change[0]} and {endpoint.change[1]}"


def _test_name(method: str | None) -> str:
    if not method:
        return ""
    if method.startswith("Gehan"):
        return f"Gehan (changes as intervals), {method.split()[-1]}"
    return f"Mann-Whitney, {method}"


# --------------------------------------------------------------------------------------------
# The smallest effect the study could detect


# Why the study's question has no power lines, and which family the report's lines are about
NO_WITHIN_POWER = (
    "The plan's primary question, the study's, is answered by within-patient signed-rank "
    "tests in all patients, for which no detectable effect is computed (detectable effects "
    "are computed for the between-group tests only); the detectable effects listed are the "
    "genotype comparison's, which is {role}."
)


def power_summary(question: str, study: pd.DataFrame, genotype: pd.DataFrame,
                  alpha: float) -> dict[str, dict]:  # fmt: skip
    """The power lines of each family (``study_endpoints``, ``genotype_endpoints``), each
    labelled with its role, and those of the plan's primary family (``primary_endpoints``).
    The study's within-patient tests have none: then the primary family says so and names
    the family the lines are about (``power_family``), rather than passing the genotype
    comparison's lines off as the primary family's."""
    families = {"study_endpoints": study, "genotype_endpoints": genotype}
    lines = {}
    for name, frame in families.items():
        role = str(frame["role"].iloc[0]) if len(frame) else ""
        label = f"{'genotype comparison' if name == 'genotype_endpoints' else 'study'}, {role}"
        lines[name] = power_sentences(frame, alpha, label)
    primary = f"{question}_endpoints"
    other = next(name for name in families if name != primary)
    out = {name: {"power": found} for name, found in lines.items()}
    out["primary_endpoints"] = {"power": lines[primary], "power_family": primary}
    if not lines[primary] and question == "study" and lines[other]:
        role = str(genotype["role"].iloc[0])
        out["primary_endpoints"] |= {"power_family": other,
                                     "power_note": NO_WITHIN_POWER.format(role=role)}  # fmt: skip
    return out


def power_sentences(family: pd.DataFrame, alpha: float, label: str = "") -> list[str]:
    """One sentence per end point of ``family``: the smallest effect detectable with 80%
    power, and how it was found; ``label`` (the family and its role) after the end point.
    Rounded away from no effect (an effect said to be detectable is never rounded below the
    one that has 80% power)."""
    out = []
    for row in family.itertuples(index=False):
        d = row.detectable_effect
        sizes = f"{row.n1} versus {row.n2} patients"
        how = METHOD_WORDS.get(row.detectable_method, "")
        named = f"{row.endpoint} ({label})" if label else row.endpoint
        if not isinstance(d, float) or not math.isfinite(d):
            if how:  # simulated, and no effect reached 80%
                out.append(f"{named}: with {sizes}, no effect reached 80% power "
                           f"(two-sided alpha {alpha:g}, before multiplicity; {how}).")  # fmt: skip
            continue
        if row.scale == "ratio":
            effect = f"a ratio of ratios below {_round(1 / d, 2, up=False):g} or above "
            effect += f"{_round(d, 2):g}"
        elif row.scale == "hazard ratio":
            effect = f"a hazard ratio below {_round(1 / d, 2, up=False):g} or above "
            effect += f"{_round(d, 2):g}"
        else:
            effect = f"a difference in change of more than {_round(d, 3):g} either way"
        out.append(
            f"{named}: with {sizes}, the study had 80% power (two-sided alpha {alpha:g}, "
            f"before multiplicity) to detect only {effect}" + (f" ({how})." if how else ".")
        )
    return out


def _round(value: float, digits: int, up: bool = True) -> float:
    """``value`` to ``digits`` significant digits, rounded up (or down)."""
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    rounded = (math.ceil if up else math.floor)(round(value / step, 9)) * step
    return float(f"{rounded:.{digits}g}")
