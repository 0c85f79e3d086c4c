"""The answer first: one table at the top of the report, per measure and change, with the
effect in each group and the difference between the groups, each with its 95% CI and P
(labelled exact or asymptotic), and a sentence a clinician reads.

SAA, CRP and ESR are stated as ratios ("SAA fell to 5% of baseline"); the diary score as the
Hodges-Lehmann change. Where the CI of the between-group effect is wide, the sentence says
which differences the data cannot exclude.
"""

from __future__ import annotations

import math

import pandas as pd

from nlrp3annot.response.ratios import RATIO_MEASURES

HEADLINE_COLUMNS = (
    "measure", "change", "group1", "effect1", "group2", "effect2", "difference",
    "difference_ci", "p", "method", "sentence",
)  # fmt: skip
NAMES = {"saa": "SAA", "crp": "CRP", "esr": "ESR", "diary": "the diary score"}
VISIT_WORDS = {"baseline": "baseline", "month3": "month 3", "flare": "flare"}


def headline_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    ratios = tables.get("ratios_between", pd.DataFrame())
    within_ratios = tables.get("ratios_within", pd.DataFrame())
    for row in ratios.to_dict("records"):
        rows.append(_ratio_row(row, within_ratios))
    between = tables.get("between", pd.DataFrame())
    for row in between.to_dict("records"):
        if row["measure"] not in RATIO_MEASURES:
            rows.append(_change_row(row))
    return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))


def _percent(ratio: float) -> str:
    return "n/a" if not math.isfinite(ratio) else f"{100 * ratio:.0f}%"


def _ci(lower: float, upper: float, form) -> str:
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return "no 95% CI (too few patients)"
    return f"{form(lower)} to {form(upper)}"


def _p(p: float) -> str:
    return "n/a" if not math.isfinite(p) else (f"{p:.2g}" if p >= 0.001 else f"{p:.1e}")


def _words(change: str) -> tuple[str, str]:
    earlier, later = change.split("->")
    return VISIT_WORDS.get(earlier, earlier), VISIT_WORDS.get(later, later)


def _ratio_row(row: dict, within: pd.DataFrame) -> dict:
    earlier, later = _words(row["change"])
    name = NAMES.get(row["measure"], row["measure"])

    def in_group(group: str) -> str:
        found = within[(within["measure"] == row["measure"]) & (within["change"] == row["change"])
                       & (within["group"] == group)]  # fmt: skip
        if found.empty or not math.isfinite(found["ratio"].iloc[0]):
            return "n/a"
        r = found.iloc[0]
        return (
            f"{_percent(r['ratio'])} of {earlier} ({_ci(r['ci_lower'], r['ci_upper'], _percent)})"
        )

    effect1, effect2 = in_group(row["group1"]), in_group(row["group2"])
    ratio = row["ratio_of_ratios"]
    ci = _ci(row["ci_lower"], row["ci_upper"], lambda v: f"{v:.3g}")
    both = (row["ratio1"], row["ratio2"])
    verb = "went"
    if all(math.isfinite(v) and v < 1 for v in both):
        verb = "fell"
    elif all(math.isfinite(v) and v > 1 for v in both):
        verb = "rose"
    sentence = (
        f"From {earlier} to {later}, {name} {verb} to {_percent(row['ratio1'])} of its "
        f"{earlier} value in {_group(row['group1'])} (n={row['n1']}) and to "
        f"{_percent(row['ratio2'])} in {_group(row['group2'])} (n={row['n2']}); ratio of "
        f"ratios {ratio:.3g} ({ci}), P = {_p(row['p'])} ({row['method']})."
        if math.isfinite(ratio)
        else f"From {earlier} to {later}, {name}: no comparison ({row['note']})."
    )
    if math.isfinite(row["ci_lower"]) and row["ci_lower"] < 1 < row["ci_upper"]:
        sentence += (
            f" With {row['n1']} versus {row['n2']} patients, a ratio of ratios anywhere from "
            f"{row['ci_lower']:.3g} to {row['ci_upper']:.3g} cannot be excluded."
        )
    return {
        "measure": name, "change": f"{earlier} -> {later}", "group1": row["group1"],
        "effect1": effect1, "group2": row["group2"], "effect2": effect2,
        "difference": f"ratio of ratios {ratio:.3g}" if math.isfinite(ratio) else "n/a",
        "difference_ci": ci, "p": _p(row["p"]), "method": row["method"] or "",
        "sentence": sentence,
    }  # fmt: skip


def _change_row(row: dict) -> dict:
    earlier, later = _words(row["change"])
    name = NAMES.get(row["measure"], row["measure"])
    shift = row["hl_shift"]
    ci = _ci(row["ci_lower"], row["ci_upper"], lambda v: f"{v:+.3g}")
    sentence = (
        f"From {earlier} to {later}, the median change in {name} was "
        f"{row['median_change1']:+.3g} in {_group(row['group1'])} (n={row['n1']}) and "
        f"{row['median_change2']:+.3g} in {_group(row['group2'])} (n={row['n2']}); "
        f"difference (Hodges-Lehmann) {shift:+.3g} ({ci}), P = {_p(row['p'])} ({row['method']})."
        if math.isfinite(shift)
        else f"From {earlier} to {later}, {name}: no comparison ({row['note']})."
    )
    return {
        "measure": name, "change": f"{earlier} -> {later}", "group1": row["group1"],
        "effect1": f"median change {row['median_change1']:+.3g}", "group2": row["group2"],
        "effect2": f"median change {row['median_change2']:+.3g}",
        "difference": f"shift {shift:+.3g}" if math.isfinite(shift) else "n/a",
        "difference_ci": ci, "p": _p(row["p"]), "method": row["method"] or "", "sentence": sentence,
    }  # fmt: skip


def _group(name: str) -> str:
    return name.replace("_", "-")
