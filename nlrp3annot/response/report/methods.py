"""The methods paragraph, written from the plan that ran and the code paths the numbers
took (which tests were exact, where censoring made an estimate a range), so it cannot say
one thing while the tables did another."""

from __future__ import annotations

from typing import Any

from nlrp3annot.response.stats.comparison_data import ComparisonResult
from nlrp3annot.response.stats.power import power_methods

MULTIPLICITY_WORDS = {
    "holm": "adjusted together by Holm's step-down method over the plan's whole family",
    "fixed_sequence": (
        "tested in the plan's order at the full alpha, stopping at the first that was not "
        "significant or could not be tested (fixed sequence; the adjusted P of each is the "
        "largest P up to it)"
    ),
    "none": "not adjusted for multiplicity (the plan says none)",
}


def _count_methods(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("method"):
            counts[row["method"]] = counts.get(row["method"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none run"


def _censoring(s: dict[str, Any]) -> str:
    tied = s.get("censoring", {}).get("tied_at_highest_limit", {})
    text = (
        "Estimates (medians, Hodges-Lehmann estimates and ratios) were computed on the values "
        "as measured; a value reported below a detection limit L was taken as lying in "
        "[0, L) (above one, beyond it), and where such a value could move an estimate the "
        "estimate is reported as the range it takes over the values the limits allow (the "
        "estimators are monotone in every value), never as a substituted number. Between "
        "groups, where every change was measured the test is Mann-Whitney's; where a "
        "censored value entered a change, each change was taken as the interval its bounds "
        "allow and compared by Gehan's generalised Wilcoxon test (a pair is ordered only when "
        "the intervals do not overlap; exact permutation distribution of Mantel's scores up "
        f"to 50 patients per group; {s.get('censoring', {}).get('gehan_rows', 0)} rows). "
    )
    if tied:
        shown = ", ".join(f"{m} (<{v:g})" for m, v in tied.items())
        text += (
            f"Within groups, for {shown} (several limits, or a limit above measured values) "
            f"every value below the highest limit was treated as tied at it in the signed-rank "
            f"test, so no order is invented. "
        )
    return text


FLARE_TEST_WORDS = {
    "firth_lr": (
        "Cox regression with Firth's penalised partial likelihood (finite when one group has "
        "all the flares; Breslow ties), its interval the profile penalised likelihood one and "
        "its P the penalised likelihood-ratio test's"
    ),
    "logrank": (
        "the log-rank test (asymptotic chi-square, 1 df){permutation}, its interval the "
        "hazard ratios the log-rank score test does not reject (tie-corrected hypergeometric "
        "variance) around the Cox estimate (Breslow ties)"
    ),
}


def _flare_tests(chosen: str, first: str, second: str, permutation: str) -> str:
    """The plan's test of time to flare, then the other one, labelled secondary: each row
    carries one test's estimate, interval and P, so the interval inverts the P beside it."""
    other = next(t for t in FLARE_TEST_WORDS if t != chosen)
    words = {t: w.format(permutation=permutation) for t, w in FLARE_TEST_WORDS.items()}
    return (
        f"The hazard ratio of time to flare, {first} / {second}, by the plan's test: "
        f"{words[chosen]}; and, as a secondary test shown beside it and labelled so, "
        f"{words[other]}. "
    )


def _question(plan: dict[str, Any]) -> str:
    """Which question the plan makes primary, and how the other is labelled."""
    if plan.get("question", "study") == "study":
        return (
            "the study's (NEJM 2006): each primary end point's within-patient change in all "
            "patients, by the Wilcoxon signed-rank test; the comparison between the groups is "
            "exploratory (each P unadjusted, not part of the primary family)"
        )
    return (
        "the genotype comparison, pre-specified by the plan; the within-patient changes in "
        "all patients are supporting results (each P unadjusted)"
    )


def _untested(family: dict[str, Any], rule: str) -> str:
    """Which of the plan's end points could not be tested, why, and how the rule took it."""
    missing = family.get("not_tested") or []
    if not missing:
        return ""
    listed = "; ".join(f"{m['endpoint']} ({m['reason']})" for m in missing)
    counted = {
        "holm": "each counts as not rejected (P = 1) in the Holm family",
        "fixed_sequence": "each counts as not rejected: the fixed sequence stops at the "
        "first of them, and nothing after it is significant",
        "none": "they have no P",
    }[rule]
    return f"Not tested: {listed}; {counted}. "


def _power_methods(s: dict[str, Any]) -> str:
    """How the detectable effects were found, for the family the report's power lines are
    about: the primary family's, or (the study's within-patient tests have none) the
    genotype comparison's, named as such rather than as the primary end points."""
    family = s["primary_endpoints"]
    about = family.get("power_family", family.get("table"))
    if about == family.get("table"):
        return power_methods(family["endpoints"])
    other = s.get(about, {})
    text = power_methods(other.get("endpoints", []))
    if not text:
        return ""
    label = (
        f"the genotype comparison ({other.get('role', '')}; the study's within-patient tests "
        "have no detectable effect computed)"
    )
    said = "each primary end point"
    return text.replace(said, f"each end point of {label}") if said in text else (
        f"For {label}: {text}")  # fmt: skip


def methods_text(result: ComparisonResult, group_rule: str | None = None) -> str:
    """A plain-English methods paragraph of what run_comparison did. ``group_rule``: the rule
    that derived the groups from genotype status (None: the groups came with the data)."""
    s = result.summary
    first, second = s["compared"]
    plan = s["plan"]
    level = 1 - s["alpha"]
    soft = s["software"]
    family = s["primary_endpoints"]
    if group_rule is None:
        grouping = (
            f"Patients were compared by the group labels supplied with the data ({first} "
            f"versus {second}); patients without a label were excluded and counted. "
        )
    else:
        grouping = (
            f"Patients were compared as {first} versus {second}, the groups derived from each "
            f"patient's genotype status by the '{group_rule}' rule; patients in neither group "
            f"were excluded and counted. "
        )
    grouping += (
        "The group 'all' holds every patient with any group label (VUS, not assessable, no "
        "genotype group, or either compared group) and is descriptive. "
    )
    primary = ", ".join(plan["primary_family"])
    within = (
        "descriptive (their P values are nominal, unadjusted, and not part of any "
        "confirmatory claim)"
        if plan["within_group"] == "descriptive"
        else "tested at alpha, unadjusted and outside the primary family"
    )
    ps = s.get("time_to_flare", {}).get("logrank", {})
    permutation = (
        " (valid when the groups are censored differently; the exact permutation P over "
        "all assignments of the patients to groups of the observed sizes is a secondary "
        "column of the log-rank table, exact only when both groups are censored alike, and "
        "no interval inverts it, so it is not the P of any row with an interval)"
        if ps.get("p_permutation") is not None
        else ""
    )
    coverages = [
        f"{r['measure']} {r['change']} {r['ci_coverage']:.4f}"
        for r in s["between"]
        if r["ci_coverage"] is not None
    ]
    coverage_text = (
        f" For untied changes the exact coverage of that interval is known: {', '.join(coverages)}."
        if coverages
        else ""
    )
    return (
        grouping
        + f"The analysis followed the plan '{plan['title']}' ({plan['source']}). Its question "
        f"is {_question(plan)}. Its primary family: {primary}; {family['family_size']} tests, "
        f"{MULTIPLICITY_WORDS[plan['multiplicity']]} "
        f"at alpha {s['alpha']:g}. "
        + _untested(family, plan["multiplicity"])
        + "SAA, CRP and ESR were compared on the log scale (per "
        "patient the ratio of the later to the earlier value), the diary score as the change. "
        "Secondary end points, when named, were tested at alpha and are labelled unadjusted. "
        + _censoring(s)
        + f"Between groups the effect is the Hodges-Lehmann estimate (for a change, the median "
        f"of all pairwise differences {first} minus {second}; for a ratio, the ratio of "
        f"ratios: the median over every pair of a {first} and a {second} patient of the first's "
        f"ratio over the second's, not the quotient of the groups' ratios), and its {level:.0%} "
        f"confidence interval is the set of shifts the same test does not reject at "
        f"{s['alpha']:g} (test inversion), so an interval excludes no effect exactly when that "
        f"test's unadjusted P is below {s['alpha']:g} (tests used: "
        f"{_count_methods(s['between'] + s['ratios_between'])}).{coverage_text} "
        f"Changes within a group are {within}: Wilcoxon signed-rank test with zero "
        f"differences dropped, exact up to 50 non-zero differences (the permutation "
        f"distribution of the signed midranks), else the normal approximation with tie and "
        f"continuity correction ({_count_methods(s['within'])}); the Hodges-Lehmann change "
        f"(median of Walsh averages) with the interval inverting that same test, zeros "
        f"dropped as the test drops them. "
        f"Time from anakinra withdrawal to flare: Kaplan-Meier estimates with patients "
        f"without a flare censored at the end of follow-up, {level:.0%} pointwise confidence "
        f"bands by the log(-log) transform (lifelines' exponential Greenwood formula), "
        f"medians and their limits the first time the curve or band is at or below one half. "
        + _flare_tests(plan.get("flare_test", "firth_lr"), first, second, permutation)
        + f"Secondary analyses using every visit: a linear mixed model (maximum likelihood) "
        f"of log SAA, CRP and ESR and of the diary score on visit, group and their "
        f"interaction with a random intercept per patient, over the on-treatment visits; and "
        f"an ANCOVA of the log month-3 value on the log baseline value and group. Values "
        f"below (above) a detection limit enter both as censored observations of the normal "
        f"model (a Tobit-type likelihood, maximised with scipy; in the ANCOVA a censored "
        f"baseline is integrated over a normal baseline per group), never as a substituted "
        f"number. Their intervals and P values use Student's t: the mixed model with the "
        f"between-patient df (patients - 2), the ANCOVA with the residual df (n - 3) and the "
        f"ML standard error scaled by sqrt(n / (n - 3)); the df are in the tables. "
        f"Responders ({s.get('responder_definition', 'as the plan')}) "
        f"were compared by the conditional maximum-likelihood odds ratio with Fisher's exact "
        f"conditional interval and the P it inverts (central Fisher exact: twice the smaller "
        f"one-sided P); the difference in proportions is described by Newcombe's hybrid score "
        f"interval. "
        + _power_methods(s)
        + f" Analyses used Python {soft['python']}, numpy {soft['numpy']}, "
        f"pandas {soft['pandas']}, scipy {soft['scipy']}, statsmodels {soft['statsmodels']} "
        f"and lifelines {soft['lifelines']}."
    )
