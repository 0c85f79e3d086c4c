"""The plan's other questions, beside the primary family: the secondary end points (each
at alpha, unadjusted and labelled so), time to flare as a hazard ratio, every visit used
(mixed model, ANCOVA), and responders. Frames in, frames out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd

from nlrp3annot.response.plan import AnalysisPlan
from nlrp3annot.response.stats.primary import PRIMARY_COLUMNS, endpoint_row, scale_of

HAZARD_COLUMNS = (
    "test", "role", "group1", "group2", "n1", "n2", "events1", "events2", "hr", "ci_lower",
    "ci_upper", "p", "method", "converged", "note",
)  # fmt: skip


def hazard_table(
    times: pd.DataFrame, compared: tuple[str, str], alpha: float, flare_test: str = "firth_lr"
) -> pd.DataFrame:
    """Time to flare as a hazard ratio (group 1 against group 2), one row per test, each
    interval inverting its own row's P (:mod:`nlrp3annot.response.stats.hazard`):
    ``firth_lr``, Cox with Firth's penalised likelihood, its profile-likelihood interval
    and penalised LR P; ``logrank``, the asymptotic log-rank P with the interval of the
    hazard ratios its score test does not reject. The plan's ``flare_test`` comes first
    (role "plan"), the other after it (role "secondary")."""
    from nlrp3annot.response.stats.hazard import cox_firth, logrank_interval

    parts = [times[times["group"] == g] for g in compared]
    both = pd.concat(parts)
    durations = both["duration"].to_numpy(float)
    events = both["event"].to_numpy(bool)
    group = np.r_[np.ones(len(parts[0])), np.zeros(len(parts[1]))]
    fits = {"firth_lr": cox_firth, "logrank": logrank_interval}
    rows = []
    for test in sorted(fits, key=lambda t: t != flare_test):
        fit = fits[test](durations, events, group, alpha)
        rows.append({
            "test": test, "role": "plan" if test == flare_test else "secondary",
            "group1": compared[0], "group2": compared[1],
            "n1": len(parts[0]), "n2": len(parts[1]),
            "events1": int(parts[0]["event"].sum()), "events2": int(parts[1]["event"].sum()),
        } | {k: asdict(fit)[k] for k in ("hr", "ci_lower", "ci_upper", "p", "method",
                                          "converged", "note")})  # fmt: skip
    return pd.DataFrame(rows, columns=list(HAZARD_COLUMNS))


def patient_values(
    ranked: pd.DataFrame,
    labels: dict[str, str],
    compared: tuple[str, str],
    changes: Sequence[tuple[str, str]],
) -> dict[tuple[str, str, str], np.ndarray]:
    """Per (measure, change, group) the per-patient values an end point compares (log
    ratios for the markers, changes for the diary), for the detectable-effect sentences."""
    from nlrp3annot.response.stats.comparison_data import _members
    from nlrp3annot.response.stats.rank_tests import paired_changes
    from nlrp3annot.response.stats.ratios import log_ratios

    out = {}
    for measure in sorted(ranked["measure"].unique()):
        for earlier, later in changes:
            for group in compared:
                patients = _members(labels, group)
                if scale_of(measure) == "ratio":
                    values = log_ratios(ranked, measure, earlier, later, patients)[0]
                else:
                    values = paired_changes(ranked, measure, earlier, later, patients)
                out[(measure, f"{earlier}->{later}", group)] = values.to_numpy(float)
    return out


def secondary_table(
    plan: AnalysisPlan, tables: dict[str, pd.DataFrame], times: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The secondary end points, asked as the plan's ``question`` asks the primary ones
    (within-patient change in all patients, or between the groups), time to flare when the
    plan makes it secondary, time to flare by the test the plan did not name, and the
    compared groups' own changes when the plan tests them: each at the plan's alpha,
    unadjusted, and said so."""
    from nlrp3annot.response.plan import ALL_PATIENTS
    from nlrp3annot.response.stats.comparison_data import ALL
    from nlrp3annot.response.stats.primary import flare_row, within_row

    if plan.question == "study":
        rows = [within_row(e, ALL, tables, f"{ALL_PATIENTS}: {e.label}") for e in plan.secondary]
    else:
        rows = [endpoint_row(e, plan, tables, {}) for e in plan.secondary]
    if plan.time_to_flare == "secondary":
        rows.append(flare_row(plan, tables, times=times))
    if plan.time_to_flare != "none":  # the test the plan did not name, labelled secondary
        rows.append(flare_row(plan, tables, own=False, times=times))
    if plan.within_group == "tested":
        rows += [within_row(e, g, tables) for e in plan.primary for g in plan.compared]
    frame = pd.DataFrame(rows, columns=list(PRIMARY_COLUMNS))
    frame["p_adjusted"] = math.nan
    frame["adjustment"] = "unadjusted (secondary)"
    frame["role"] = "secondary"
    frame["significant"] = [bool(p < plan.alpha) if math.isfinite(p) else None
                            for p in frame["p"].to_numpy(float)]  # fmt: skip
    return frame


def secondary_analyses(
    frame: pd.DataFrame, labels: dict[str, str], plan: AnalysisPlan, visits: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """The mixed model over every visit, the ANCOVA of month 3 on baseline, and the
    responders by the plan's rule, per patient and compared."""
    from nlrp3annot.response.stats.models import ancova, mixed_model
    from nlrp3annot.response.stats.responders import classify, compare_responders

    compared = plan.compared
    # the flare visit is off treatment: the on-treatment course is baseline, month 3, ...
    on_treatment = [v for v in visits if v != plan.visits.flare]
    rule = plan.responder
    per_patient = classify(frame, labels, rule)
    return {
        "durability": durability(frame, labels, compared, rule),
        "mixed_model": mixed_model(frame, labels, compared, on_treatment, alpha=plan.alpha),
        "ancova": ancova(
            frame, labels, compared, plan.visits.baseline, plan.visits.followup, alpha=plan.alpha
        ),  # fmt: skip
        "responders": per_patient,
        "responder_comparison": compare_responders(per_patient, compared, plan.alpha).assign(
            definition=rule.describe()
        ),
    }


DURABILITY_COLUMNS = ("question", "group", "n_assessed", "n_yes", "proportion", "note")


def durability(
    frame: pd.DataFrame, labels: dict[str, str], compared: tuple[str, str], rule
) -> pd.DataFrame:
    """Described when the table has the visits (no test): of the month-3 responders, how
    many still met the rule at month 6 ("remained low"); and after the flare, how many
    responded again on retreatment (the rule at the retreatment visit, the diary fall
    counted from the flare)."""
    from dataclasses import replace

    from nlrp3annot.response.stats.responders import classify

    visits = set(frame["visit"])
    rows = []
    questions = []
    if "month6" in visits:
        questions.append(("still a responder at month6 (of the month-3 responders)",
                          replace(rule, visit="month6"), True))  # fmt: skip
    if "retreatment" in visits and "flare" in visits:
        questions.append(("responded again on retreatment after the flare",
                          replace(rule, baseline="flare", visit="retreatment"), False))  # fmt: skip
    if not questions:
        return pd.DataFrame(columns=list(DURABILITY_COLUMNS))
    at_month3 = classify(frame, labels, rule).set_index("patient_id")["responder"]
    for question, later_rule, of_responders in questions:
        later = classify(frame, labels, later_rule).set_index("patient_id")
        for group in compared:
            patients = [p for p, g in labels.items() if g == group]
            if of_responders:
                patients = [p for p in patients if at_month3.get(p) is True]
            known = [p for p in patients if later["responder"].get(p) is not None]
            yes = sum(bool(later["responder"][p]) for p in known)
            rows.append({
                "question": question, "group": group, "n_assessed": len(known), "n_yes": yes,
                "proportion": yes / len(known) if known else math.nan,
                "note": f"{len(patients) - len(known)} without the visit's values"
                if len(patients) > len(known) else "",
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(DURABILITY_COLUMNS))
