"""What every power calculation of the comparison shares: the target power, the smoothed
bootstrap of the observed spread (Silverman 1986, 3.5) and the search for the smallest
effect that reaches the target. The row-specific simulations build on it: exact
Mann-Whitney (:mod:`power`), Gehan's test of censored values (:mod:`power_censored`) and
the flare tests (:mod:`power_flare`)."""

from __future__ import annotations

import math

import numpy as np

POWER = 0.8
BISECTIONS = 11  # the bracket to 1/2048 of its width: far below the Monte Carlo error


def smoothed_draws(
    residuals: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Draws of the smoothed bootstrap of ``residuals`` (see the module docstring)."""
    m = residuals.size
    centre, sd = residuals.mean(), residuals.std()
    h = 1.06 * m ** (-1 / 5)
    picked = residuals[rng.integers(0, m, size=shape)]
    noise = rng.standard_normal(shape)
    return centre + (picked - centre + h * sd * noise) / math.sqrt(1 + h * h)


def residuals_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.concatenate([x - np.median(x), y - np.median(y)])


def smallest_effect(power, target: float, scale: float, doublings: int = 12) -> float:
    """The smallest effect in (0, inf) at which ``power`` (of the signed effect, one
    direction) reaches ``target``, by doubling and bisection; nan when never."""
    hi = scale
    for _ in range(doublings):
        if power(hi) >= target:
            break
        hi *= 2
    else:
        return math.nan
    lo = 0.0
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power(mid) < target else (lo, mid)
    return hi
