"""The report's first screen in plain words: one bottom line per primary end point, an
overall line over the primary family, and who counts as mutation-positive or -negative.

Every word follows the tables, not a template of hoped-for results:

- how each group did: the Hodges-Lehmann ratio (SAA, CRP, ESR: ``ratios_within``, the
  estimate of the group's own signed-rank test, named so, and the one the detail below
  quotes), the median change (diary score: ``between``), or flares and the median time to flare
  (``time_to_flare``); "improved" when it fell, "worsened" when it rose (lower is better for
  every measure the plan can name);
- the between-group answer, from the primary family (``primary_endpoints``):
  adjusted P below alpha -> the groups differed, in the direction the interval lies;
  otherwise "no difference ... was detected", and, when the unadjusted interval excludes
  no effect (unadjusted P below alpha), that it did so before adjustment; when the
  unadjusted P is not below alpha, the smallest effect the study could have detected
  (``detectable_effect``: 80% power at these group sizes) with the group sizes.
"""

from __future__ import annotations

import math

import pandas as pd

from nlrp3annot.response.report.headline import (
    NAMES,
    VISIT_WORDS,
    estimate_bounds,
    fold,
    percent,
    reading,
    reading_estimate,
    reading_percent,
    signed_reading,
    unadjusted,
)
from nlrp3annot.response.stats.primary import ci_shown

LOWER_IS_BETTER = {"saa", "crp", "esr", "diary"}
TITLES = {"saa": "SAA", "crp": "CRP", "esr": "ESR", "diary": "Diary score"}
UNITS = {"diary": "points"}
# a group's ratio: the estimate its signed-rank test has, named once beside the lines
HL_NOTE = (
    "Each group's SAA, CRP and ESR figure is its Hodges-Lehmann ratio (later / earlier "
    "visit), the estimate the answer in detail quotes; the diary score's is the median change."
)


def group_word(group: str) -> str:
    return str(group).replace("_", "-")


def adjustment_words(adjustment: str) -> str:
    """The family's adjustment in words: Holm over 9 test(s) -> Holm adjustment over 9
    tests."""
    rule, _, size = str(adjustment).partition(" over ")
    count = size.split(" ")[0]
    if "exploratory" in rule:
        return "exploratory, no adjustment for multiplicity"
    if "supporting" in rule:
        return "supporting, no adjustment for multiplicity"
    if rule.startswith(("none", "unadjusted")):
        return "no adjustment for multiplicity"
    tests = "test" if count == "1" else "tests"
    return f"{rule} adjustment over {count} {tests}" if count else str(adjustment)


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _bounds(value: float, text: str) -> tuple[float, float] | None:
    """(low, high) of an estimate: its number when it has one (not its 3-digit text: no
    rounding twice), else the range its text gives ("0.04 to 0.05", "< 2", "> 3": a value at
    a detection limit can leave an estimate a range); None when there is neither."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isfinite(number):
        return number, number
    return estimate_bounds(text)


def _percent(value: float) -> str:
    return percent(value)


def _shown(bounds: tuple[float, float], form, unit: str = "") -> str:
    """An estimate (low, high) in words; ``unit`` once at the end: 8.8 to 8.9-fold, not
    8.8-fold to 8.9-fold."""
    low, high = bounds
    if not math.isfinite(low):
        return f"below {form(high)}{unit}"
    if not math.isfinite(high):
        return f"above {form(low)}{unit}"
    if form(low) == form(high):
        return f"{form(low)}{unit}"
    return f"{form(low)} to {form(high)}{unit}"


def _direction(bounds: tuple[float, float] | None, null: float) -> int:
    """-1 fell, +1 rose, 0 no clear change (the median at the null, or a range across it)."""
    if bounds is None:
        return 0
    low, high = bounds
    return -1 if high < null else (1 if low > null else 0)


# --------------------------------------------------------------------------------------------
# How each group did: per compared group the median's (low, high), None without patients


def _ratio_medians(row: dict, tables: dict[str, pd.DataFrame], compared) -> dict:
    """Per group its Hodges-Lehmann ratio (low, high) from ``ratios_within``: the estimate
    of the signed-rank test on the log ratios, which "the answer in detail" quotes too (the
    median of the ratios is another number, 6% where this is 5%); a low end of 0 (a value
    below a limit) has no lower bound."""
    within = tables.get("ratios_within", pd.DataFrame())
    found: dict = dict.fromkeys(compared)
    if within.empty:
        return found
    for group in compared:
        mine = within[(within["measure"] == row["measure"]) & (within["change"] == row["change"])
                      & (within["group"] == group)]  # fmt: skip
        if len(mine) and mine.iloc[0]["n"] > 0:
            low, high = float(mine.iloc[0]["ratio_low"]), float(mine.iloc[0]["ratio_high"])
            if math.isnan(low) or math.isnan(high):
                continue
            found[group] = (low if low > 0 else -math.inf, high)
    return found


def _change_medians(row: dict, tables: dict[str, pd.DataFrame], compared) -> dict:
    between = tables.get("between", pd.DataFrame())
    found: dict = dict.fromkeys(compared)
    if between.empty:
        return found
    mine = between[(between["measure"] == row["measure"]) & (between["change"] == row["change"])]
    if len(mine):
        r = mine.iloc[0]
        for k, group in enumerate(compared, start=1):
            if r[f"n{k}"] > 0:
                found[group] = _bounds(r[f"median_change{k}"], r[f"median_change{k}_text"])
    return found


def _amount(bounds: tuple[float, float], direction: int, ratio: bool, earlier: str,
            unit: str, first: bool, estimate: bool = False) -> str:  # fmt: skip
    """A group's estimate in words (its name, Hodges-Lehmann, is said once: HL_NOTE):
    5% of baseline, 2.1-fold rise, median fall of 3.8 points (only the number, for
    the second group). ``estimate``: an estimate quoted with its interval (the study's
    question), by the reading rule of the detail (3 significant digits: 5.73% of baseline)."""
    fold_form = reading if estimate else fold
    if ratio and direction <= 0:
        shown = (
            _shown(bounds, _percent)
            if not estimate
            else (_shown((100 * bounds[0], 100 * bounds[1]), reading, "%"))
        )  # 5.73 to 6.02%
        return f"{shown} of {earlier}" if first else shown
    if ratio:
        shown = _shown(bounds, fold_form, "-fold")
        return f"{shown} rise" if first else shown
    if direction < 0:  # a fall, said as a positive number
        bounds = (-bounds[1], -bounds[0])
    plain, signed = (reading, signed_reading) if estimate else (
        (lambda v: f"{v:.2g}"), (lambda v: f"{v:+.2g}"))  # fmt: skip
    shown = _shown(bounds, plain if direction else signed)
    word = {-1: "fall", 1: "rise", 0: "change"}[direction]
    return f"median {word} of {shown} {unit}".rstrip() if first else shown


def _describe(found: dict, compared, measure: str, ratio: bool, earlier: str) -> str:
    """How the groups did: both groups improved (median 6% of baseline in A, 14% in B
    patients), or each group on its own when they went different ways."""
    missing = [group_word(g) for g in compared if found.get(g) is None]
    if missing:
        return f"no patient with both visits in {' or '.join(missing)}"
    null = 1.0 if ratio else 0.0
    directions = [_direction(found[g], null) for g in compared]
    better = measure in LOWER_IS_BETTER
    verbs = {-1: "improved" if better else "fell", 1: "worsened" if better else "rose",
             0: "changed little"}  # fmt: skip
    unit = UNITS.get(measure, "")
    (a, b), (da, db) = compared, directions
    if da == db:
        return (
            f"both groups {verbs[da]} ({_amount(found[a], da, ratio, earlier, unit, True)} in "
            f"{group_word(a)}, {_amount(found[b], db, ratio, earlier, unit, False)} in "
            f"{group_word(b)} patients)"
        )
    return (
        f"{group_word(a)} patients {verbs[da]} "
        f"({_amount(found[a], da, ratio, earlier, unit, True)}), {group_word(b)} patients "
        f"{verbs[db]} ({_amount(found[b], db, ratio, earlier, unit, True)})"
    )


def _flare_groups(tables: dict[str, pd.DataFrame], compared) -> str:
    km = tables.get("time_to_flare", pd.DataFrame())
    parts = []
    for group in compared:
        mine = km[km["group"] == group] if len(km) else km
        if mine.empty or mine.iloc[0]["n"] == 0:
            parts.append(f"no {group_word(group)} patient was followed after withdrawal")
            continue
        k = mine.iloc[0]
        median = float(k["median"])
        when = f"after a median {median:g} days" if math.isfinite(median) else (
            "median time not reached")  # fmt: skip
        parts.append(f"{int(k['events'])} of {int(k['n'])} {group_word(group)} patients "
                     f"flared ({when})")  # fmt: skip
    return " and ".join(parts)


# --------------------------------------------------------------------------------------------
# The between-group answer


def _detectable(row: dict) -> str:
    d = row["detectable_effect"]
    sizes = f"with {int(row['n1'])} and {int(row['n2'])} patients"
    if not isinstance(d, float) or not math.isfinite(d):
        if row.get("detectable_method"):  # its power was found, and no effect reached 80%
            why = (" (values below the detection limits leave too many patients unordered)"
                   if "Gehan" in str(row["detectable_method"]) else "")  # fmt: skip
            return f"{sizes}, no difference of any size reached 80% power with this test{why}"
        return f"{sizes}, too few to say what difference the study could detect"
    if row["scale"] == "ratio":
        effect = f"a difference under {d:.2g}-fold"
    elif row["scale"] == "hazard ratio":
        effect = f"a difference in the rate of flares under {d:.2g}-fold"
    else:
        effect = f"a difference under {d:.2g} {UNITS.get(row['measure'], '')}".rstrip()
    return f"{sizes}, the study could not reliably detect {effect}"


def _which_way(row: dict, compared, group_directions: tuple[int, int] | None) -> str:
    """The direction of a difference the adjusted P confirms, from its interval."""
    a, b = (group_word(g) for g in compared)
    null = 0.0 if row["scale"] == "change" else 1.0
    lower = float(row["ci_upper"]) < null  # the first group's effect is the lower one
    if row["scale"] == "hazard ratio":
        return f"{a if not lower else b} patients flared sooner than {b if not lower else a}"
    name = NAMES.get(row["measure"], row["measure"])
    if group_directions == (-1, -1):
        how = "fell further" if lower else "fell less"
    elif group_directions == (1, 1):
        how = "rose less" if lower else "rose more"
    else:
        how = "ended lower" if lower else "ended higher"
    return f"{name} {how} in {a} than in {b} patients"


def _deciding(row: dict) -> tuple[float, str]:
    """The P that decides a row and its name: adjusted in a family the plan adjusts, the
    P itself (never called adjusted) under multiplicity none or outside the primary family."""
    if unadjusted(row["adjustment"]):
        return float(row["p"]), "P"
    return float(row["p_adjusted"]), "adjusted P"


def _between(row: dict, alpha: float, compared, group_directions) -> str:
    p, (adjusted, named) = float(row["p"]), _deciding(row)
    if not row["estimate"] or not math.isfinite(p) or not math.isfinite(adjusted):
        return f"the groups were not compared ({row['note'] or 'no data'})"
    rule = adjustment_words(row["adjustment"])
    if adjusted < alpha:
        effect = "hazard ratio" if row["scale"] == "hazard ratio" else (
            "ratio of ratios" if row["scale"] == "ratio" else "difference")  # fmt: skip
        estimate = str(row["estimate"]).removeprefix("HR ")
        estimate = reading_estimate(estimate) if row["scale"] != "hazard ratio" else estimate
        ci = ci_shown(row["ci_lower"], row["ci_upper"], row["ci_text"], reading)
        return (
            f"the groups differed: {_which_way(row, compared, group_directions)} ({effect} "
            f"{estimate}, 95% CI {ci}; {named} = {_p(adjusted)}, {rule})"
        )
    text = f"no difference between the groups was detected ({named} = {_p(adjusted)}"
    if p < alpha:
        return (
            text + f", {rule}), though before adjustment the 95% CI excluded no difference "
            f"(unadjusted P = {_p(p)})"
        )
    return text + f"); {_detectable(row)}"


# --------------------------------------------------------------------------------------------
# The lines


def endpoint_title(row: dict) -> str:
    if row["scale"] == "hazard ratio":
        return "Time to flare after withdrawal"
    earlier, later = (VISIT_WORDS.get(v, v) for v in str(row["change"]).split("->"))
    return f"{TITLES.get(row['measure'], row['measure'])}, {earlier} to {later}"


def bottom_line(row: dict, tables: dict[str, pd.DataFrame], alpha: float, compared) -> str:
    """One sentence for one row of the study's or the genotype comparison's family."""
    if row["table"] in ("within", "ratios_within"):
        return study_line(row, alpha)
    directions = None
    if row["scale"] == "hazard ratio":
        groups = _flare_groups(tables, compared)
    else:
        earlier = VISIT_WORDS.get(str(row["change"]).split("->")[0], "the earlier visit")
        ratio = row["scale"] == "ratio"
        found = (_ratio_medians if ratio else _change_medians)(row, tables, compared)
        groups = _describe(found, compared, row["measure"], ratio, earlier)
        null = 1.0 if ratio else 0.0
        directions = tuple(_direction(found[g], null) for g in compared)
    return f"{endpoint_title(row)}: {groups}; {_between(row, alpha, compared, directions)}."


def study_line(row: dict, alpha: float) -> str:
    """The study's question for one end point: how all patients changed within themselves
    (the Hodges-Lehmann estimate of the signed-rank test, its interval inverting that test),
    and whether the test found a change, by the P the plan decides on."""
    title = f"{endpoint_title(row)}, all {int(row['n1'])} patients" if math.isfinite(
        float(row["n1"])) else endpoint_title(row)  # fmt: skip
    p, (deciding, named) = float(row["p"]), _deciding(row)
    if not row["estimate"] or not math.isfinite(p):
        return (
            f"{title}: not tested ({str(row['note']).removeprefix('not tested: ') or 'no data'})."
        )
    ratio = row["scale"] == "ratio"
    earlier = VISIT_WORDS.get(str(row["change"]).split("->")[0], "the earlier visit")
    bounds = _bounds(math.nan, row["estimate"])
    direction = _direction(bounds, 1.0 if ratio else 0.0)
    amount = _amount(bounds, direction, ratio, earlier, UNITS.get(row["measure"], ""), True,
                     estimate=True)  # fmt: skip
    what = "Hodges-Lehmann ratio" if ratio else "Hodges-Lehmann change"
    # the interval by the same reading rule as the estimate and the detail's sentence
    form = (lambda v: reading_percent(v) if v < 1 else f"{reading(v)}-fold") if ratio else (
        signed_reading)  # fmt: skip
    ci = ci_shown(row["ci_lower"], row["ci_upper"], row["ci_text"], form) or "no CI"
    rule = adjustment_words(row["adjustment"])
    verdict = (
        ("improved" if direction < 0 else "worsened")
        if deciding < alpha and direction
        else "no change was detected"
    )
    text = f"{title}: {verdict} ({amount.removeprefix('median ')}; {what}, 95% CI {ci}; "
    if named == "P":
        return text + f"P = {_p(p)}, {row['test']}; {rule})."
    return text + f"unadjusted P = {_p(p)}, {row['test']}; {named} = {_p(deciding)}, {rule})."


def bottom_lines(
    tables: dict[str, pd.DataFrame], alpha: float, compared, family_name: str
) -> list[tuple[str, str]]:
    """(end point label, sentence) per row of ``family_name`` (``study_endpoints``,
    ``genotype_endpoints``), in the plan's order."""
    family = tables.get(family_name, pd.DataFrame())
    return [
        (row["endpoint"], bottom_line(row, tables, alpha, compared))
        for row in family.to_dict("records")
    ]


def overall_line(tables: dict[str, pd.DataFrame], alpha: float, compared, family_name: str) -> str:
    """A family at a glance: how many of its comparisons found a difference (or, for the
    study's question, a within-patient change), said as the plan labels the family."""
    family = tables.get(family_name, pd.DataFrame())
    a, b = (group_word(g) for g in compared)
    study = family_name == "study_endpoints"
    role = str(family["role"].iloc[0]) if len(family) and "role" in family else "primary"
    kind = f"{role} within-patient comparisons (all patients)" if study else (
        f"{role} between-group comparisons")  # fmt: skip
    deciding = [_deciding(r)[0] for r in family.to_dict("records")]
    tested = family[[math.isfinite(d) for d in deciding]] if len(family) else family
    if tested.empty:
        where = "in all patients" if study else f"between {a} and {b} patients"
        return f"No {role} end point could be tested {where}."
    found = tested[[_deciding(r)[0] < alpha for r in tested.to_dict("records")]]
    rule = adjustment_words(tested.iloc[0]["adjustment"])
    adjusted = "" if unadjusted(tested.iloc[0]["adjustment"]) else "adjusted "
    total = len(family)
    untested = total - len(tested)
    if untested:
        rule += f"; {untested} of them could not be tested, counted as no difference"
    what = "a change" if study else "a difference between the groups"
    if found.empty:
        return (
            f"None of the {total} {kind} found {what} (every {adjusted}P {alpha:g} or more; "
            f"{rule})."
        )
    names = ", ".join(endpoint_title(r) for r in found.to_dict("records"))
    share = f"All {total}" if len(found) == total else f"{len(found)} of the {total}"
    return (
        f"{share} {kind} found {what} ({adjusted}P below {alpha:g}"
        f"{' each' if not adjusted else ''}; {rule})"
        + ("." if len(found) == total else f": {names}.")
    )


# --------------------------------------------------------------------------------------------
# Who is who

PATHOGENIC = "a pathogenic or likely pathogenic NLRP3 variant (ClinVar)"
STATUS_WORDS = {  # status: (on its own, after a germline status in the same group)
    "positive_germline": (f"{PATHOGENIC} in the germline",) * 2,
    "positive_mosaic": (
        f"{PATHOGENIC} as a mosaic (in some cells only)",
        "such a variant as a mosaic (in some cells only)",
    ),
    "vus_only": ("only a variant of uncertain significance (VUS)",) * 2,
    "negative": (
        "no pathogenic, likely pathogenic or uncertain variant in a genotyped NLRP3 locus",
    )
    * 2,  # fmt: skip
}
SET_APART = {
    "vus_only": "with only a VUS (not counted as negative)",
    "not_assessable": "not assessable (too little depth, doubtful calls, or negative only in "
    "tissues other than blood)",
}


def _group_definition(group: str, statuses: list[str], counts: dict, total: int) -> str:
    head = f"{group_word(group).capitalize()} ({total} patient{'s' * (total != 1)})"
    if len(statuses) == 1:
        return f"{head}: {STATUS_WORDS[statuses[0]][0]}."
    phrases = []
    for s in statuses:
        after_germline = "positive_germline" in statuses and s != "positive_germline"
        phrases.append(f"{counts.get((group, s), 0)} with {STATUS_WORDS[s][after_germline]}")
    return f"{head}: {', '.join(phrases)}."


def definitions_line(accounting: pd.DataFrame, rule: str, compared) -> str:
    """Who is in each compared group under the group rule, with counts from the patients'
    statuses; who is set apart (VUS, not assessable, no genotype) and how many."""
    from nlrp3annot.response.tables.cohort import GROUP_RULES

    mapping = GROUP_RULES.get(rule)
    if mapping is None or accounting.empty:
        return f"Groups as labelled in the data ({', '.join(group_word(g) for g in compared)})."
    counts = accounting.groupby(["group", "status"]).size().to_dict()
    parts = [
        _group_definition(
            group,
            [s for s in STATUS_WORDS if mapping.get(s) == group],
            counts,
            int((accounting["group"] == group).sum()),
        )
        for group in compared
    ]
    apart = [
        f"{int(((accounting['status'] == s) & ~accounting['group'].isin(compared)).sum())} {words}"
        for s, words in SET_APART.items()
        if mapping.get(s) not in compared
    ]
    others = accounting[~accounting["group"].isin([*compared, *map(mapping.get, SET_APART)])]
    if len(others):
        apart.append(f"{len(others)} without a genotype or group")
    text = " ".join(parts)
    if apart:
        text += f" Not compared: {', '.join(apart)}."
    return text + f" Group rule: {rule}."
