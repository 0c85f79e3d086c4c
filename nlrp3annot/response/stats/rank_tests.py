"""Rank statistics of the comparison: Wilcoxon signed-rank within groups, Mann-Whitney
between them with the Hodges-Lehmann shift and its distribution-free interval."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nlrp3annot.response.stats.comparison_data import (
    DIFF_DECIMALS,
    MANNWHITNEY_EXACT_MAX_N,
    WILCOXON_EXACT_MAX_N,
)

# --------------------------------------------------------------------------------------------
# Paired changes and the Wilcoxon signed-rank test


def paired_changes(
    frame: pd.DataFrame, measure: str, earlier: str, later: str, patients: set[str]
) -> pd.Series:
    """later - earlier per patient with both visits (censored values at their limit)."""
    data = frame[(frame["measure"] == measure) & frame["patient_id"].isin(patients)]
    wide = data.pivot(index="patient_id", columns="visit", values="value")
    if earlier not in wide.columns or later not in wide.columns:
        return pd.Series(dtype=float)
    paired = wide[[earlier, later]].dropna()
    return (paired[later] - paired[earlier]).round(DIFF_DECIMALS).sort_index()


def has_ties(values: np.ndarray) -> bool:
    return bool(np.unique(values).size < values.size)


def wilcoxon_smallest_p(n_nonzero: int) -> float:
    """Smallest two-sided P the exact signed-rank test can give with n non-zero differences:
    all signs alike, 2 / 2**n (0.0 where that is below the smallest float: a registry)."""
    return min(1.0, math.ldexp(1.0, 1 - n_nonzero))


def mannwhitney_smallest_p(n1: int, n2: int) -> float:
    """Smallest two-sided P the exact Mann-Whitney test can give: complete separation of the
    two groups, 2 / C(n1 + n2, n1) (by its logarithm: C is too large for a float beyond a
    few hundred patients)."""
    log_comb = math.lgamma(n1 + n2 + 1) - math.lgamma(n1 + 1) - math.lgamma(n2 + 1)
    return (
        min(1.0, math.exp(math.log(2.0) - log_comb))
        if n1 + n2 > 60
        else min(1.0, 2.0 / math.comb(n1 + n2, n1))
    )


def _midranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, method="average")


def signed_rank_exact_p(nonzero: np.ndarray) -> tuple[float, float]:
    """(T+, two-sided P) of the Wilcoxon signed-rank test by its exact permutation
    distribution: under the null each difference's sign is + or - with probability 1/2,
    independently, and T+ sums the midranks of |d| of the positive ones. With ties the
    midranks are half-integers, so the 2**n sign patterns are counted over doubled sums by
    dynamic programming. P = P(|T+ - E| >= |t - E|), E = half the rank total (the null
    distribution is symmetric about E, so this is twice the smaller tail)."""
    ranks2 = np.rint(2 * _midranks(np.abs(nonzero))).astype(int)
    counts = np.zeros(int(ranks2.sum()) + 1)
    counts[0] = 1.0
    for r in ranks2:  # each difference adds its rank to T+ or not
        counts[r:] = counts[r:] + counts[: counts.size - r]
    observed2 = int(ranks2[nonzero > 0].sum())
    mean2 = ranks2.sum() / 2
    sums = np.arange(counts.size)
    extreme = np.abs(sums - mean2) >= abs(observed2 - mean2) - 1e-9
    return observed2 / 2, min(1.0, float(counts[extreme].sum() / counts.sum()))


def mann_whitney_exact_p(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(U of x, two-sided P) of the Mann-Whitney test by its exact permutation distribution
    with midranks for ties: every split of the pooled values into groups of n1 and n2 is
    equally likely under the null, and the rank sum of the first group is counted over all
    of them by dynamic programming (subset size x doubled rank sum). P = P(|U - E| >=
    |u - E|), E = n1*n2/2."""
    n1, n2 = x.size, y.size
    ranks2 = np.rint(2 * _midranks(np.concatenate([x, y]))).astype(int)
    total = int(ranks2.sum())
    counts = np.zeros((n1 + 1, total + 1))
    counts[0, 0] = 1.0
    for r in ranks2:  # each value joins the first group or not
        counts[1:, r:] = counts[1:, r:] + counts[:-1, : total + 1 - r]
    sums2 = np.arange(total + 1)
    u_values = sums2 / 2 - n1 * (n1 + 1) / 2
    observed = float(ranks2[:n1].sum() / 2 - n1 * (n1 + 1) / 2)
    mean = n1 * n2 / 2
    extreme = np.abs(u_values - mean) >= abs(observed - mean) - 1e-9
    row = counts[n1]
    return observed, min(1.0, float(row[extreme].sum() / row.sum()))


def signed_rank_p(diffs: np.ndarray) -> float:
    """Two-sided P of the Wilcoxon signed-rank test, zero differences dropped: exact up to
    50 non-zero differences, else the normal approximation with tie and continuity
    correction (as :func:`wilcoxon_columns` reports it); nan when every difference is zero."""
    diffs = np.round(np.asarray(diffs, dtype=float), DIFF_DECIMALS)
    nonzero = diffs[diffs != 0]
    if nonzero.size == 0:
        return math.nan
    if nonzero.size <= WILCOXON_EXACT_MAX_N:
        return signed_rank_exact_p(nonzero)[1]
    result = stats.wilcoxon(nonzero, alternative="two-sided", method="asymptotic",
                            zero_method="wilcox", correction=True)  # fmt: skip
    return float(result.pvalue)


def wilcoxon_columns(diffs: np.ndarray) -> dict[str, Any]:
    n = int(diffs.size)
    nonzero = diffs[diffs != 0]
    out: dict[str, Any] = {
        "n": n,
        "n_nonzero": int(nonzero.size),
        "median_diff": float(np.median(diffs)) if n else math.nan,
        "statistic": math.nan,
        "p": math.nan,
        "method_requested": None,
        "method": None,
        "note": "",
    }
    if n < 2:
        out["note"] = f"no test: {n} patient(s) with both visits (need at least 2)"
        return out
    if nonzero.size == 0:
        out["note"] = "no test: every paired difference is zero"
        return out
    # exact up to 50 non-zero differences, ties or not (the permutation distribution of the
    # signed midranks), else the normal approximation: the one test the intervals invert
    used = "exact" if nonzero.size <= WILCOXON_EXACT_MAX_N else "asymptotic"
    out.update(statistic=signed_rank_statistic(diffs), p=signed_rank_p(diffs),
               method_requested=used, method=used)  # fmt: skip
    notes = []
    if nonzero.size < n:
        notes.append(f"{n - nonzero.size} zero difference(s) dropped (Wilcoxon's method)")
    if has_ties(np.abs(nonzero)):
        notes.append("tied absolute differences")
    out["note"] = "; ".join(notes)
    return out


def signed_rank_null_counts(n: int) -> list[int]:
    """How many of the 2**n sign patterns give T+ = 0 .. n(n+1)/2 (ranks 1..n, no ties)."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for rank in range(1, n + 1):
        for total in range(len(counts) - 1, rank - 1, -1):
            counts[total] += counts[total - rank]
    return counts


def walsh_hl_ci(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """One-sample Hodges-Lehmann estimate (the median of the n(n+1)/2 Walsh averages) and its
    distribution-free CI [W_(k+1), W_(M-k)], k the largest count with P(T+ <= k) <= alpha/2
    under the signed-rank null; coverage 1 - 2 P(T+ <= k), exact for untied data. The
    interval is (nan, nan) with coverage nan when no k exists (n too small)."""
    n = int(values.size)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    i, j = np.triu_indices(n)
    walsh = np.sort((values[i] + values[j]) / 2)
    estimate = float(np.median(walsh))
    critical, coverage = critical_count(signed_rank_null_counts(n), 2**n, alpha)
    if critical is None:
        return estimate, math.nan, math.nan, math.nan
    return estimate, float(walsh[critical]), float(walsh[walsh.size - 1 - critical]), coverage


def critical_count(counts: list[int], total: int, alpha: float) -> tuple[int | None, float | None]:
    """For a null distribution given as counts of each statistic value 0, 1, ...: the largest
    c with P(S <= c) <= alpha/2, and the coverage 1 - 2 P(S <= c) of the interval it gives
    (None, None when even c = 0 is too likely). Exact fractions, so a P landing exactly on
    alpha/2 is not lost to float rounding."""
    half_alpha = Fraction(repr(alpha)) / 2
    cumulative, critical = 0, None
    for value, count in enumerate(counts):
        cumulative += count
        if Fraction(cumulative, total) > half_alpha:
            break
        critical = value
    if critical is None:
        return None, None
    return critical, float(1 - Fraction(2 * sum(counts[: critical + 1]), total))


# --------------------------------------------------------------------------------------------
# Mann-Whitney, Hodges-Lehmann shift and its exact confidence interval


def mann_whitney_null_counts(n1: int, n2: int) -> list[int]:
    """Number of the C(n1+n2, n1) equally likely rank arrangements giving U = 0 .. n1*n2.

    This is the standard exact null distribution of the Mann-Whitney U statistic (no ties).
    scipy computes it only inside the private scipy.stats._mannwhitneyu module and exposes no
    public distribution object, so it is computed here from its standard generating function,
    the Gaussian binomial coefficient  prod_{i=1..n1} (1 - q**(n2+i)) / (1 - q**i), with exact
    integers (the counts overflow int64 beyond about 66 patients).
    """
    if n1 < 0 or n2 < 0:
        raise ValueError("group sizes must be non-negative")
    size = n1 * n2 + 1
    counts = [0] * size
    counts[0] = 1
    for i in range(1, n1 + 1):
        step = n2 + i
        for k in range(size - 1, step - 1, -1):  # multiply by (1 - q**step)
            counts[k] -= counts[k - step]
        for k in range(i, size):  # divide by (1 - q**i), a power-series division
            counts[k] += counts[k - i]
    # Truncating at degree n1*n2 is exact: the final product is a polynomial of that degree,
    # and power-series division never lets higher terms reach lower ones.
    return counts


def hodges_lehmann_ci(
    x: np.ndarray, y: np.ndarray, alpha: float = 0.05
) -> tuple[float, float, float, int | None, float | None]:
    """Hodges-Lehmann shift (x - y) and its distribution-free CI.

    With the n1*n2 pairwise differences D sorted, the interval [D_(c+1), D_(n1*n2-c)] covers
    the true shift with probability exactly 1 - 2*P(U <= c) under the null distribution of U
    (continuous data, pure shift model), where c is the largest integer with
    P(U <= c) <= alpha/2. Returns (shift, lower, upper, c, coverage); the interval is
    (nan, nan) with c and coverage None when even [min D, max D] has coverage below 1 - alpha.
    """
    n1, n2 = int(x.size), int(y.size)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan, None, None
    pairwise = np.sort(np.subtract.outer(x, y).ravel())
    shift = float(np.median(pairwise))
    counts = mann_whitney_null_counts(n1, n2)
    critical, coverage = critical_count(counts, math.comb(n1 + n2, n1), alpha)
    if critical is None:
        return shift, math.nan, math.nan, None, None
    lower = float(pairwise[critical])
    upper = float(pairwise[pairwise.size - 1 - critical])
    return shift, lower, upper, critical, coverage


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> tuple[float, float, str]:
    """(U of x, two-sided P, method): exact over midranks up to 50 patients a group, else
    the tie-corrected normal approximation with continuity correction."""
    if x.size <= MANNWHITNEY_EXACT_MAX_N and y.size <= MANNWHITNEY_EXACT_MAX_N:
        u, p = mann_whitney_exact_p(x, y)
        return u, p, "exact"
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    return float(result.statistic), float(result.pvalue), "asymptotic"


def signed_rank_statistic(diffs: np.ndarray) -> float:
    """min(T+, T-) over the midranks of the non-zero differences (as reported)."""
    diffs = np.round(np.asarray(diffs, dtype=float), DIFF_DECIMALS)
    nonzero = diffs[diffs != 0]
    if nonzero.size == 0:
        return math.nan
    ranks = _midranks(np.abs(nonzero))
    t_plus = float(ranks[nonzero > 0].sum())
    return min(t_plus, float(ranks.sum()) - t_plus)
