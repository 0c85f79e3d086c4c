"""Column names as a reader sees them in the report (``group1`` -> "Group A",
``difference_ci`` -> "95% CI of the difference"). Applied when a table is rendered, never
to the data: the TSV files keep their machine names, which scripts read.

A name not listed is made readable by rule: underscores become spaces, a trailing 1 or 2
means group A or B, and ``ci``, ``p``, ``hl``, ``n`` become CI, P, Hodges-Lehmann, n.
"""

from __future__ import annotations

import re

import pandas as pd

NAMES = {
    # who and what
    "patient_id": "Patient", "group": "Group", "group1": "Group A", "group2": "Group B",
    "status": "Genotype status", "samples": "Samples", "best_variant": "Variant",
    "hgvs_p_sample": "Protein change (the sample's)", "vaf": "Allele fraction (VAF)",
    "in_genotypes": "In the genotypes", "in_samples_sheet": "In the samples sheet",
    "in_clinical": "In the clinical table", "in_comparison": "Compared",
    "deciding_samples": "Samples that decided the status", "note": "Note", "reason": "Reason",
    "measure": "Measure", "change": "Change (from->to)", "visit": "Visit", "day": "Study day",
    "value": "Value", "unit": "Unit", "raw_value": "Value as given", "source": "Source",
    "censored": "Censored", "file": "File", "row": "Row", "analysis": "Analysis",
    "included": "Included", "role": "Role", "group_rule": "Group rule",
    # end points and tests
    "endpoint": "End point", "end_point": "End point", "scale": "Scale",
    "table": "From table", "estimate": "Estimate", "test": "Test", "method": "Method",
    "method_requested": "Method asked for", "p": "P", "p_adjusted": "P, adjusted",
    "p_unadjusted": "P, unadjusted", "adjustment": "Adjustment",
    "significant": "Significant after adjustment",
    "detectable_effect": "Detectable effect (80% power)",
    "p_permutation": "P, permutation (secondary)",
    "detectable_method": "How the detectable effect was found",
    "p_method": "Method of P", "statistic": "Test statistic",
    "test_statistic": "Test statistic", "u_statistic": "Mann-Whitney U",
    "ci_method": "Method of the CI", "ci_critical_u": "Critical U of the CI",
    "ci_coverage": "Exact coverage of the CI", "converged": "Converged",
    # effects
    "n": "Patients", "n1": "Patients (A)", "n2": "Patients (B)",
    "effect1": "Change in group A", "effect2": "Change in group B",
    "difference": "Difference between groups", "ratio": "Ratio (Hodges-Lehmann)",
    "ratio1": "Ratio (A, Hodges-Lehmann)", "ratio2": "Ratio (B, Hodges-Lehmann)",
    "median_ratio": "Median ratio", "hl_ratio_of_ratios": "Ratio of ratios (Hodges-Lehmann)",
    "hl_shift": "Shift (Hodges-Lehmann)", "hl_change": "Change (Hodges-Lehmann)",
    "median_diff": "Median change", "n_nonzero": "Non-zero changes",
    "hr": "Hazard ratio", "events": "Flares", "events1": "Flares (A)", "events2": "Flares (B)",
    "at_risk": "At risk", "survival": "Proportion without flare", "time": "Days",
    "median_reached": "Median reached", "q1": "Lower quartile", "q3": "Upper quartile",
    "n_censored": "Values at a detection limit", "n_below_limit": "Below a detection limit",
    "n_above_limit": "Above a detection limit", "n_nonpositive": "Values of 0 or less",
    "se": "Standard error", "outcome": "Outcome", "baseline": "Baseline visit",
    "followup": "Follow-up visit", "reference_visit": "Reference visit",
    "baseline_slope": "Slope on baseline", "n_patients": "Patients",
    "n_observations": "Observations", "n_assessed": "Assessed", "n_yes": "Yes",
    "question": "Question", "proportion": "Proportion", "responder": "Responder",
    "odds_ratio": "Odds ratio", "odds_ratio_method": "Method of the odds ratio",
    "definition": "Definition", "n_undetermined": "Undetermined", "median": "Median",
    "median_change": "Median change", "responders": "Responders",
}  # fmt: skip
TOKENS = {"ci": "CI", "p": "P", "hl": "Hodges-Lehmann", "n": "n", "se": "SE", "hr": "HR"}


def display_name(name: str, level: float = 0.95) -> str:
    """The reader's name of a column; ``level`` the confidence level of its intervals."""
    ci = f"{level:.0%} CI"
    special = {
        "difference_ci": f"{ci} of the difference", "ci_lower": f"{ci}, lower",
        "difference_ci_lower": f"{ci} of the difference, lower",
        "difference_ci_upper": f"{ci} of the difference, upper",
        "ci_upper": f"{ci}, upper", "hl_ci_lower": f"{ci}, lower", "hl_ci_upper": f"{ci}, upper",
        "median_ci_lower": f"Median, {ci} lower", "median_ci_upper": f"Median, {ci} upper",
    }  # fmt: skip
    if name in special:
        return special[name]
    if name in NAMES:
        return NAMES[name]
    return _by_rule(str(name))


def _by_rule(name: str) -> str:
    text = name.removesuffix("_text")
    shown = ", range if censored" if text != name else ""
    group = ""
    found = re.fullmatch(r"(.*?)([12])", text)
    if found:
        text, group = found.group(1), " (A)" if found.group(2) == "1" else " (B)"
    if text in NAMES:
        words = NAMES[text]
    else:
        words = " ".join(TOKENS.get(t, t) for t in text.split("_") if t)
        words = words[:1].upper() + words[1:]
    out = f"{words}{group}{shown}"
    return out if out != name else f"{out} (column)"


def display_frame(frame: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """A copy of ``frame`` with its columns renamed for reading (the data is untouched).
    Rows none of which is adjusted for multiplicity (the plan's multiplicity "none", or
    secondary end points) show no "adjusted" column: the P that decides is the P."""
    if "adjustment" in frame and frame["adjustment"].astype(str).str.startswith("unadjusted").all():
        frame = frame.drop(columns="p_adjusted", errors="ignore").rename(
            columns={"significant": "Significant at alpha (unadjusted)"}
        )
    shown = frame.rename(columns={c: display_name(str(c), level) for c in frame.columns})
    shown.columns.name = None  # a pivot's column name (group_rule) would be a header row
    return shown
