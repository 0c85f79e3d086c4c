"""The pure helpers of the scan's benchmark (scripts/benchmark_scan.py, scan_batches.py,
simulate_art.py) for its UMI design: family sizes, the batch's make-up, and how its rows
count calls. Cheap: no reads are simulated. Expected values are by hand and from scipy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from benchmark_scan import false_calls_per_reference, low_level_called, percent  # noqa: E402
from scan_batches import SNVS, UMI_QUICK, score, umi_batch  # noqa: E402
from simulate_art import Library, family_pairs  # noqa: E402


def test_umi_families_are_1_to_6_read_pairs_a_truncated_poisson() -> None:
    library = Library(umi=True, family_size=3.0, family_max=6)
    rng = np.random.default_rng(11)
    sizes = np.array([family_pairs(library, rng) for _ in range(20_000)])
    assert sizes.min() == 1 and sizes.max() == 6
    assert set(np.unique(sizes).tolist()) == {1, 2, 3, 4, 5, 6}
    # 1 + Poisson(2) given at most 5 copies beyond the first
    copies = np.arange(6)
    weights = stats.poisson.pmf(copies, 2.0)
    expected = 1 + float((copies * weights).sum() / weights.sum())
    assert abs(sizes.mean() - expected) < 0.05, (sizes.mean(), expected)


def test_families_without_a_bound_are_drawn_as_before() -> None:
    """The other designs' BAMs must not change: 1 + Poisson(size - 1), one draw a family."""
    library = Library(duplicates=0.3, family_size=3.0)
    mine, before = np.random.default_rng(5), np.random.default_rng(5)
    drawn = [family_pairs(library, mine) for _ in range(500)]
    assert drawn == [1 + int(before.poisson(2.0)) for _ in range(500)]
    assert max(drawn) > 6  # unbounded, as duplicate families were


def test_the_umi_batch_and_its_quick_subset() -> None:
    full = umi_batch()
    quick = umi_batch(**UMI_QUICK)
    assert len(full) == 12 and len(quick) == 6
    by_name = {s.name: s for s in full}
    for s in quick:  # a quick batch reuses the full one's BAMs: same alleles, same seeds
        assert (s.alleles, s.seed, s.low_level, s.stray) == (
            by_name[s.name].alleles, by_name[s.name].seed, by_name[s.name].low_level,
            by_name[s.name].stray,
        )  # fmt: skip
    mosaics = [s for s in full if s.alleles]
    assert sorted(s.alleles[0].fraction for s in mosaics) == [0.003] * 2 + [0.005] * 2 + [0.01] * 2
    assert len({(s.alleles[0].pos, s.alleles[0].alt) for s in mosaics}) == 6
    first_low = next(s for s in mosaics if s.alleles[0].fraction == 0.003)
    carriers = [s for s in full if s.low_level]
    assert [s.alleles[0].fraction for s in carriers] == [0.005, 0.01]
    for s in carriers:
        (low,) = s.low_level
        assert (low.pos, low.ref, low.alt, low.fraction) == (
            first_low.alleles[0].pos, first_low.alleles[0].ref, first_low.alleles[0].alt,
            0.0015,
        )  # fmt: skip
    references = [s for s in full if s.pure_reference]
    assert len(references) == 6
    assert [len(s.stray) for s in references] == [1, 0, 0, 0, 0, 0]
    ((stray, molecules),) = references[0].stray
    known = {(p, r, a) for p, r, a, _ in SNVS}
    assert molecules == 3 and (stray.pos, stray.ref, stray.alt) in known


def test_rows_count_stray_calls_as_false_and_low_level_calls_as_neither() -> None:
    samples = umi_batch()
    known = {(p, r, a) for p, r, a, _ in SNVS}
    carrier = next(s for s in samples if s.low_level)
    stray_reference = next(s for s in samples if s.stray)
    low = carrier.low_level[0]
    ((stray, _),) = stray_reference.stray
    calls = {s.name: {(a.pos, a.ref, a.alt) for a in s.alleles} for s in samples if s.alleles}
    calls[carrier.name].add((low.pos, low.ref, low.alt))
    calls[stray_reference.name] = {(stray.pos, stray.ref, stray.alt)}
    mine = score(samples, calls, known)
    assert (mine.found, mine.truths) == (6, 6)
    assert mine.false_calls_reference == 1 and mine.false_at_known == 1
    assert false_calls_per_reference(samples, calls) == f"1 in 6 ({stray_reference.name} 1)"
    assert false_calls_per_reference(samples, {}) == "0 in 6"
    assert low_level_called(samples, calls) == (1, 2)


def test_percent_keeps_the_digits_a_fraction_has() -> None:
    assert [percent(f) for f in (0.003, 0.0015, 0.005, 0.01, 0.1, 0.02)] == [
        "0.3%", "0.15%", "0.5%", "1%", "10%", "2%",
    ]  # fmt: skip
