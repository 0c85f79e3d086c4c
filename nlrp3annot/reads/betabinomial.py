"""The beta-binomial error model: counts of an error allele in ``n`` reads whose error rate
varies between samples (and positions) around a mean ``mu`` with overdispersion ``rho``
(the intra-class correlation: Var = n mu (1 - mu) (1 + (n - 1) rho)). ``rho`` 0 is the
binomial. Pure numpy/scipy, vectorised.

As in shearwater (deepSNV's ``bbb``), ``rho`` is a method-of-moments estimate across the
samples that make a background, bounded to [``RHO_MIN``, ``RHO_MAX``] = [1e-4, 0.1].
"""

from __future__ import annotations

import numpy as np
from scipy import special

from nlrp3annot.reads import tails

RHO_MIN, RHO_MAX = 1e-4, 0.1
MU_MIN = 1e-7


def _shape(mu, rho) -> tuple[np.ndarray, np.ndarray]:
    mu = np.clip(np.asarray(mu, dtype=float), MU_MIN, 1 - MU_MIN)
    rho = np.clip(np.asarray(rho, dtype=float), 1e-9, 1 - 1e-9)
    scale = (1 - rho) / rho
    return mu * scale, (1 - mu) * scale


def logpmf(k, n, mu, rho) -> np.ndarray:
    a, b = _shape(mu, rho)
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    return (
        special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        + special.betaln(k + a, n - k + b) - special.betaln(a, b)
    )  # fmt: skip


def sf(k, n, mu, rho) -> np.ndarray:
    """P(X >= k) for each element (the upper tail summed directly, so a P of 1e-200 is
    1e-200, not 0); 1 where k <= 0."""
    k, n = np.broadcast_arrays(np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64))
    mu, rho = np.broadcast_to(mu, k.shape), np.broadcast_to(rho, k.shape)
    out = np.ones(k.shape)
    for i in np.flatnonzero((k > 0).ravel()).tolist():
        kk, nn = int(k.flat[i]), int(n.flat[i])
        if kk > nn:
            out.flat[i] = 0.0
            continue
        terms = logpmf(np.arange(kk, nn + 1), nn, mu.flat[i], rho.flat[i])
        out.flat[i] = min(float(np.exp(special.logsumexp(terms))), 1.0)
    return out


def binomial_sf(k, n, p) -> np.ndarray:
    """P(X >= k) of the binomial: a lower bound of :func:`sf` with the same mean, used to
    screen out the many alleles that cannot be significant before the exact tail."""
    return tails.binomial_sf(k, n, np.clip(p, MU_MIN, 1))


def _head_logpmf(n: np.ndarray, mu: np.ndarray, rho: np.ndarray, width: int) -> np.ndarray:
    """(m, width + 1) log P(X = k) for k = 0 .. width (-inf above n), by the ratio of
    successive terms, P(k + 1) / P(k) = (n - k)(k + a) / ((k + 1)(n - k - 1 + b)): one
    log per term instead of five log-gammas (this was most of the limits' time)."""
    a, b = _shape(mu, rho)
    n = n.astype(float)[:, None]
    a, b = a[:, None], b[:, None]
    k = np.arange(width, dtype=float)[None, :]
    left = n - k  # > 0 while k < n
    inside = left > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.log(np.where(inside, left * (k + a) / ((k + 1) * (left - 1 + b)), 0.0))
    first = special.betaln(a, n + b) - special.betaln(a, b)  # log P(X = 0)
    return np.concatenate([first, first + np.cumsum(step, axis=1)], axis=1)


def min_count(n, mu, rho, alpha, floor: int = 1) -> np.ndarray:
    """The smallest count k >= ``floor`` with P(X >= k) < ``alpha`` (per element; n + 1
    where no count reaches it): how many reads make an allele significant here."""
    n = np.asarray(n, dtype=np.int64)
    shape = np.broadcast_shapes(n.shape, np.shape(mu), np.shape(rho), np.shape(alpha))
    n = np.broadcast_to(n, shape).ravel()
    mu = np.broadcast_to(np.asarray(mu, dtype=float), shape).ravel()
    rho = np.broadcast_to(np.asarray(rho, dtype=float), shape).ravel()
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), shape).ravel()
    out = np.full(n.shape, -1, dtype=np.int64)
    width = 16  # most counts that make a call are below 16; the rest widen 4x a round
    todo = np.flatnonzero(n >= 0)
    while todo.size:
        # cumulative P(X < k) over k = 0 .. width for the elements still open
        ks = np.arange(width + 1)
        pmf = np.exp(_head_logpmf(n[todo], mu[todo], rho[todo], width))
        below = np.concatenate([np.zeros((len(todo), 1)), np.cumsum(pmf, axis=1)], axis=1)
        upper = 1.0 - below[:, : width + 1]  # P(X >= k), k = 0 .. width
        ok = (upper < alpha[todo, None]) & (ks[None, :] >= floor)
        found = ok.any(axis=1)
        first = np.argmax(ok, axis=1)
        out[todo[found]] = first[found]
        beyond = ~found & (n[todo] <= width)
        out[todo[beyond]] = n[todo[beyond]] + 1
        todo = todo[~found & ~beyond]
        width *= 4
    return out.reshape(shape)


def _moments(total_x, total_n, total_sq, total_nn, samples):
    """(rate, numerator, denominator) of Kleinman's moment estimate of rho = numerator /
    denominator, from the sums over the samples of x, n, x^2 / n and n^2 and their count
    (numerator 0 where the rate is 0 or 1: no information)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total_n > 0, total_x / total_n, 0.0)
        spread = total_sq - 2 * p * total_x + p * p * total_n  # sum n_j (x_j/n_j - p)^2
        denominator = total_n - total_nn / np.where(total_n > 0, total_n, 1)
        numerator = np.where((p > 0) & (p < 1), spread / (p * (1 - p)) - (samples - 1), 0.0)
    return p, numerator, denominator


def _bounded(p, numerator, denominator) -> np.ndarray:
    """rho from its parts, bounded to [RHO_MIN, RHO_MAX] (RHO_MIN where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = numerator / denominator
    rho = np.where(np.isfinite(rho) & (p > 0) & (p < 1), rho, RHO_MIN)
    return np.clip(rho, RHO_MIN, RHO_MAX)


def moment_parts(x: np.ndarray, n: np.ndarray, axis: int = 0):
    """(rate, numerator, denominator, samples) of :func:`dispersion`'s estimate along
    ``axis`` (rho = numerator / denominator), so that estimates can be pooled over many
    positions by summing the parts (where the rate is above 0)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        squares = np.where(n > 0, x * x / np.where(n > 0, n, 1), 0.0)
    samples = (n > 0).sum(axis=axis)
    p, numerator, denominator = _moments(x.sum(axis=axis), n.sum(axis=axis),
                                         squares.sum(axis=axis), (n * n).sum(axis=axis),
                                         samples)  # fmt: skip
    return p, numerator, denominator, samples


def dispersion(x: np.ndarray, n: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rho, samples) along ``axis``: the method-of-moments overdispersion of counts ``x``
    of ``n`` (Kleinman's weighted estimator), bounded to [RHO_MIN, RHO_MAX]; ``samples``
    is how many had any reads (below 3 the estimate means little: callers fall back)."""
    p, numerator, denominator, samples = moment_parts(x, n, axis)
    return _bounded(p, numerator, denominator), samples


def leave_one_out(
    x: np.ndarray, n: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each element along axis 0: the pooled rate, the overdispersion (as
    :func:`dispersion`) and the number of samples with reads, over the *other* elements of
    axis 0 that ``keep`` holds. From running sums, so all of them at the cost of one."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    kept = np.asarray(keep, dtype=bool) & (n > 0)
    xk, nk = np.where(kept, x, 0.0), np.where(kept, n, 0.0)
    squares = np.where(kept, x * x / np.where(kept, n, 1.0), 0.0)
    samples = kept.sum(axis=0) - kept

    def others(values: np.ndarray) -> np.ndarray:
        return values.sum(axis=0) - values

    p, numerator, denominator = _moments(others(xk), others(nk), others(squares),
                                         others(nk * nk), samples)  # fmt: skip
    return p, _bounded(p, numerator, denominator), samples


def overdispersed(
    x: np.ndarray, n: np.ndarray, rho: np.ndarray, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(P, samples) along ``axis``: the chi-square test that counts ``x`` of ``n`` spread
    more than a beta-binomial of their pooled rate and overdispersion ``rho`` would
    (Pearson's statistic with each count's beta-binomial variance, m - 1 degrees of
    freedom); P is 1 where fewer than two samples have reads or no count is above 0. The
    tail is scipy.special's chdtrc, which scipy.stats.chi2.sf calls: importing scipy.stats
    for it cost ~0.65 s of every scan's joint calling (see reads/tails.py)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    total_n = n.sum(axis=axis)
    p = np.where(total_n > 0, x.sum(axis=axis) / np.maximum(total_n, 1), 0.0)
    pe = np.expand_dims(p, axis)
    variance = n * pe * (1 - pe) * (1 + (n - 1) * np.expand_dims(rho, axis))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((n > 0) & (variance > 0), (x - n * pe) ** 2 / variance, 0.0)
    samples = (n > 0).sum(axis=axis)
    statistic = terms.sum(axis=axis)
    testable = (samples >= 2) & (p > 0)
    df = np.maximum(samples - 1, 1)
    return np.where(testable, special.chdtrc(df, statistic), 1.0), samples
