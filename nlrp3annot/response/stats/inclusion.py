"""Who is in each analysis and who is not, and why (``tables/inclusion.tsv``).

One row per patient and analysis: each measure's change between two visits (the within-
and between-group tests and the ratios use the same pairs), and time to flare. A patient of
a compared group is included when both visits have a value (and, for time to flare, when a
withdrawal day and a flare or end of follow-up are known); anyone else is listed with the
reason, so that a reader can account for every patient the counts leave out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

INCLUSION_COLUMNS = ("patient_id", "group", "analysis", "included", "reason")


def inclusion_table(
    frame: pd.DataFrame,
    labels: dict[str, str],
    compared: Sequence[str],
    changes: Sequence[tuple[str, str]],
    times: pd.DataFrame,
    flare_excluded: Sequence[str],
    status_reasons: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``status_reasons``: per patient, why its samples gave its status; named where the
    status keeps the patient out of the compared groups (a negative from buccal cells only
    is not assessable, and the reader should see why)."""
    why = status_reasons or {}
    patients = sorted(set(labels) | set(frame["patient_id"]))
    rows = []
    for measure in sorted(frame["measure"].unique()):
        data = frame[frame["measure"] == measure]
        present = set(zip(data["patient_id"], data["visit"], strict=True))
        for earlier, later in changes:
            analysis = f"{measure} {earlier}->{later}"
            for patient in patients:
                group = labels.get(patient, "")
                reason = _reason(
                    patient, group, compared, present, earlier, later, why.get(patient)
                )
                rows.append((patient, group, analysis, not reason, reason))
    timed = set(times["patient_id"]) if "patient_id" in times.columns else set()
    left_out = set(flare_excluded)
    for patient in patients:
        group = labels.get(patient, "")
        if group not in compared:
            reason = _not_compared(group, why.get(patient))
        elif patient in timed:
            reason = ""
        elif patient in left_out:
            reason = "withdrawal, flare or follow-up days missing or inconsistent (see warnings)"
        else:
            reason = "no withdrawal recorded"
        rows.append((patient, group, "time to flare", not reason, reason))
    return pd.DataFrame(rows, columns=list(INCLUSION_COLUMNS))


def _reason(patient, group, compared, present, earlier: str, later: str, why=None) -> str:
    if group not in compared:
        return _not_compared(group, why)
    missing = [v for v in (earlier, later) if (patient, v) not in present]
    return f"no {' and no '.join(missing)} value" if missing else ""


def _not_compared(group: str, why: str | None = None) -> str:
    if not group:
        return "no group label"
    because = f" ({why})" if why else ""
    return f"group {group}{because}: reported, not in the two-group comparison"
