"""Time to flare after withdrawal: Kaplan-Meier per group and the log-rank test."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test

from nlrp3annot.response.stats.comparison_data import (
    EVENT_COLUMNS,
    SURVIVAL_COLUMNS,
    _ids,
    _require_columns,
)

# --------------------------------------------------------------------------------------------
# Time to flare


MEDIAN_TOLERANCE = 1e-9
PERMUTATION_MAX_SPLITS = 200_000  # all splits of the patients into the two groups' sizes
# The reported log-rank P is the asymptotic one: it stays valid when the groups are censored
# differently (e.g. mutation-negative patients followed for a shorter time), where the
# permutation P is not exact (permuting labels permutes the censoring times with them, so
# it tests equal survival *and* equal censoring). The permutation P is kept, secondary.
LOGRANK_METHOD = (
    "asymptotic log-rank (chi-square, 1 df; valid under unequal censoring); "
    "p_permutation is secondary, exact only when both groups are censored alike"
)


def logrank_chi2(durations: np.ndarray, events: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The log-rank chi-square (1 df) for each row of ``first`` (boolean, n per row: who is
    in the first group), all at once: at each event time, observed minus expected events
    of the first group and the hypergeometric variance, summed over times."""
    first = np.atleast_2d(first)
    o_minus_e = np.zeros(first.shape[0])
    variance = np.zeros(first.shape[0])
    for t in np.unique(durations[events]):
        at_risk = durations >= t
        died = (durations == t) & events
        n, d = at_risk.sum(), died.sum()
        n1 = (first & at_risk).sum(axis=1)
        d1 = (first & died).sum(axis=1)
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, o_minus_e**2 / variance, 0.0)


def logrank_permutation_p(durations: np.ndarray, events: np.ndarray, n1: int) -> float:
    """Exact permutation P of the log-rank test: the share of all C(n, n1) assignments of
    the patients to groups of the observed sizes whose chi-square is at least the observed
    one (NaN when there are more than PERMUTATION_MAX_SPLITS). Exact only when both groups
    share one censoring distribution (the labels are permuted with the censoring times), so
    it is a secondary column, never the reported P."""
    import itertools

    n = durations.size
    if math.comb(n, n1) > PERMUTATION_MAX_SPLITS:
        return math.nan
    splits = np.zeros((math.comb(n, n1), n), dtype=bool)
    for row, chosen in enumerate(itertools.combinations(range(n), n1)):
        splits[row, list(chosen)] = True
    observed = logrank_chi2(durations, events, np.arange(n) < n1)[0]
    chi2 = logrank_chi2(durations, events, splits)
    return float(np.mean(chi2 >= observed - 1e-9 * max(1.0, observed)))


def _censored_share(times: pd.DataFrame) -> float:
    return float(1 - times["event"].mean()) if len(times) else math.nan


def _first_at_or_below(curve: pd.Series, level: float = 0.5) -> float:
    """The first time a survival step function is at or below ``level`` (within
    MEDIAN_TOLERANCE); infinity when it never is within follow-up."""
    hit = curve[curve <= level + MEDIAN_TOLERANCE]
    return float(hit.index[0]) if len(hit) else math.inf


def _flare_times(
    events: pd.DataFrame, labels: dict[str, str], warnings: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Per patient: duration (days from withdrawal), event flag and group label."""
    _require_columns(events, EVENT_COLUMNS, "events")
    frame = events.copy()
    frame["patient_id"] = _ids(frame["patient_id"])
    has_end = "followup_end_day" in frame.columns
    for column in ("withdrawal_day", "flare_day") + (("followup_end_day",) if has_end else ()):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    excluded: list[str] = []

    repeated = sorted(frame.loc[frame["patient_id"].duplicated(), "patient_id"].unique())
    if repeated:
        warnings.append(
            f"{len(repeated)} patient(s) with more than one events row were left out of the "
            f"time-to-flare analysis: {', '.join(repeated)}."
        )
        frame = frame[~frame["patient_id"].isin(repeated)]
        excluded += repeated

    flared = frame["flare_day"].notna()
    end = frame["followup_end_day"] if has_end else pd.Series(math.nan, index=frame.index)
    frame["event"] = flared.astype(int)
    frame["duration"] = np.where(
        flared, frame["flare_day"] - frame["withdrawal_day"], end - frame["withdrawal_day"]
    )

    no_withdrawal = frame["withdrawal_day"].isna()
    if no_withdrawal.any():
        ids = sorted(frame.loc[no_withdrawal, "patient_id"])
        warnings.append(
            f"{len(ids)} patient(s) without a withdrawal day were left out of the time-to-flare "
            f"analysis: {', '.join(ids)}."
        )
        excluded += ids
    no_end = ~no_withdrawal & ~flared & frame["duration"].isna()
    if no_end.any():
        ids = sorted(frame.loc[no_end, "patient_id"])
        where = "no followup_end_day" if has_end else "no followup_end_day column"
        warnings.append(
            f"{len(ids)} patient(s) without an observed flare could not be censored ({where}) "
            f"and were left out of the Kaplan-Meier analysis: {', '.join(ids)}."
        )
        excluded += ids
    negative = frame["duration"] < 0
    if negative.any():
        ids = sorted(frame.loc[negative, "patient_id"])
        warnings.append(
            f"{len(ids)} patient(s) whose flare or end of follow-up precedes withdrawal were "
            f"left out of the time-to-flare analysis: {', '.join(ids)}."
        )
        excluded += ids
    frame = frame[frame["duration"].notna() & ~negative]
    frame = frame.assign(group=frame["patient_id"].map(labels))
    return frame[["patient_id", "group", "duration", "event"]], excluded


def _time_to_flare(
    times: pd.DataFrame, compared: tuple[str, str], alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    summaries, survival = [], []
    for group in compared:
        data = times[times["group"] == group]
        row: dict[str, Any] = {
            "group": group,
            "n": len(data),
            "events": int(data["event"].sum()),
            "median": math.nan,
            "median_ci_lower": math.nan,
            "median_ci_upper": math.nan,
            "median_reached": False,
            "note": "",
        }
        summaries.append(row)
        if data.empty:
            row["note"] = "no patients with time-to-flare data"
            continue
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(data["duration"], event_observed=data["event"], label=group)
        # The median is the first time the curve is at or below 0.5, and each CI limit the
        # first time that limit's curve is, all within MEDIAN_TOLERANCE: a survival of exactly
        # one half (3 of 6) is 0.5000000000000001 in floating point, and the plain "<= 0.5"
        # of lifelines would move the median to the next event time.
        median = _first_at_or_below(kmf.survival_function_.iloc[:, 0])
        lower = _first_at_or_below(kmf.confidence_interval_.iloc[:, 0])
        upper = _first_at_or_below(kmf.confidence_interval_.iloc[:, 1])
        row["median_reached"] = math.isfinite(median)
        # An infinite median or bound means the survival curve (or its CI limit) never fell
        # to 0.5 within follow-up: "not reached", reported as missing rather than inf.
        row["median"] = median if math.isfinite(median) else math.nan
        row["median_ci_lower"] = lower if math.isfinite(lower) else math.nan
        row["median_ci_upper"] = upper if math.isfinite(upper) else math.nan
        if not row["median_reached"]:
            row["note"] = "median time to flare not reached"
        elif not (math.isfinite(lower) and math.isfinite(upper)):
            row["note"] = "a confidence limit of the median is not reached"
        # lifelines names the curve and its limits after the label; give them fixed names.
        curve = kmf.survival_function_.join(kmf.confidence_interval_)
        curve.columns = ["survival", "ci_lower", "ci_upper"]
        table = kmf.event_table.join(curve).rename(columns={"observed": "events"})
        table = table.reset_index(names="time").assign(group=group)
        survival.append(table[list(SURVIVAL_COLUMNS)])

    a, b = (times[times["group"] == g] for g in compared)
    logrank: dict[str, Any] = {
        "group1": compared[0],
        "group2": compared[1],
        "n1": len(a),
        "n2": len(b),
        "events1": int(a["event"].sum()),
        "events2": int(b["event"].sum()),
        "test_statistic": math.nan,
        "p": math.nan,
        "method": None,
        "p_permutation": math.nan,
        "note": "",
    }
    if a.empty or b.empty:
        logrank["note"] = "no test: a group has no time-to-flare data"
    elif logrank["events1"] + logrank["events2"] == 0:
        logrank["note"] = "no test: no flare observed in either group"
    else:
        result = logrank_test(
            a["duration"], b["duration"], event_observed_A=a["event"], event_observed_B=b["event"]
        )
        logrank["test_statistic"] = float(result.test_statistic)
        logrank["p"] = float(result.p_value)
        logrank["method"] = LOGRANK_METHOD
        durations = np.concatenate([a["duration"], b["duration"]]).astype(float)
        events = np.concatenate([a["event"], b["event"]]).astype(bool)
        logrank["p_permutation"] = logrank_permutation_p(durations, events, len(a))
        if math.isnan(logrank["p_permutation"]):
            logrank["note"] = (
                f"exact permutation P not computed: more than {PERMUTATION_MAX_SPLITS:,} splits"
            )
        elif _censored_share(a) != _censored_share(b):
            logrank["note"] = (
                f"censoring differs between the groups ({_censored_share(a):.0%} vs "
                f"{_censored_share(b):.0%} censored): the permutation P is not exact here; "
                "the asymptotic P is the one reported"
            )
    survival_table = (
        pd.concat(survival, ignore_index=True)
        if survival
        else pd.DataFrame(columns=list(SURVIVAL_COLUMNS))
    )
    return pd.DataFrame(summaries), survival_table, pd.DataFrame([logrank])
