"""The smallest effect each between-group end point could detect with 80% power, from the
power of the test the row uses, not from a normal approximation (issue 26).

Rows tested by the exact Mann-Whitney test (both groups at most 50 patients, the exact
test's own switch-over): power is simulated. The model (stated in the table and methods):
a smoothed bootstrap of the observed spread. Each group's values are centred on their own
median (so the observed difference is not counted as spread), pooled, and drawn with
replacement plus Gaussian kernel noise (bandwidth 1.06 m**-1/5 SD, Silverman's normal
reference rule), rescaled so the draws keep the residuals' variance (Silverman 1986, 3.5).
The draws have no ties, so the test is the exact untied Mann-Whitney test, whose
rejection region comes from the cached exact null distribution of U. Group 1 is shifted by
the effect (on the log scale for ratios); 2,000 draws with a fixed seed, so the power has a
Monte Carlo standard error of sqrt(0.8 x 0.2 / 2000) = 0.9 percentage points at 80%.

No bisection is needed: with the draws fixed, U(effect) = #{x_i - y_j > -effect}, so each
draw rejects in the upper tail exactly when the effect exceeds minus one order statistic of
its pairwise differences (and in the lower tail below another); the power curve is a step
function known at every effect, and the detectable effect is the smallest one at which the
power reaches 80% in both directions (group 1 higher and group 1 lower) and stays there.

Rows of a group above 50 patients (the test is then the normal approximation): Noether's
formula, P(X > Y) = 1/2 + (z_{1-alpha/2} + z_0.8) / sqrt(12 n1 n2 / (N + 1)), solved for the
shift under the same smoothed model (P(X > Y) in closed form over the kernel mixture).

Rows tested by Gehan's test (a change involving a value below a limit): that test's own
power, simulated with the values censored as the assays would censor them
(:mod:`nlrp3annot.response.stats.power_censored`). Time to flare: the plan's flare test's
own power, simulated at the observed follow-up (:mod:`nlrp3annot.response.stats.power_flare`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import special, stats

from nlrp3annot.response.stats.comparison_data import MANNWHITNEY_EXACT_MAX_N
from nlrp3annot.response.stats.power_censored import (
    GEHAN_DRAWS,
    GEHAN_SEED,
    AssayPattern,
    gehan_detectable_shift,
)
from nlrp3annot.response.stats.power_flare import (
    FLARE_DRAWS,
    FLARE_SEED,
    large,
    simulated_hazard_ratio,
)
from nlrp3annot.response.stats.power_model import POWER, residuals_of, smoothed_draws
from nlrp3annot.response.stats.rank_tests import mann_whitney_null_counts

DRAWS = 2000
SEED = 20060615  # fixed: the same cohort always gives the same detectable effects
# Noether's P(X > Y) over at most this many residual pairs (a subsample beyond it)
PAIRS_MAX = 200


def monte_carlo_se(power: float = POWER, draws: int = DRAWS) -> float:
    return math.sqrt(power * (1 - power) / draws)


SIMULATED_METHOD = (
    f"exact Mann-Whitney power simulated ({DRAWS:,} smoothed-bootstrap draws of the "
    f"observed spread, seed {SEED}; Monte Carlo SE {100 * monte_carlo_se():.1f} points at "
    f"80%)"
)
GEHAN_METHOD = (
    f"exact Gehan test power simulated ({GEHAN_DRAWS:,} draws of the smoothed model with "
    f"the observed earlier values and detection limits, later values censored as the assay "
    f"would, seed {GEHAN_SEED}; Monte Carlo SE {100 * monte_carlo_se(draws=GEHAN_DRAWS):.1f} "
    f"points at 80%)"
)
GEHAN_LARGE_METHOD = (
    "Noether's formula for the asymptotic Gehan test (a group above 50), mean and variance "
    "of Gehan's statistic from the censored model"
)
NOETHER_METHOD = "Noether's formula for the asymptotic Mann-Whitney test (a group above 50)"
FLARE_METHODS = {
    test: (
        f"{name} power simulated ({FLARE_DRAWS:,} draws, seed {FLARE_SEED}: exponential flare "
        f"times at the pooled observed rate, censoring times resampled within each group; "
        f"Monte Carlo SE {100 * monte_carlo_se(draws=FLARE_DRAWS):.1f} points at 80%)"
    )
    for test, name in (("firth_lr", "Firth penalised likelihood-ratio test"),
                       ("logrank", "log-rank test"))
}  # fmt: skip
SCHOENFELD_METHOD = "Schoenfeld's formula (a group above 50: the flare test is asymptotic)"
# the same, short, for a sentence
METHOD_WORDS = {
    SIMULATED_METHOD: "simulated power of the exact Mann-Whitney test at the observed spread",
    GEHAN_METHOD: "simulated power of Gehan's test at the observed spread, with values below "
    "the observed detection limits censored as the assays would",
    GEHAN_LARGE_METHOD: "Noether's formula for the asymptotic Gehan test under censoring",
    NOETHER_METHOD: "Noether's formula for the asymptotic Mann-Whitney test",
    **{
        method: f"simulated power of the {method.split(' power')[0]} at the observed flare "
        "rate and follow-up"
        for method in FLARE_METHODS.values()
    },
    SCHOENFELD_METHOD: "Schoenfeld's formula, a group being above 50 patients",
}


def power_methods(rows: list[dict]) -> str:
    """The methods text's sentence on the detectable effects: how the family's rows found
    theirs (only the ways that ran)."""
    used = {str(r.get("detectable_method") or "") for r in rows} - {""}
    parts = []
    if SIMULATED_METHOD in used:
        parts.append(
            f"for end points tested by the exact Mann-Whitney test, its power simulated at the "
            f"actual group sizes: {DRAWS:,} draws (seed {SEED}) from a smoothed bootstrap of "
            f"the per-patient values, each group centred on its median, pooled, resampled with "
            f"Gaussian kernel noise (bandwidth 1.06 m^-1/5 SD) and rescaled to the observed "
            f"variance, the first group shifted by the effect (on the log scale for ratios); "
            f"the smallest effect with 80% power in both directions, read exactly off the "
            f"draws (Monte Carlo SE {100 * monte_carlo_se():.1f} percentage points at 80%)"
        )
    if GEHAN_METHOD in used:
        parts.append(
            f"for end points tested by Gehan's test (a change involving a value below a "
            f"limit), the exact Gehan test's own power simulated: {GEHAN_DRAWS:,} draws (seed "
            f"{GEHAN_SEED}) of each patient's change from the same smoothed bootstrap around "
            f"the median of all the row's values (a below-limit value at its limit for the "
            f"spread only), the earlier value resampled from the row's patients with its "
            f"mark, the later value censored below a detection limit resampled from those "
            f"the measure shows, each change then the interval its values allow and compared "
            f"by Gehan's test; the smallest effect with 80% power in both directions by "
            f"bisection on the fixed draws (Monte Carlo SE "
            f"{100 * monte_carlo_se(draws=GEHAN_DRAWS):.1f} percentage points)"
        )
    if NOETHER_METHOD in used or GEHAN_LARGE_METHOD in used:
        parts.append(
            "where a group has more than 50 patients (the test is then asymptotic), Noether's "
            "formula with the statistic's mean and variance from the same model (for Gehan's "
            "test, with the censoring)"
        )
    flare = [m for m in FLARE_METHODS.values() if m in used]
    if flare:
        parts.append(
            f"for time to flare, the power of the plan's flare test "
            f"({flare[0].split(' power')[0]}) simulated at the actual group sizes: "
            f"{FLARE_DRAWS:,} draws (seed {FLARE_SEED}) of exponential flare times, the "
            f"second group at the pooled observed flare rate (flares per day followed) and "
            f"the first at that rate times the hazard ratio, each patient censored at a time "
            f"resampled from the censoring times of their own group; the hazard ratio with "
            f"80% power in both directions by bisection on the fixed draws (Monte Carlo SE "
            f"{100 * monte_carlo_se(draws=FLARE_DRAWS):.1f} percentage points)"
        )
    if SCHOENFELD_METHOD in used:
        parts.append(
            "for time to flare with a group above 50 patients, Schoenfeld's formula with the "
            "observed flares and allocation"
        )
    if not parts:
        return ""
    return (
        "The smallest effect each primary end point could detect with 80% power (two-sided, "
        "before multiplicity) is that of the test the row uses: " + "; ".join(parts) + "."
    )


@lru_cache(maxsize=256)
def lower_critical_u(n1: int, n2: int, alpha: float) -> int | None:
    """The largest c with two-sided exact P(U <= c) x 2 < alpha (untied U), so the exact
    test rejects exactly when U <= c or U >= n1 n2 - c; None when no U rejects."""
    counts = mann_whitney_null_counts(n1, n2)
    total = math.comb(n1 + n2, n1)
    half = Fraction(repr(alpha)) / 2
    cumulative, critical = 0, None
    for value, count in enumerate(counts[: n1 * n2 // 2 + 1]):
        cumulative += count
        if Fraction(cumulative, total) >= half:
            break
        critical = value
    return critical


def exact_detectable_shift(
    x: np.ndarray, y: np.ndarray, alpha: float, draws: int = DRAWS, seed: int = SEED
) -> float:
    """The smallest shift at which the exact two-sided Mann-Whitney test at ``alpha`` has
    80% simulated power either way (module docstring); nan when no U can reject or the
    values have no spread."""
    n1, n2 = x.size, y.size
    critical = lower_critical_u(n1, n2, alpha)
    residuals = residuals_of(x, y)
    if critical is None or residuals.std() == 0:
        return math.nan
    rng = np.random.default_rng(seed)
    sample = smoothed_draws(residuals, (draws, n1 + n2), rng)
    pairs = n1 * n2
    sample = sample.astype(np.float32)  # order statistics only: float32 halves the memory
    pairwise = (sample[:, :n1, None] - sample[:, None, n1:]).reshape(draws, pairs)
    pairwise = np.partition(pairwise, [critical, pairs - 1 - critical], axis=1)
    # U(e) = #{d > -e}. U >= pairs - c  <=>  e > -d_(c+1) (ascending, 1-based);
    # U <= c  <=>  e <= -d_(pairs-c)
    upper = np.sort(-pairwise[:, critical])  # rejects (upper tail) when e > upper
    lower = np.sort(-pairwise[:, pairs - 1 - critical])  # rejects (lower tail) when e <= lower

    def power(effect: np.ndarray) -> np.ndarray:
        above = np.searchsorted(upper, effect, side="left")  # upper < effect
        below = draws - np.searchsorted(lower, effect, side="left")  # lower >= effect
        return (above + below) / draws

    # the power changes only at these effects; just above each, both directions
    steps = np.unique(np.abs(np.concatenate([upper, lower])))
    candidates = np.nextafter(steps, np.inf)
    either = np.minimum(power(candidates), power(-candidates))
    short = np.flatnonzero(either < POWER)
    if short.size == len(candidates):
        return math.nan
    first = short[-1] + 1 if short.size else 0
    return float(candidates[first])


def noether_detectable_shift(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """The shift at which Noether's formula gives the asymptotic Mann-Whitney test 80%
    power, P(X + shift > Y) from the smoothed model in closed form, the larger of the
    two directions."""
    n1, n2 = x.size, y.size
    residuals = residuals_of(x, y)
    if residuals.std() == 0:
        return math.nan
    if residuals.size > PAIRS_MAX:  # a fixed, evenly spread subsample of the quantiles
        residuals = np.quantile(residuals, np.linspace(0, 1, PAIRS_MAX))
    m = residuals.size
    h = 1.06 * m ** (-1 / 5)
    sd = residuals.std()
    gaps = np.subtract.outer(residuals, residuals).ravel()
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)
    target = 0.5 + z / math.sqrt(12 * n1 * n2 / (n1 + n2 + 1))
    if target >= 1:
        return math.nan

    def above(shift: float) -> float:  # P(X + shift > Y), X, Y from the model
        scaled = (gaps + shift * math.sqrt(1 + h * h)) / (h * sd * math.sqrt(2))
        return float(special.ndtr(scaled).mean())

    span = 4 * residuals.std() + 1e-12
    while above(span) < target:
        span *= 2
    lo, hi = 0.0, span
    # the gaps are antisymmetric (a - b and b - a), so P(X - s > Y) = 1 - P(X + s > Y):
    # both directions reach the target at the same shift
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if above(mid) < target else (lo, mid)
    return hi


def detectable_shift(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    scale: str,
    gehan: bool = False,
    pattern: AssayPattern | None = None,
) -> tuple[float, str]:
    """(the smallest between-group shift, or ratio of ratios for ``scale`` "ratio", the
    row's test detects with 80% power at these group sizes and this spread; how it was
    found). A Gehan row (``gehan``) is simulated with its censoring ``pattern``. nan with
    fewer than 2 patients in a group, or when no effect reaches 80% power."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2:
        return math.nan, ""
    exact = x.size <= MANNWHITNEY_EXACT_MAX_N and y.size <= MANNWHITNEY_EXACT_MAX_N
    if gehan and pattern is not None:
        shift = gehan_detectable_shift(tuple(x), tuple(y), pattern, alpha)
        method = GEHAN_METHOD if exact else GEHAN_LARGE_METHOD
    elif exact:
        shift, method = exact_detectable_shift(x, y, alpha), SIMULATED_METHOD
    else:
        shift, method = noether_detectable_shift(x, y, alpha), NOETHER_METHOD
    if not math.isfinite(shift):
        return math.nan, method
    return (math.exp(shift) if scale == "ratio" else shift), method


def detectable_hazard_ratio(
    durations: tuple[np.ndarray, np.ndarray],
    events: tuple[np.ndarray, np.ndarray],
    alpha: float,
    test: str,
) -> tuple[float, str]:
    """The hazard ratio (above 1) the plan's flare test ``test`` at ``alpha`` detects with
    80% power: simulated (:mod:`nlrp3annot.response.stats.power_flare`), or Schoenfeld's
    formula with the observed flares and allocation when a group is above 50."""
    (t1, t2), (e1, e2) = durations, events
    n1, n2 = len(t1), len(t2)
    flares = int(np.sum(e1) + np.sum(e2))
    if flares == 0 or n1 == 0 or n2 == 0:
        return math.nan, ""
    if large(n1, n2):
        share = n1 / (n1 + n2)
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)
        return math.exp(z / math.sqrt(flares * share * (1 - share))), SCHOENFELD_METHOD
    as_tuple = lambda a, kind: tuple(kind(v) for v in a)  # noqa: E731
    hr = simulated_hazard_ratio(as_tuple(t1, float), as_tuple(e1, bool), as_tuple(t2, float),
                                as_tuple(e2, bool), alpha, test)  # fmt: skip
    return hr, FLARE_METHODS[test]
