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
type are then no evidence at all (the allele cannot be told from the damage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlrp3annot.reads.betabinomial import RHO_MIN, dispersion
from nlrp3annot.reads.fragments import ORIENTATION_HALVES
from nlrp3annot.reads.pileup import BASES, Counts
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.reads.tails import binomial_sf

ORIENTATIONS = ("F1R2", "F2R1")
MIN_REFERENCES = 3  # other samples needed for a position's own overdispersion


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
    totals = x.sum(axis=1)  # (A, 4, n)
    depth = depth_cells.sum(axis=1)  # (A, n)
    carrier = carriers(totals, depth[:, None, :], settings)
    quiet = ~carrier
    pooled_x = (x * quiet[:, None]).sum(axis=0)  # (4 cells, 4 bases, n)
    pooled_d = (depth_cells[:, :, None, :] * quiet[:, None]).sum(axis=0)
    own, own_rho = _own_rates(x, depth_cells, quiet, ref)
    s_count = len(batch)
    mu = np.empty((s_count, 4, 4, x.shape[-1]))
    rho = np.empty((s_count, 4, x.shape[-1]))
    references = np.empty((s_count, 4, x.shape[-1]), dtype=np.int64)
    untrusted = np.full((s_count, 4, 4), -1, dtype=np.int64)
    excess = np.ones((s_count, 4, 4))
    ref_index = np.where(ref >= 0, ref, 0)
    for s in range(s_count):
        others_x = pooled_x - x[s] * quiet[s][None]
        others_d = pooled_d - depth_cells[s][:, None, :] * quiet[s][None]
        position = np.where(others_d > 0, others_x / np.maximum(others_d, 1), 0.0)
        typed = own[s][:, ref_index, :].transpose(0, 2, 1)  # (4 cells, 4 alt, n)
        mu[s] = np.maximum(np.maximum(position, typed), settings.error_floor)
        keep = np.arange(len(everyone)) != s
        x_others = np.where(quiet[keep], totals[keep], 0)
        d_others = np.where(quiet[keep], depth[keep][:, None, :], 0)
        position_rho, references[s] = dispersion(x_others, d_others, axis=0)
        fallback = own_rho[s][ref_index, :].T  # (4 alt, n)
        rho[s] = np.where(references[s] >= MIN_REFERENCES, position_rho, fallback)
        untrusted[s], excess[s] = _orientation_screen(x[s], depth_cells[s], quiet[s], ref,
                                                      settings)  # fmt: skip
    return SnvBackground(mu, rho, carrier[:s_count], untrusted, excess, references)


def _own_rates(x, depth_cells, quiet, ref) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's rate per (cell, REF base, ALT base) over its positions where it does
    not carry that ALT, and the overdispersion across those positions per (REF, ALT)."""
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
            use = quiet[:, a, :] & at[None, :]  # (A, n)
            alt = np.where(use[:, None, :], x[:, :, a, :], 0).sum(axis=2)  # (A, cells)
            reads = np.where(use[:, None, :], depth_cells, 0).sum(axis=2)
            own[:, :, r, a] = alt / np.maximum(reads, 1)
            per_x = np.where(use, x[:, :, a, :].sum(axis=1), 0)
            per_d = np.where(use, depth_cells.sum(axis=1), 0)
            own_rho[:, r, a], _ = dispersion(per_x, per_d, axis=1)
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
