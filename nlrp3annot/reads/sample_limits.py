"""A sample's limits of detection from its libraries' (or pools') counts and candidates:
at each known pathogenic allele (set on its candidate), and per coding position for its
hardest substitution and for a small indel, combined into the sample's classes
(:class:`~nlrp3annot.values.ScanLimits`). Pure (numpy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nlrp3annot.reads.background import IndelBackground, SnvBackground
from nlrp3annot.reads.calling import Candidate, trusted_cells
from nlrp3annot.reads.limits import detection_limits
from nlrp3annot.reads.pileup import Counts
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.values import ScanLimits

if TYPE_CHECKING:
    from nlrp3annot.reads.known import KnownAlleles


def limit_parts(
    c: Counts,
    s: int,
    found: list[Candidate],
    snv_bg: SnvBackground,
    indel_bg: IndelBackground,
    ref: np.ndarray,
    known: KnownAlleles,
    tested: int,
    settings: CallSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """One library's limits of detection: set on each known pathogenic allele's candidate,
    and returned per coding position for (other SNVs, small indels)."""
    for kind in ("snv", "indel"):
        at_known = [x for x in found if x.known and x.is_snv == (kind == "snv")]
        if not at_known:
            continue
        lods = detection_limits(
            [x.depth_cells for x in at_known], [x.cell_background for x in at_known],
            np.array([x.rho for x in at_known]), [x.trusted for x in at_known],
            np.array([x.threshold for x in at_known]), settings,
        )  # fmt: skip
        for x, lod in zip(at_known, lods.tolist(), strict=True):
            x.lod = None if np.isnan(lod) else lod
    threshold = settings.alpha / tested
    other = _other_snv_limits(c, s, snv_bg, ref, threshold, settings)
    indels = _indel_limits(c, s, indel_bg, threshold, settings)
    return other, indels


def scan_limits(
    found: list[Candidate],
    parts: list[tuple[np.ndarray, np.ndarray]],
    known: KnownAlleles,
    settings: CallSettings,
) -> ScanLimits:
    """The sample's limits: the highest at the known pathogenic alleles (their candidates'),
    and as classes over the coding positions; over replicate libraries, each position's
    highest (nan, below the minimum depth, where any library is)."""
    highest = {}
    below = damaged = 0
    for kind in ("snv", "indel"):
        at_known = [x for x in found if x.known and x.is_snv == (kind == "snv")]
        # reads enough, but of a type the library's damage makes no evidence
        lost = [x.lod is None and x.untrusted != ""
                and sum(x.depth_cells) >= settings.min_depth for x in at_known]  # fmt: skip
        damaged += sum(lost)
        below += sum(1 for x, gone in zip(at_known, lost, strict=True)
                     if x.lod is None and not gone)  # fmt: skip
        finite = [x.lod for x in at_known if x.lod is not None]
        highest[kind] = max(finite) if finite else None
    other = np.maximum.reduce([p[0] for p in parts])
    indels = np.maximum.reduce([p[1] for p in parts])
    return ScanLimits(
        known_snv=highest["snv"],
        known_snvs=len(known.snvs),
        known_indel=highest["indel"],
        known_indels=len(known.indels),
        indels=quantile(indels),
        other_snvs=quantile(other),
        max_lod=settings.max_lod,
        indels_worst=quantile(indels, 1.0),
        other_snvs_worst=quantile(other, 1.0),
        known_below_depth=below,
        known_damaged=damaged,
        min_depth=settings.min_depth,
    )


def per_position(ref: np.ndarray, parts) -> np.ndarray:
    """The SNV limits of every target position (nan at an N of the reference), over the
    libraries each position's highest, as :func:`scan_limits` takes them."""
    out = np.full(len(ref), np.nan)
    out[ref >= 0] = np.maximum.reduce([p[0] for p in parts])
    return out


def _indel_limits(c, s, indel_bg, threshold, settings) -> np.ndarray:
    """Per coding position, the limit for a small indel there: against the sample's own
    indel rate, or the highest background of an indel any sample shows there."""
    depth = c.indel_depth.T  # (n, 4)
    mu = np.tile(np.maximum(indel_bg.own[s], settings.error_floor), (len(depth), 1))
    rho = np.full(len(depth), float(indel_bg.own_rho[s]))
    column = {int(p): i for i, p in enumerate(c.positions.tolist())}
    for allele, rates in indel_bg.mu.items():
        i = column[allele[0]]
        mu[i] = np.maximum(mu[i], rates[s])
        rho[i] = max(rho[i], float(indel_bg.rho[allele][s]))
    return detection_limits(depth, mu, rho, np.ones(depth.shape, bool), threshold, settings)


def _other_snv_limits(c, s, snv_bg, ref, threshold, settings) -> np.ndarray:
    """Per coding position, the limit for its hardest substitution (highest background)."""
    at = np.flatnonzero(ref >= 0)
    rows = np.arange(len(at))
    depth = c.bases.sum(axis=1)[:, at].T  # (m, 4)
    trusted = np.stack([trusted_cells(snv_bg.untrusted[s][ref[at], a]) for a in range(4)])
    mu = snv_bg.mu[s][:, :, at].transpose(1, 2, 0)  # (4 alt, m, 4 cells)
    evidence = np.where(trusted, depth[None], 0)
    mean = (evidence * mu).sum(axis=2) / np.maximum(evidence.sum(axis=2), 1)  # (4 alt, m)
    mean[ref[at], rows] = -1.0  # the reference base is no substitution
    hardest = mean.argmax(axis=0)
    return detection_limits(depth, mu[hardest, rows], snv_bg.rho[s][hardest, at],
                            trusted[hardest, rows], threshold, settings)  # fmt: skip


def quantile(limits: np.ndarray, q: float = 0.95) -> float | None:
    finite = limits[np.isfinite(limits)]
    return float(np.quantile(finite, q)) if finite.size else None
