"""Amplicon pools as independent evidence (``scan --primers`` with two pools): ART amplicon
reads (art_illumina -amp, scripts/simulate_art.py) of a tiling whose neighbouring
amplicons alternate between pools 1 and 2 and overlap. A PCR error is planted with pysam
into the reads of one amplicon only (an early error copied into part of one PCR), or of
both amplicons over an overlap; the expected counts are what the test wrote."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import TEST_FASTA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from simulate_art import (  # noqa: E402
    AMPLICON,
    PRIMER,
    SLICE,
    Library,
    Locus,
    amplicon_starts,
    primers_bed,
    simulate_sample,
)

from nlrp3annot.reads.alignments import ReadFilters  # noqa: E402
from nlrp3annot.reads.evidence import evidence_parts, evidence_text  # noqa: E402
from nlrp3annot.reads.scan import read_counts, scan_alignments  # noqa: E402

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("art_illumina", "bwa", "samtools")),
    reason="needs art_illumina, bwa and samtools (Debian: art-nextgen-simulation-tools)",
)
FASTA = TEST_FASTA["GRCh38"]
AMPLICONS = Library("amplicon", 1000.0, mark_duplicates=False)
# two neighbours inside the long exon 3: A6 (pool 1) and A7 (pool 2); first bases, 1-based
FIRST = {n: SLICE[0] + amplicon_starts()[n] for n in (6, 7)}
# in both inserts (A7's starts at +172, A6's ends at +197), 10+ bases from clipped ends;
# two positions: samples of one batch sharing an allele would make each other's background
OVERLAP = FIRST[6] + 185
OVERLAP_BOTH = FIRST[6] + 183
ALONE = FIRST[6] + 110  # in A6's insert only (A5's ends before, A7's starts after)
FRACTION = 0.05


def test_the_positions_are_where_the_tiling_puts_them():
    """The overlap and the lone position, from the tiling's own arithmetic."""
    starts = {n: SLICE[0] + amplicon_starts()[n] for n in (5, 6, 7)}
    inserts = {n: (a + PRIMER, a + AMPLICON - PRIMER - 1) for n, a in starts.items()}
    for pos in (OVERLAP, OVERLAP_BOTH):
        assert inserts[6][0] + 10 <= pos <= inserts[6][1] - 10
        assert inserts[7][0] + 10 <= pos <= inserts[7][1] - 10
    assert inserts[6][0] <= ALONE <= inserts[6][1]
    assert inserts[5][1] < ALONE < inserts[7][0]


ALT = {"A": "C", "C": "A", "G": "C", "T": "A"}  # a transversion, not a damage type


def plant(
    source: Path, out: Path, edits: dict[int, set[int]], locus: Locus, seed: int
) -> dict[int, int]:
    """``source``'s reads with, at each position of ``edits``, the base of a share
    FRACTION of the fragments of the named amplicons (pair's leftmost aligned base at the
    amplicon's first base) changed to :data:`ALT` of the reference base, both mates where
    both read it, at quality 37. Returns per position the fragments changed."""
    rng = np.random.default_rng(seed)
    with pysam.AlignmentFile(str(source)) as bam:
        reads = list(bam.fetch("chr1"))
        header = bam.header
    chosen: dict[int, set[str]] = {pos: set() for pos in edits}
    names = sorted({r.query_name for r in reads})
    draw = {pos: dict(zip(names, rng.random(len(names)), strict=True)) for pos in edits}
    for r in reads:
        if r.is_secondary or r.is_supplementary or not r.is_proper_pair:
            continue
        left = r.reference_start if r.template_length > 0 else r.next_reference_start
        for pos, amplicons in edits.items():
            if any(left == FIRST[n] - 1 for n in amplicons) and draw[pos][r.query_name] < FRACTION:
                chosen[pos].add(r.query_name)
    written = {pos: set() for pos in edits}
    with pysam.AlignmentFile(str(out), "wb", header=header) as handle:
        for r in reads:
            for pos in edits:
                if r.query_name not in chosen[pos]:
                    continue
                at = {ref: q for q, ref in r.get_aligned_pairs(matches_only=True)}
                if pos - 1 not in at:
                    continue
                q = at[pos - 1]
                quals, seq = list(r.query_qualities), r.query_sequence  # a copy: setting
                # the sequence resets the qualities
                new = ALT[locus.base(pos)]
                quals[q] = 37
                r.query_sequence = seq[:q] + new + seq[q + 1 :]
                r.query_qualities = quals
                written[pos].add(r.query_name)
            handle.write(r)
    pysam.index(str(out))
    return {pos: len(v) for pos, v in written.items()}


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pools")
    locus = Locus(folder / "locus")
    plain = {
        name: simulate_sample(
            folder / f"{name}.raw.bam", name, [], AMPLICONS, seed=70 + k, locus=locus
        )  # fmt: skip
        for k, name in enumerate(("ONE", "BOTH", "R1", "R2"))
    }
    one = plant(plain["ONE"], folder / "ONE.bam", {OVERLAP: {6}, ALONE: {6}}, locus, seed=1)
    both = plant(plain["BOTH"], folder / "BOTH.bam", {OVERLAP_BOTH: {6, 7}}, locus, seed=2)
    paths = [folder / "ONE.bam", folder / "BOTH.bam", plain["R1"], plain["R2"]]
    two = primers_bed(folder / "two.bed")
    single = primers_bed(folder / "one.bed", pools=1)
    return paths, plain, two, single, one, both


def test_the_pools_counts_add_up_to_the_files(reads):
    """Each fragment of ART's amplicons is in one pool: the pools' counts are the file's
    counts, cell by cell, position by position, indel by indel."""
    _, plain, two, single, _, _ = reads
    *_, pools = read_counts([plain["R1"]], FASTA, ReadFilters(primers=str(two)))
    *_, (whole,) = read_counts([plain["R1"]], FASTA, ReadFilters(primers=str(single)))
    assert [c.pool for c in pools] == ["1", "2"] and [c.library for c in pools] == [
        "pool_1", "pool_2"]  # fmt: skip
    assert not whole.pool and whole.dropped["no_amplicon"] == 0
    assert pools[0].dropped["no_amplicon"] == 0
    np.testing.assert_array_equal(pools[0].bases + pools[1].bases, whole.bases)
    np.testing.assert_array_equal(pools[0].indel_depth + pools[1].indel_depth,
                                  whole.indel_depth)  # fmt: skip
    assert pools[0].reads + pools[1].reads == whole.reads
    indels = {k: v.copy() for k, v in pools[0].indels.items()}
    for k, v in pools[1].indels.items():
        indels[k] = indels.get(k, 0) + v
    assert indels.keys() == whole.indels.keys()
    for k in indels:
        np.testing.assert_array_equal(indels[k], whole.indels[k])
    # each pool reads its own amplicons: at the lone position only pool 1 (A6 is n=6)
    at = int(np.flatnonzero(whole.positions == ALONE)[0])
    assert pools[0].depth[at] == whole.depth[at] > 100 and pools[1].depth[at] == 0
    over = int(np.flatnonzero(whole.positions == OVERLAP)[0])
    assert pools[0].depth[over] > 100 and pools[1].depth[over] > 100


def candidate(result, name, pos):
    s = next(s for s in result.samples if s.sample == name)
    return s, next(c for c in s.candidates if c.pos == pos and c.ref != c.alt)


def test_a_pcr_error_in_one_amplicon_is_not_called_in_both_it_is(reads):
    paths, _, two, _, one, both = reads
    assert one[OVERLAP] >= 8 and both[OVERLAP_BOTH] >= 16 and one[ALONE] >= 8  # what was written
    result = scan_alignments([str(p) for p in paths], FASTA, filters=ReadFilters(primers=str(two)))
    # one amplicon's error in the overlap: pool 1 (A6) calls it, pool 2 (A7) does not
    s, c = candidate(result, "ONE", OVERLAP)
    # every fragment the test changed (A6's read 2, reverse: cell F1R2-), and at most
    # a few of ART's own errors to that base (some 0.3 expected)
    assert 0 <= c.alt_cells[1] - one[OVERLAP] <= 2
    assert c.verdict != "called" and c.called_in == ("pool_1",)
    assert s.read_by[(c.pos, c.ref, c.alt)] == ("pool_1", "pool_2")
    text = evidence_text(evidence_parts(c, s.assay, result.settings, s.libraries,
                                        s.read_by[(c.pos, c.ref, c.alt)]))  # fmt: skip
    assert "called in pool 1 only of pool 1 and pool 2 (overlap" in text
    # the same share in both amplicons' reads: both pools call it
    s, c = candidate(result, "BOTH", OVERLAP_BOTH)
    assert 0 <= c.alt_reads - both[OVERLAP_BOTH] <= 2
    assert c.verdict == "called" and c.called_in == ("pool_1", "pool_2")
    text = evidence_text(evidence_parts(c, s.assay, result.settings, s.libraries,
                                        s.read_by[(c.pos, c.ref, c.alt)]))  # fmt: skip
    assert "called in pool 1 and pool 2 (overlap)" in text
    # a position one pool reads: that pool decides alone
    s, c = candidate(result, "ONE", ALONE)
    assert 0 <= c.alt_reads - one[ALONE] <= 2
    assert c.verdict == "called" and c.called_in == ("pool_1",)
    assert s.read_by[(c.pos, c.ref, c.alt)] == ("pool_1",)
    text = evidence_text(evidence_parts(c, s.assay, result.settings, s.libraries,
                                        s.read_by[(c.pos, c.ref, c.alt)]))  # fmt: skip
    assert "one pool reads this position (pool 1); called there" in text
    # nothing else: the reference samples and the rest of the planted ones
    called = {(s.sample, c.pos) for s in result.samples for c in s.calls}
    assert called == {("BOTH", OVERLAP_BOTH), ("ONE", ALONE)}, called


def test_two_libraries_merged_in_one_file_give_a_unit_per_library_and_pool(reads, tmp_path):
    """One file holding two replicate libraries (one @RG per LB, reads tagged RG:Z) with a
    two-pool BED: four units, each library's pools counted as from that library's own
    file."""
    from test_scan_replicates import merge

    _, plain, two, _, _, _ = reads
    merged = merge(tmp_path / "M.bam", "M", {"L1": plain["R1"], "L2": plain["R2"]})
    *_, units = read_counts([merged], FASTA, ReadFilters(primers=str(two)))
    assert [c.library for c in units] == ["L1.pool_1", "L1.pool_2", "L2.pool_1", "L2.pool_2"]
    assert {c.sample for c in units} == {"M"} and {c.path for c in units} == {str(merged)}
    for lb, name in (("L1", "R1"), ("L2", "R2")):
        *_, alone = read_counts([plain[name]], FASTA, ReadFilters(primers=str(two)))
        mine = [c for c in units if c.library.startswith(f"{lb}.")]
        assert [c.pool for c in mine] == [c.pool for c in alone] == ["1", "2"]
        for a, b in zip(mine, alone, strict=True):
            np.testing.assert_array_equal(a.bases, b.bases)
            np.testing.assert_array_equal(a.indel_depth, b.indel_depth)
            assert a.reads == b.reads and a.dropped == b.dropped
