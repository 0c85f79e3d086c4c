"""The scan's error background (reads/background.py): what the other samples may and may not
contribute. Counts are built by hand here (numpy draws with a fixed seed), so the expected
values are the arithmetic of the counts themselves: pooled rates and moment estimates
recomputed in the test, not read back from the module."""

from __future__ import annotations

import numpy as np
import pytest

from nlrp3annot.reads.background import snv_background, trimmed
from nlrp3annot.reads.betabinomial import RHO_MIN, leave_one_out
from nlrp3annot.reads.calling import Candidate, near_indels
from nlrp3annot.reads.pileup import Counts
from nlrp3annot.reads.settings import CallSettings
from nlrp3annot.values import ScanLimits

SETTINGS = CallSettings()
A, C, G, T = range(4)


def moments(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Pooled rate and Kleinman's moment estimate of rho, written out for the test."""
    p = x.sum() / n.sum()
    spread = float((n * (x / n - p) ** 2).sum())
    denominator = n.sum() - (n**2).sum() / n.sum()
    rho = (spread / (p * (1 - p)) - (len(x) - 1)) / denominator
    return p, float(np.clip(rho, RHO_MIN, 0.1))


def test_leave_one_out_is_each_samples_others_pooled():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 6, (9, 5))
    n = rng.integers(300, 3000, (9, 5))
    p, rho, samples = leave_one_out(x, n, np.ones(x.shape, bool))
    for j in range(9):
        others = np.arange(9) != j
        for col in range(5):
            want_p, want_rho = moments(x[others, col], n[others, col])
            assert p[j, col] == pytest.approx(want_p)
            assert rho[j, col] == pytest.approx(want_rho)
            assert samples[j, col] == 8


def test_a_sample_with_a_few_stray_molecules_is_left_out_of_the_others_background():
    """12 samples of ~4,000 molecules with errors at 1e-4, and one with 8 molecules of the
    allele (0.2%, below the carrier rule): it is left out; the quiet ones stay."""
    rng = np.random.default_rng(3)
    n = np.full((13, 1), 4000)
    x = rng.binomial(4000, 1e-4, (13, 1))
    x[5, 0] = 8
    quiet = trimmed(x, n, np.ones(x.shape, bool), np.zeros(x.shape), SETTINGS)
    assert not quiet[5, 0]
    assert quiet[np.arange(13) != 5, 0].all()
    # the others' spread is then that of the samples without it: at the floor
    _, rho, _ = leave_one_out(x, n, quiet)
    assert rho[0, 0] == pytest.approx(moments(np.delete(x[:, 0], [0, 5]),
                                              np.delete(n[:, 0], [0, 5]))[1])  # fmt: skip


def test_a_position_noisy_in_every_sample_keeps_its_spread():
    """Error rates that vary between samples (mean 0.2%, rho 1e-3: a noisy position in
    every sample): at most a quarter of the samples leave any background, and the spread
    the others show stays near the truth, not at the floor."""
    rng = np.random.default_rng(11)
    rates = rng.beta(0.002 * 999, 0.998 * 999, (20, 50))  # mean 0.002, rho 1e-3
    n = np.full((20, 50), 2000)
    x = rng.binomial(n, rates)
    quiet = trimmed(x, n, np.ones(x.shape, bool), np.zeros(x.shape), SETTINGS)
    assert ((~quiet).sum(axis=0) <= 5).all()
    _, rho, _ = leave_one_out(x, n, quiet)
    assert np.median(rho) > 0.0004


def test_where_the_other_samples_show_no_error_a_few_copies_leave_their_background():
    """A UMI-like position: errors at 1e-4 of ~3,900 molecules; three samples carry the
    allele at 0.1-0.4% (5, 8 and 16 molecules) and one shows 3 stray molecules. Each
    leaves the others' background (a leave-one-out test alone would keep them: they
    mask each other); samples with 0-1 molecules stay."""
    x = np.array([[16], [0], [0], [1], [5], [8], [0], [3], [0], [0]])
    n = np.full(x.shape, 3900)
    quiet = trimmed(x, n, np.ones(x.shape, bool), np.zeros(x.shape), SETTINGS)
    assert quiet[:, 0].tolist() == [False, True, True, True, False, False, True, False,
                                    True, True]  # fmt: skip


def counts(name: str, bases: np.ndarray, positions: np.ndarray) -> Counts:
    n = bases.shape[-1]
    return Counts(name, f"{name}.bam", "GRCh38", "chr1", positions, bases,
                  np.zeros((4, n), np.int64), np.zeros((4, n), np.int64))  # fmt: skip


def library(rng, ref: np.ndarray, depth: int, oxidised: float = 0.0) -> np.ndarray:
    """(4 cells, 4 bases, n) fragments of a capture library: the reference base, errors at
    1e-4 to each other base, and on F1R2 cells G>T at ``oxidised`` (8-oxoG)."""
    bases = np.zeros((4, 4, len(ref)), np.int64)
    per_cell = depth // 4
    for cell in range(4):
        for i, r in enumerate(ref):
            rates = np.full(4, 1e-4)
            if oxidised and r == G and cell in (0, 1):
                rates[T] = oxidised
            rates[r] = 0
            rates[r] = 1 - rates.sum()
            bases[cell, :, i] = rng.multinomial(per_cell, rates)
    return bases


def test_an_oxidised_librarys_g_to_t_stays_out_of_the_others_background():
    rng = np.random.default_rng(5)
    ref = np.array([G, A, C, T] * 150)
    positions = np.arange(1000, 1000 + len(ref))
    batch = [counts(f"S{k}", library(rng, ref, 4000), positions) for k in range(6)]
    batch.append(counts("OXO", library(rng, ref, 4000, oxidised=0.01), positions))
    bg = snv_background(batch, [], ref, SETTINGS)
    assert bg.untrusted[6][G, T] == 0  # F1R2 left out in the oxidised sample itself
    at_g = np.flatnonzero(ref == G)
    # sample 0's F1R2 G>T background: about the clean samples' 1e-4, not the ~1.8e-3 the
    # six others pooled would give with the oxidised one's 1% in it
    x = np.stack([c.bases for c in batch[1:]])[:, 0][:, :, at_g]  # (6, 4 bases, G sites)
    with_oxidised = x[:, T].sum() / x.sum()
    assert with_oxidised > 0.0015
    assert bg.mu[0][0, T, at_g].mean() < 0.0005


def candidate(pos: int, ref: str, alt: str, alt_reads: int, depth: int) -> Candidate:
    quarter = depth // 4
    c = Candidate(pos, ref, alt, (alt_reads, 0, 0, 0), (quarter,) * 4, (1e-4,) * 4, 1e-4,
                  (True,) * 4, 1e-9, 1e-6, False)  # fmt: skip
    c.verdict = "called"
    return c


def test_an_snv_beside_a_much_commoner_indel_is_refused_and_one_far_away_is_not():
    deletion = candidate(1000, "TC", "T", 400, 800)  # 50%: the deleted base is 1001
    beside = candidate(1001, "C", "T", 5, 800)  # 0.6%, on the deleted base
    far = candidate(1010, "G", "A", 5, 800)
    big = candidate(1003, "A", "G", 200, 800)  # 25%: not small beside the 50% deletion
    found = [deletion, beside, far, big]
    near_indels(found, SETTINGS)
    assert [c.verdict for c in found] == ["called", "near_indel", "called", "called"]


def test_known_alleles_lost_to_damage_make_a_scan_not_assessable_and_say_why():
    from nlrp3annot.patients.status import _scan_negative

    limits = ScanLimits(0.013, 61, 0.013, 5, 0.013, 0.016, 0.10, known_damaged=3)
    status, reason = _scan_negative(limits)
    assert status == "not_assessable" and "3 known pathogenic allele(s)" in reason
    assert "damage" in reason
    back = ScanLimits.from_header(dict(
        part.split("=", 1) for part in limits.header("S").removeprefix(
            "##NLRP3_SCAN=<").removesuffix(">").split(",")))  # fmt: skip
    assert back == limits


def test_a_sparse_position_takes_its_types_spread_and_a_panel_is_never_trimmed():
    """UMI-like counts (~3,900 molecules, errors 1e-4 at every C position of 12 samples):
    two molecules in one sample at one position do not give that position a spread of its
    own (below one expected count a sample, counts are Poisson noise); a panel sample with
    5 copies (below the carrier rule) stays in the background (a panel is negative by
    definition)."""
    rng = np.random.default_rng(2)
    ref = np.full(400, C)
    positions = np.arange(5000, 5400)

    def umi_sample(name: str) -> Counts:
        bases = np.zeros((4, 4, len(ref)), np.int64)
        for cell in range(4):
            errors = rng.binomial(975, 1e-4, (3, len(ref)))
            bases[cell, [A, G, T]] = errors
            bases[cell, C] = 975 - errors.sum(axis=0)
        return counts(name, bases, positions)

    batch = [umi_sample(f"S{k}") for k in range(12)]
    batch[3].bases[0, T, 7] += 2
    batch[3].bases[0, C, 7] -= 2
    panel = [umi_sample("N1")]
    panel[0].bases[0, A, 9] += 5
    panel[0].bases[0, C, 9] -= 5
    bg = snv_background(batch, panel, ref, SETTINGS)
    shown = bg.rho[0][T, 7]
    assert shown < 5e-5  # the type's (about 1e-5 here), not the ~3e-4 its counts would give
    # the panel's 5 copies at position 9 are in sample 0's background: the others' F1R2+
    # C>A rate there, pooled
    others = np.stack([c.bases for c in batch[1:] + panel])[:, 0, :, 9]  # (12, 4 bases)
    pooled = others[:, A].sum() / others.sum()
    assert pooled > SETTINGS.error_floor  # above the floor: the test can tell
    assert bg.mu[0][0, A, 9] == pytest.approx(pooled)
