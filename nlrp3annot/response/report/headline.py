"""The answer first: the plan's question answered at the top of the report, one row per
primary end point (and time to flare), from the primary family's table.

Per end point: each group's effect (SAA, CRP and ESR as the ratio to the earlier visit, "fell
to 5%"; the diary score as the median change), the between-group effect with its interval,
and two P values, each labelled: the unadjusted P of the test the interval inverts (so the
interval excludes no effect exactly when that P is below alpha), and the P **adjusted as the
plan says**, with the rule and the family size, which decides; the sentence says when the
two disagree.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from nlrp3annot.response.stats.inversion import Estimate
from nlrp3annot.response.stats.primary import EXPLORATORY, SUPPORTING, ci_shown

HEADLINE_COLUMNS = (
    "end_point", "group1", "effect1", "group2", "effect2", "difference", "difference_ci",
    "p_unadjusted", "test", "p_adjusted", "adjustment", "sentence",
)  # fmt: skip
NAMES = {"saa": "SAA", "crp": "CRP", "esr": "ESR", "diary": "the diary score"}
VISIT_WORDS = {"baseline": "baseline", "month3": "month 3", "flare": "flare"}
# said once above the sentences (report) and in the methods: what the between-group ratio is
RATIO_OF_RATIOS = (
    "The Hodges-Lehmann ratio of ratios is the median, over every pair of a {a} and a {b} "
    "patient, of the first's ratio (later / earlier) over the second's: not the quotient of "
    "the two groups' ratios."
)


def headline_table(
    tables: dict[str, pd.DataFrame], alpha: float = 0.05, family_name: str = "study_endpoints"
) -> pd.DataFrame:
    """One row and sentence per end point of ``family_name`` (the study's within-patient
    changes, the genotype comparison, or the secondary end points: every end point the plan
    names gets its sentence)."""
    family = tables.get(family_name, pd.DataFrame())
    rows = []
    for row in family.to_dict("records"):
        if row["table"] in ("within", "ratios_within"):
            rows.append(_within_row(row, alpha))
        elif row["scale"] == "hazard ratio":
            rows.append(_flare_row(row, tables, alpha))
        elif row["scale"] == "ratio":
            rows.append(_ratio_row(row, tables, alpha))
        else:
            rows.append(_change_row(row, tables, alpha))
    return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))


def percent(value: float) -> str:
    """A ratio as a percent for reading, as the first screen and the detail both say it."""
    shown = 100 * value
    return f"{shown:.0f}%" if shown >= 1 else f"{shown:.1g}%"


def fold(value: float) -> str:
    """A ratio of 2 or more as a fold for reading (8.8, not 8.83 here and 8.8 there)."""
    return f"{value:.2g}"


_percent = percent

# One rule for reading an estimate and its interval, in the first screen and in the detail
# alike: 3 significant digits, the tables' precision for the between-group and ratio texts
# (the diary's texts carry 4, re-read at 3 here). Each group's own effect ("5% of baseline")
# and the detectable effects keep the shorter words of percent() and fold().
READING_DIGITS = 3


def reading(value: float) -> str:
    return f"{value:.{READING_DIGITS}g}"


def signed_reading(value: float) -> str:
    """A change or an end of its interval, its sign always shown: "+2.33", "-3.95"."""
    return f"{value:+.{READING_DIGITS}g}"


def reading_percent(value: float) -> str:
    return f"{reading(100 * value)}%"


def estimate_bounds(text: str) -> tuple[float, float] | None:
    """(low, high) of an estimate as the tables write it: "-3.39", "0.0573 to 0.0602",
    "< 2", "> 3" (a value at a detection limit can leave an estimate a range); None when
    it has none."""
    text = str(text).strip()
    if not text or text in ("nan", "undetermined"):
        return None
    if text.startswith("<"):
        return -math.inf, float(text[1:])
    if text.startswith(">"):
        return float(text[1:]), math.inf
    parts = re.split(r"\s+to\s+", text)
    return float(parts[0]), float(parts[-1])


def reading_estimate(text: str, form=reading) -> str:
    """An estimate's table text re-read by the reading rule ("2.748" -> "2.75"): the
    number the first screen and the detail both quote."""
    bounds = estimate_bounds(text)
    return Estimate(*bounds).text(form) if bounds is not None else str(text)


def _ratio_words(low: float, high: float, earlier: str) -> str:
    """A group's ratio later / earlier: "5% of baseline", or from twice up "8.8 times its
    month 3 value" (not "880%")."""
    estimate = Estimate(low, high)
    if (low if math.isfinite(low) else high) >= 2:
        return f"{estimate.text(fold)} times its {earlier} value"
    return f"{estimate.text(_percent)} of {earlier}"


def _p(p: float) -> str:
    return "n/a" if not math.isfinite(p) else (f"{p:.2g}" if p >= 0.001 else f"{p:.1e}")


def _ci(lower: float, upper: float, form, ci_text: str = "") -> str:
    """The interval in words; an end the test rejects itself (open, marked in the tables'
    ``ci_text``) is said so: "below 0" is not "0 or below"."""
    if math.isnan(lower) or math.isnan(upper):
        return "no 95% CI (too few patients)"
    if not math.isfinite(upper):
        return f"above {form(lower)}"
    if lower in (0.0, -math.inf):
        return f"below {form(upper)}"
    return ci_shown(lower, upper, ci_text, form)


def _words(change: str) -> tuple[str, str]:
    earlier, later = change.split("->")
    return VISIT_WORDS.get(earlier, earlier), VISIT_WORDS.get(later, later)


def _group(name: str) -> str:
    return name.replace("_", "-")


def unadjusted(adjustment: str) -> bool:
    """No P of this row is adjusted (the plan's multiplicity rule is none, or a secondary
    end point), and no word may say it is."""
    return str(adjustment).startswith(("none", "unadjusted"))


def _adjusted(row: dict) -> str:
    outside = {
        "unadjusted (secondary)": "a secondary end point, not adjusted for multiplicity",
        EXPLORATORY: "exploratory (the plan's primary question is the study's), not adjusted "
        "for multiplicity",
        SUPPORTING: "supporting (the plan's primary question is the genotype comparison), "
        "not adjusted for multiplicity",
    }
    if row["adjustment"] in outside:
        return outside[row["adjustment"]]
    if not math.isfinite(row["p_adjusted"]):  # not tested: counted as not rejected
        return f"not tested ({row['note']})"
    if unadjusted(row["adjustment"]):  # the plan's multiplicity is none
        return "no adjustment for multiplicity (the plan's multiplicity is none)"
    return f"P = {_p(row['p_adjusted'])} adjusted ({row['adjustment']})"


def _interval(ci: str, p: float, test: str) -> str:
    """The interval with the P of the test it inverts, so a reader sees they agree."""
    return f"95% CI {ci}; unadjusted P = {_p(p)}, {test}"


def _cannot_exclude(row: dict, form, unit: str, alpha: float) -> str:
    lower, upper = row["ci_lower"], row["ci_upper"]
    if math.isnan(lower) or math.isnan(upper):
        return ""
    text = f" With {row['n1']} versus {row['n2']} patients, {unit} "
    if row["p"] >= alpha:
        return text + f"anywhere {_ci(lower, upper, form, row['ci_text'])} cannot be excluded."
    if row["p_adjusted"] > alpha:
        return (
            f" The interval excludes no effect (unadjusted P {_p(row['p'])}), but not after "
            f"adjustment for the {row['adjustment'].split(' over ')[-1]} of the primary family."
        )
    return ""


def _ratio_row(row: dict, tables: dict[str, pd.DataFrame], alpha: float) -> dict:
    earlier, later = _words(row["change"])
    name = NAMES.get(row["measure"], row["measure"])
    within = tables.get("ratios_within", pd.DataFrame())
    between = tables["ratios_between"]
    b = between[(between["measure"] == row["measure"]) & (between["change"] == row["change"])]
    group1, group2 = (b.iloc[0]["group1"], b.iloc[0]["group2"]) if len(b) else ("", "")

    def in_group(group: str) -> str:
        found = within[(within["measure"] == row["measure"]) & (within["change"] == row["change"])
                       & (within["group"] == group)]  # fmt: skip
        if found.empty or found.iloc[0]["n"] == 0:
            return "n/a"
        r = found.iloc[0]
        low = r["ratio_low"] if r["ratio_low"] > 0 else -math.inf  # a "<L": no lower bound
        return f"{_ratio_words(low, r['ratio_high'], earlier)} (n={r['n']})"

    effect1, effect2 = in_group(group1), in_group(group2)
    ci = _ci(row["ci_lower"], row["ci_upper"], reading, row["ci_text"])
    estimate = reading_estimate(row["estimate"])
    if row["estimate"]:
        sentence = (
            f"From {earlier} to {later}, {name} went to {effect1} in {_group(group1)} and to "
            f"{effect2} in {_group(group2)} (each group's Hodges-Lehmann estimate, not its "
            f"median); Hodges-Lehmann ratio of ratios {estimate} "
            f"({_interval(ci, row['p'], row['test'])}); {_adjusted(row)}."
        )
        sentence += _cannot_exclude(row, reading, "a ratio of ratios", alpha)
    else:
        sentence = f"From {earlier} to {later}, {name}: no comparison ({row['note']})."
    return _row(row, group1, effect1, group2, effect2, f"ratio of ratios {estimate}", ci,
                sentence)  # fmt: skip


def _change_row(row: dict, tables: dict[str, pd.DataFrame], alpha: float) -> dict:
    earlier, later = _words(row["change"])
    name = NAMES.get(row["measure"], row["measure"])
    between = tables["between"]
    b = between[(between["measure"] == row["measure"]) & (between["change"] == row["change"])]
    if b.empty:
        return _row(row, "", "n/a", "", "n/a", "n/a", "", f"{name}: no data.")
    r = b.iloc[0]
    effect1 = f"median change {r['median_change1_text']} (n={r['n1']})"
    effect2 = f"median change {r['median_change2_text']} (n={r['n2']})"
    ci = _ci(row["ci_lower"], row["ci_upper"], signed_reading, row["ci_text"])
    estimate = reading_estimate(row["estimate"])
    if row["estimate"]:
        sentence = (
            f"From {earlier} to {later}, the {effect1} in {_group(r['group1'])} and "
            f"{effect2} in {_group(r['group2'])}; difference (Hodges-Lehmann shift, "
            f"{_group(r['group1'])} minus {_group(r['group2'])}) {estimate} "
            f"({_interval(ci, row['p'], row['test'])}); {_adjusted(row)}."
        )
        sentence += _cannot_exclude(row, signed_reading, "a difference", alpha)
    else:
        sentence = f"From {earlier} to {later}, {name}: no comparison ({row['note']})."
    sentence = sentence.replace("the median change", f"median change in {name} was")
    return _row(row, r["group1"], effect1, r["group2"], effect2, f"shift {estimate}",
                ci, sentence)  # fmt: skip


def _flare_row(row: dict, tables: dict[str, pd.DataFrame], alpha: float) -> dict:
    km = tables.get("time_to_flare", pd.DataFrame())
    groups = list(km["group"]) if len(km) else ["", ""]

    def median(group: str) -> str:
        found = km[km["group"] == group]
        if found.empty or found.iloc[0]["n"] == 0:
            return "n/a"
        k = found.iloc[0]
        if not math.isfinite(k["median"]):
            return f"median not reached ({k['events']} flares in {k['n']})"
        ci = _ci(k["median_ci_lower"], k["median_ci_upper"], lambda v: f"{v:g}")
        ci = ci if "too few" not in ci else "upper limit not reached"
        return f"median {k['median']:g} days (95% CI {ci}; {k['events']} flares in {k['n']})"

    effect1, effect2 = median(groups[0]), median(groups[1])
    ci = _ci(row["ci_lower"], row["ci_upper"], lambda v: f"{v:.3g}")
    # the estimate, interval and P of the plan's one test (the other is a secondary row)
    sentence = (
        f"After withdrawal, time to flare: {effect1} in {_group(groups[0])}, {effect2} in "
        f"{_group(groups[1])}; hazard ratio {row['estimate'].removeprefix('HR ')} "
        f"({_interval(ci, row['p'], row['test'])}); {_adjusted(row)}."
        if row["estimate"]
        else f"After withdrawal, time to flare: no comparison ({row['note'] or 'no data'})."
    )
    return _row(row, groups[0], effect1, groups[1], effect2, row["estimate"] or "n/a", ci,
                sentence)  # fmt: skip


def _within_row(row: dict, alpha: float) -> dict:
    """A change within one group: all patients (the study's question) or a compared group
    the plan tests (``within_group = "tested"``)."""
    group, _, label = str(row["endpoint"]).partition(": ")
    group = group if group.startswith("all") else f"within {group}"
    ratio = row["scale"] == "ratio"
    ci = _ci(row["ci_lower"], row["ci_upper"], reading if ratio else signed_reading,
             row["ci_text"])  # fmt: skip
    what = "Hodges-Lehmann ratio" if ratio else "Hodges-Lehmann change"
    estimate = reading_estimate(row["estimate"])
    if row["estimate"]:
        sentence = (
            f"{_group(group).capitalize()}, {label}: {what} {estimate} "
            f"({_interval(ci, row['p'], row['test'])}); {_adjusted(row)}."
        )
    else:
        sentence = f"{_group(group).capitalize()}, {label}: no test ({row['note'] or 'no data'})."
    return _row(row, group, estimate or "n/a", "", "", estimate or "n/a", ci,
                sentence)  # fmt: skip


def _row(row, group1, effect1, group2, effect2, difference, ci, sentence) -> dict:
    return {
        "end_point": row["endpoint"], "group1": group1, "effect1": effect1, "group2": group2,
        "effect2": effect2, "difference": difference, "difference_ci": ci,
        "p_unadjusted": _p(row["p"]), "test": row["test"],
        "p_adjusted": _p(row["p_adjusted"]), "adjustment": row["adjustment"],
        "sentence": sentence,
    }  # fmt: skip
