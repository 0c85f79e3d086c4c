"""The error background each sample's alleles are tested against. Pure (numpy/scipy).

For an allele at a position, per cell (orientation x strand, :data:`~nlrp3annot.reads.
fragments.CELLS`), the expected error rate is the largest of

- **the position's rate in the other samples** (the rest of the batch and a panel of
  normals), counting only samples that do not carry the allele: a sample carries it where
  its count is improbable against the others (binomial P < ``carrier_alpha``, found
  iteratively from the samples that plainly carry it, above ``germline_fraction``); so one
  germline carrier in a batch cannot hide another sample's mosaic of the same allele;
- **the sample's own rate for that substitution type** in that cell over its other
  positions (indels: its own indel rate per informative fragment), which follows a
  sample's own library (an oxidised sample has a high G>T rate on F1R2 fragments);
- ``error_floor``.

Around that mean the counts are beta-binomial: the overdispersion ``rho`` is estimated
across the other samples at that position (as shearwater does), or, with fewer than three
of them, across the sample's own positions of that substitution type.

**Orientation screen.** Where a sample shows a substitution type at ``orientation_ratio``
times the rate in one orientation as in the other (and significantly), that orientation's
reads of that type are an artefact of the library (8-oxoG: G>T on F1R2 and C>A on F2R1;
FFPE deamination: C>T on F1R2 and G>A on F2R1) and are not evidence in that sample. Where
the sample's fragments are all in one orientation (a directional amplicon assay) the other
orientation's rate is read from the complementary type in the present one (strand
symmetry), so an oxidised or deaminated amplicon library is told too; its reads of that
type are then no evidence at all: damage is uneven (hot spots of a few percent in an
oxidised library), so an allele of that type cannot be told from it, and the scan says so
(``known_damaged``) instead of stating a limit.

Either way a damaged library's reads of that type are not the assay's error: they stay
out of the other samples' backgrounds. So do a sample's low-level alleles that the
carrier rule cannot see (:func:`trimmed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlrp3annot.reads.betabinomial import (
    RHO_MAX,
    RHO_MIN,
    dispersion,
    leave_one_out,
    min_count,
    moment_parts,
    overdispersed,
)
from nlrp3annot.reads.fragments import ORIENTATION_HALVES
from nlrp3annot.reads.pileup import BASES, Counts
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.reads.tails import binomial_sf

ORIENTATIONS = ("F1R2", "F2R1")
MIN_REFERENCES = 3  # other samples needed for a position's own overdispersion
TIGHT = 2e-4  # usual samples this little overdispersed agree as binomial counts do
TIGHT_RATE = 2.0  # ... and show errors at no more than this many times the error floor
RHO_TYPE_MIN = 1e-5  # a type's spread, measured over thousands of positions, may be lower


@dataclass
class SnvBackground:
    """Per sample of the batch (axis 0)."""

    mu: np.ndarray  # (S, 4 cells, 4 alt bases, n) expected error rate
    rho: np.ndarray  # (S, 4 alt bases, n)
    carrier: np.ndarray  # (S, 4, n) the sample carries the allele
    untrusted: np.ndarray  # (S, 4 ref, 4 alt): orientation (0, 1) not evidence, -1 none
    excess: np.ndarray  # (S, 4, 4): that orientation's rate over the other's
    references: np.ndarray  # (S, 4, n) other samples behind the position's rate


@dataclass
class IndelBackground:
    mu: dict[tuple[int, str, str], np.ndarray]  # allele -> (S, 4 cells)
    rho: dict[tuple[int, str, str], np.ndarray]  # allele -> (S,)
    carrier: dict[tuple[int, str, str], np.ndarray]  # allele -> (S,) bool
    own: np.ndarray  # (S, 4 cells) the sample's own indel rate per informative fragment
    own_rho: np.ndarray  # (S,)


def carriers(x: np.ndarray, depth: np.ndarray, settings: CallSettings) -> np.ndarray:
    """Which samples (axis 0) carry each allele: their count improbable against the other
    samples' pooled rate (leaving out the carriers, found iteratively)."""
    x = np.asarray(x, dtype=np.int64)
    depth = np.broadcast_to(depth, x.shape).astype(np.int64)
    vaf = x / np.maximum(depth, 1)
    carrier = (vaf > settings.germline_fraction) & (x >= 2)
    if x.shape[0] == 1:
        return (vaf > settings.variant_fraction) & (x >= 2)
    testable = x >= 2
    for _ in range(10):
        quiet = ~carrier
        pooled_x = (x * quiet).sum(axis=0)
        pooled_d = (depth * quiet).sum(axis=0)
        others_x = pooled_x - x * quiet
        others_d = pooled_d - depth * quiet
        rate = np.maximum(others_x / np.maximum(others_d, 1), settings.error_floor)
        p = np.ones(x.shape)
        p[testable] = binomial_sf(x[testable], depth[testable], rate[testable])
        alone = others_d == 0  # no other sample with reads: the fraction decides
        new = np.where(alone, vaf > settings.variant_fraction, p < settings.carrier_alpha)
        new = (new | (vaf > settings.germline_fraction)) & testable
        if (new == carrier).all():
            break
        carrier = new
    return carrier


def snv_background(
    batch: list[Counts], panel: list[Counts], ref: np.ndarray, settings: CallSettings
) -> SnvBackground:
    """``ref``: the reference base (0-3, -1 for N) of each target position."""
    everyone = batch + panel
    x = np.stack([c.bases for c in everyone])  # (A, 4 cells, 4 bases, n)
    depth_cells = x.sum(axis=2)  # (A, 4, n)
    depth = depth_cells.sum(axis=1)  # (A, n)
    carrier = carriers(x.sum(axis=1), depth[:, None, :], settings)
    own, own_rho = _own_rates(x, depth_cells, ~carrier, ref, settings)
    # the screen reads each type's rate over the positions below a mosaic's fraction, not
    # the carrier rule's quiet ones: in a deep library the damage itself looks like a
    # carrier at every G (1% G>T on F1R2 is 0.5% of 2,800 fragments)
    low = x.sum(axis=1) <= settings.variant_fraction * depth[:, None, :]  # (A, 4, n)
    screens = [_orientation_screen(x[j], depth_cells[j], low[j], ref, settings)
               for j in range(len(everyone))]  # fmt: skip
    untrusted = np.stack([u for u, _ in screens])  # (A, 4 ref, 4 alt)
    excess = np.stack([e for _, e in screens])
    ref_index = np.where(ref >= 0, ref, 0)
    # a library's damaged reads are not the assay's error: left out of the others'
    # backgrounds (an oxidised sample's G>T would lift everyone's spread)
    usable = _usable_cells(untrusted, ref_index)  # (A, 4 cells, 4 alt, n)
    ev_x = np.where(usable, x, 0)
    ev_d = np.where(usable, depth_cells[:, :, None, :], 0)
    ev_totals, ev_depth = ev_x.sum(axis=1), ev_d.sum(axis=1)  # (A, 4 alt, n)
    typed = own.max(axis=1)[:, ref_index, :].transpose(0, 2, 1)  # (A, 4 alt, n)
    quiet = trimmed(ev_totals, ev_depth, ~carrier, typed, settings)
    # a panel of normals is negative by definition: what it shows is the assay's error
    quiet[len(batch) :] = ~carrier[len(batch) :]
    q = quiet[:, None]  # (A, 1, 4 alt, n)
    pooled_x, pooled_d = (ev_x * q).sum(axis=0), (ev_d * q).sum(axis=0)
    s_count = len(batch)
    mu = np.empty((s_count, 4, 4, x.shape[-1]))
    for s in range(s_count):
        others_x = pooled_x - ev_x[s] * q[s]
        others_d = pooled_d - ev_d[s] * q[s]
        position = np.where(others_d > 0, others_x / np.maximum(others_d, 1), 0.0)
        own_typed = own[s][:, ref_index, :].transpose(0, 2, 1)  # (4 cells, 4 alt, n)
        mu[s] = np.maximum(np.maximum(position, own_typed), settings.error_floor)
    _, position_rho, references = leave_one_out(ev_totals, ev_depth, quiet)
    # a position's own estimate only where its counts spread more than the type's does
    # (with ~4,000 molecules, 3 stray ones in one of six samples would otherwise set it)
    typical = _type_dispersion(ev_totals, ev_depth, quiet, ref)[ref_index, :].T  # (4, n)
    q_totals, q_depth = np.where(quiet, ev_totals, 0), np.where(quiet, ev_depth, 0)
    spread_p, samples = overdispersed(q_totals, q_depth, typical, axis=0)
    # below one expected count a sample, the spread is the counts' own (Poisson) noise:
    # two molecules in one of twelve samples says nothing about the position
    expected = q_totals.sum(axis=0) / np.maximum(samples, 1)
    own_spread = (spread_p < settings.overdispersion_p) & (expected >= 1)
    position_rho = np.where(own_spread, np.maximum(position_rho, typical), typical)
    # too few others at the position (alone, or the rest carry the allele): the type's
    # spread across the batch, or with no batch to speak of the sample's own
    if len(everyone) > MIN_REFERENCES:
        fallback = np.broadcast_to(typical, (s_count, *typical.shape))
    else:
        fallback = own_rho[:s_count][:, ref_index, :].transpose(0, 2, 1)  # (S, 4 alt, n)
    rho = np.where(references[:s_count] >= MIN_REFERENCES, position_rho[:s_count], fallback)
    return SnvBackground(mu, rho, carrier[:s_count], untrusted[:s_count], excess[:s_count],
                         references[:s_count])  # fmt: skip


def _type_dispersion(x, n, quiet, ref) -> np.ndarray:
    """(4 REF, 4 ALT): the overdispersion across the quiet samples of each substitution
    type, pooled over its positions (the moment estimate's parts summed where any sample
    shows the allele), bounded to [``RHO_TYPE_MIN``, ``RHO_MAX``]: thousands of positions
    measure it far better than the few samples at one position do."""
    _, numerator, denominator, _ = moment_parts(np.where(quiet, x, 0), np.where(quiet, n, 0))
    out = np.full((4, 4), RHO_MIN)
    for r in range(4):
        at = ref == r
        for a in range(4):
            shown = at & (numerator[a] != 0)
            if a != r and shown.any():
                out[r, a] = numerator[a, shown].sum() / max(denominator[a, shown].sum(), 1.0)
    return np.clip(out, RHO_TYPE_MIN, RHO_MAX)


def _usable_cells(untrusted: np.ndarray, ref_index: np.ndarray) -> np.ndarray:
    """(A, 4 cells, 4 alt, n): the cells that are evidence of each allele in each sample
    (every cell but an untrusted orientation's)."""
    per_position = untrusted[:, ref_index, :].transpose(0, 2, 1)  # (A, 4 alt, n)
    usable = np.ones((untrusted.shape[0], 4, 4, len(ref_index)), dtype=bool)
    for o, cells in enumerate(ORIENTATION_HALVES):
        usable[:, list(cells)] = (per_position != o)[:, None]
    return usable


def trimmed(
    x: np.ndarray,
    n: np.ndarray,
    quiet: np.ndarray,
    rate: np.ndarray,
    settings: CallSettings,
    share: float | None = None,
) -> np.ndarray:
    """``quiet`` (axis 0: the samples a background is made of) without the outliers: a
    sample whose count is improbable (beta-binomial P < ``outlier_alpha``) against what the
    other samples show carries something below the carrier rule, such as a 0.2% mosaic or
    3 stray molecules, and would lift every other sample's spread. Two looks:

    - where the usual samples (the lower half by rate, at least :data:`MIN_REFERENCES`)
      show next to no error (a rate within :data:`TIGHT_RATE` times the error floor, and
      binomial-like: spread at most :data:`TIGHT`; a UMI consensus), the others are
      tested against them as binomial counts (P < ``tight_outlier_alpha``), so that
      several samples with the same low-level allele (half the batch at most) cannot mask
      each other, and 3 stray molecules leave too;
    - elsewhere, against the others' pooled rate and spread, leaving it out (three rounds,
      as the most extreme leave, at most ``share`` of the quiet samples, the most extreme
      first), so a position noisy in every sample keeps its spread.

    Either way a sample's own ``rate`` for that type stands in where higher, and only
    where at least :data:`MIN_REFERENCES` others say what is usual. A sample left out is
    still tested itself, against the rest: only the others' backgrounds lose it."""
    share = settings.trim_share if share is None else share
    x, n = np.asarray(x, dtype=np.int64), np.asarray(n, dtype=np.int64)
    quiet = np.asarray(quiet, dtype=bool) & (n > 0)
    count = quiet.sum(axis=0)
    cap = np.floor(share * count)
    observed = x / np.maximum(n, 1)
    order = np.argsort(np.argsort(np.where(quiet, observed, np.inf), axis=0, kind="stable"), axis=0)
    usual = quiet & (order < np.maximum((count + 1) // 2, MIN_REFERENCES))
    usual_x, usual_n = np.where(usual, x, 0), np.where(usual, n, 0)
    p_usual = usual_x.sum(axis=0) / np.maximum(usual_n.sum(axis=0), 1)
    rho_usual, samples = dispersion(usual_x, usual_n, axis=0)
    tight = (
        (p_usual <= TIGHT_RATE * settings.error_floor)
        & (rho_usual <= TIGHT)
        & (samples >= MIN_REFERENCES)
    )
    # binomial, at a laxer level: where the usual samples show next to no error (a UMI
    # consensus), a handful of copies in a sample is not the assay's error
    out = _improbable(x, n, quiet & ~usual & tight, p_usual, 0.0, rate, settings,
                      settings.tight_outlier_alpha)  # fmt: skip
    left_out = out.sum(axis=0)
    quiet = quiet & ~out
    for _ in range(3):
        p, rho, others = leave_one_out(x, n, quiet)
        look = quiet & ~tight & (others >= MIN_REFERENCES) & (left_out < cap)
        out = _improbable(x, n, look, p, rho, rate, settings)
        if not out.any():
            break
        rank = np.argsort(np.argsort(np.where(out, -observed, np.inf), axis=0, kind="stable"),
                          axis=0)  # fmt: skip
        out &= rank < cap - left_out
        quiet &= ~out
        left_out += out.sum(axis=0)
    return quiet


def _improbable(x, n, look, p, rho, rate, settings: CallSettings, alpha=None) -> np.ndarray:
    """Where ``look``: is the count at or beyond the smallest count the beta-binomial of
    rate max(``p``, own ``rate``, floor) and spread ``rho`` makes improbable (P below
    ``alpha``, by default ``outlier_alpha``)?"""
    alpha = settings.outlier_alpha if alpha is None else alpha
    look = look & (x >= 2)
    out = np.zeros(x.shape, dtype=bool)
    if not look.any():
        return out
    mu = np.maximum(np.maximum(np.broadcast_to(p, x.shape)[look], rate[look]),
                    settings.error_floor)  # fmt: skip
    k = min_count(n[look], mu, np.broadcast_to(rho, x.shape)[look], alpha,
                  floor=2)  # fmt: skip
    out[look] = x[look] >= k
    return out


def _own_rates(x, depth_cells, quiet, ref, settings: CallSettings):
    """Each sample's rate per (cell, REF base, ALT base) over its positions where it does
    not carry that ALT, and the overdispersion across those positions per (REF, ALT).
    Positions where the sample's count is an outlier among its own positions of that type
    (its own low-level mosaics, which the carrier rule cannot see in a sample scanned
    alone) are left out of both: a sample's spread is read from positions that are not
    its mosaics."""
    samples = x.shape[0]
    own = np.zeros((samples, 4, 4, 4))  # (A, cell, ref, alt)
    own_rho = np.full((samples, 4, 4), RHO_MIN)
    for r in range(4):
        at = ref == r
        if not at.any():
            continue
        for a in range(4):
            if a == r:
                continue
            per_x = x[:, :, a, :][:, :, at].sum(axis=1)  # (A, m)
            per_d = depth_cells[:, :, at].sum(axis=1)
            use = trimmed(per_x.T, per_d.T, quiet[:, a, at].T, np.zeros(per_x.T.shape),
                          settings, share=settings.own_trim_share).T  # fmt: skip
            cells_x = np.where(use[:, None, :], x[:, :, a, :][:, :, at], 0).sum(axis=2)
            cells_d = np.where(use[:, None, :], depth_cells[:, :, at], 0).sum(axis=2)
            own[:, :, r, a] = cells_x / np.maximum(cells_d, 1)  # (A, cells)
            own_rho[:, r, a], _ = dispersion(np.where(use, per_x, 0),
                                             np.where(use, per_d, 0), axis=1)  # fmt: skip
    return own, own_rho


def _orientation_screen(x, depth_cells, quiet, ref, settings: CallSettings):
    """(untrusted orientation per (REF, ALT) or -1, that orientation's rate ratio)."""
    untrusted = np.full((4, 4), -1, dtype=np.int64)
    ratio = np.ones((4, 4))
    for r in range(4):
        at = ref == r
        for a in range(4):
            if a == r or not at.any():
                continue
            use = quiet[a] & at
            alt = [int(x[list(cells)][:, a][:, use].sum()) for cells in ORIENTATION_HALVES]
            reads = [int(depth_cells[list(cells)][:, use].sum()) for cells in ORIENTATION_HALVES]
            if max(reads) == 0:
                continue
            present = -1
            if min(reads) == 0:
                # one orientation only (a directional amplicon design: read 1 always from
                # the forward primer): the missing orientation's rate of this type is, by
                # strand symmetry, the present one's rate of the complementary type (G>T
                # on F2R1 and C>A on F1R2 are both C>A in read 1)
                present = 0 if reads[0] else 1
                cells = list(ORIENTATION_HALVES[present])
                use_c = quiet[3 - a] & (ref == 3 - r)  # BASES is ACGT: complement 3 - i
                alt[1 - present] = int(x[cells][:, 3 - a][:, use_c].sum())
                reads[1 - present] = int(depth_cells[cells][:, use_c].sum())
                if reads[1 - present] == 0:
                    continue
            rates = [max(alt[o] / reads[o], 1e-7) for o in (0, 1)]
            o = int(rates[1] > rates[0])
            if present >= 0 and o != present:
                continue  # the complementary type is the higher: this one is not in excess
            other = 1 - o
            expected = reads[o] * max(rates[other], settings.error_floor / 10)
            ratio[r, a] = rates[o] / rates[other]
            if (
                ratio[r, a] >= settings.orientation_ratio
                and alt[o] - expected >= settings.orientation_min_excess
                and binomial_sf(alt[o], reads[o], expected / reads[o]) < settings.orientation_alpha
            ):
                untrusted[r, a] = o
    return untrusted, ratio


def indel_background(
    batch: list[Counts], panel: list[Counts], settings: CallSettings
) -> IndelBackground:
    everyone = batch + panel
    index = {int(p): i for i, p in enumerate(batch[0].positions.tolist())}
    alleles = sorted({k for c in everyone for k in c.indels if k[0] in index})
    s_count = len(batch)
    depth = np.stack([c.indel_depth for c in everyone])  # (A, 4, n)
    mu: dict = {}
    rho: dict = {}
    carrier: dict = {}
    quiet_reads = np.zeros((len(everyone), 4))
    quiet_per_position = np.zeros((len(everyone), depth.shape[-1]))
    zero = np.zeros(4, dtype=np.int64)
    for allele in alleles:
        col = index[allele[0]]
        x = np.stack([c.indels.get(allele, zero) for c in everyone])  # (A, 4)
        d = depth[:, :, col]
        carries = carriers(x.sum(axis=1), d.sum(axis=1), settings)
        quiet = ~carries
        quiet_reads += np.where(quiet[:, None], x, 0)
        quiet_per_position[:, col] += np.where(quiet, x.sum(axis=1), 0)
        pooled_x = (x * quiet[:, None]).sum(axis=0)
        pooled_d = (d * quiet[:, None]).sum(axis=0)
        mus, rhos = np.empty((s_count, 4)), np.empty(s_count)
        for s in range(s_count):
            others_x = pooled_x - x[s] * quiet[s]
            others_d = pooled_d - d[s] * quiet[s]
            mus[s] = np.where(others_d > 0, others_x / np.maximum(others_d, 1), 0.0)
            keep = (np.arange(len(everyone)) != s) & quiet
            r, refs = dispersion(x[keep].sum(axis=1), d[keep].sum(axis=1))
            rhos[s] = r if refs >= MIN_REFERENCES else np.nan
        mu[allele], rho[allele], carrier[allele] = mus, rhos, carries[:s_count]
    informative = depth.sum(axis=2)  # (A, 4)
    own = quiet_reads / np.maximum(informative, 1)
    own_rho, _ = dispersion(quiet_per_position, depth.sum(axis=1), axis=1)
    for allele in alleles:
        m = np.maximum(np.maximum(mu[allele], own[:s_count]), settings.error_floor)
        mu[allele] = m
        rho[allele] = np.where(np.isnan(rho[allele]), own_rho[:s_count], rho[allele])
    return IndelBackground(mu, rho, carrier, own[:s_count], own_rho[:s_count])


def describe_orientation(untrusted: int, ref: int, alt: int, ratio: float) -> str:
    """'F1R2 (G>T at 12x the F2R1 rate)' for the scan's outputs; '' when none."""
    if untrusted < 0:
        return ""
    return (
        f"{ORIENTATIONS[untrusted]} ({BASES[ref]}>{BASES[alt]} at {ratio:.0f}x the "
        f"{ORIENTATIONS[1 - untrusted]} rate)"
    )
