"""``nlrp3annot scan`` on reads made by tools we did not write: ART (art_illumina, the
empirical HiSeq 2500 error profile, 150 bp pairs whose mates overlap), bwa mem and samtools
(fixmate, sort, markdup), with library artefacts added to ART's reads from their true
alignment (scripts/simulate_art.py): 8-oxoG on read 1, FFPE deamination, PCR duplicate
families, UMI families with PCR errors. Expected values come from the simulation's truth
(what was put into the reads), samtools mpileup (fragment depth with its own overlap
handling), freebayes (the alleles really are in the reads) and scipy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_FASTA
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from scan_batches import DELETIONS, deletion, freebayes_calls, plain_fasta, write_targets  # noqa: E402
from simulate_art import Library, Locus, Mosaic, simulate_sample  # noqa: E402

from nlrp3annot.reads.alignments import ReadFilters  # noqa: E402
from nlrp3annot.reads.panel import load_panel  # noqa: E402
from nlrp3annot.reads.scan import scan_alignments  # noqa: E402

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("art_illumina", "bwa", "samtools")),
    reason="needs art_illumina, bwa and samtools (Debian: art-nextgen-simulation-tools)",
)
FASTA = TEST_FASTA["GRCh38"]
D303N = Mosaic(247_424_356, "G", "A", 0.05)  # c.907G>A, ClinVar pathogenic
DEPTH = 1000.0
CAPTURE = Library("capture", DEPTH, fragment_mean=250, fragment_sd=40)


def library(**artefacts) -> Library:
    return Library(**{**CAPTURE.__dict__, **artefacts})


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    """One deep batch: a mosaic (SNV and c.482del at 5%), a germline carrier of the same
    deletion, and five reference samples with and without artefacts."""
    folder = tmp_path_factory.mktemp("art")
    locus = Locus(folder / "locus")
    c482del = deletion(locus, *DELETIONS[0], 0.05)
    spec = {
        "MOS": ([D303N, c482del], library()),
        "CAR": ([Mosaic(c482del.pos, c482del.ref, c482del.alt, 0.5)], library()),
        "OXO": ([], library(oxidative=0.004)),
        "DEAM": ([], library(deamination=0.002)),
        "DUP": ([], library(duplicates=0.4, family_size=3.0)),
        "REF1": ([], library()),
        "REF2": ([], library()),
    }
    paths = {
        name: simulate_sample(folder / f"{name}.bam", name, alleles, lib, seed=k + 1, locus=locus)
        for k, (name, (alleles, lib)) in enumerate(spec.items())
    }
    return folder, paths, c482del, locus


@pytest.fixture(scope="module")
def batch(reads):
    _, paths, _, _ = reads
    return scan_alignments([str(p) for p in paths.values()], FASTA)


def sample(result, name):
    return next(s for s in result.samples if s.sample == name)


def called(result, name) -> set[tuple[int, str, str]]:
    return {(c.pos, c.ref, c.alt) for c in sample(result, name).calls}


def test_the_mosaic_snv_and_deletion_are_called_and_nothing_in_reference_samples(reads, batch):
    _, _, c482del, _ = reads
    mos = sample(batch, "MOS")
    truth = {(D303N.pos, D303N.ref, D303N.alt), (c482del.pos, c482del.ref, c482del.alt)}
    assert called(batch, "MOS") == truth
    for c in mos.calls:  # each interval holds the simulated fraction (scipy's interval)
        ci = stats.binomtest(c.alt_reads, c.depth).proportion_ci(method="exact")
        assert ci.low <= 0.05 <= ci.high, c
    for name in ("OXO", "DEAM", "DUP", "REF1", "REF2"):
        assert called(batch, name) == set(), (name, sample(batch, name).calls)
    # the germline carrier's deletion is called too, near half its fragments
    carrier = [c for c in sample(batch, "CAR").calls if c.pos == c482del.pos]
    assert carrier and 0.4 < carrier[0].vaf < 0.6
    # the limit stated at the known alleles is below the simulated 5%: a limit that holds
    assert mos.limits.known_snv is not None and mos.limits.known_snv < 0.05
    # captured fragments of random ends, read from either end: the assay says so
    for s in batch.samples:
        assert s.assay.design == "random fragments" and s.assay.fixed_read_ends is False, s.assay
        assert 0.4 < s.assay.f1r2_share < 0.6


def test_the_oxidative_and_deamination_signatures_are_told_by_orientation(batch):
    """What the simulation put in: 8-oxoG on read 1 is G>T on F1R2 and C>A on F2R1 (the
    reads' G in read orientation); deamination of the original strand is C>T on F1R2 and
    G>A on F2R1. The screen finds exactly those in those samples, and nothing in the clean
    ones."""
    from nlrp3annot.reads.background import snv_background
    from nlrp3annot.reads.pileup import BASES
    from nlrp3annot.reads.settings import CallSettings

    counts = [s.counts for s in batch.samples]
    ref = np.array([BASES.find(b) for b in batch.reference])
    bg = snv_background(counts, [], ref, CallSettings())
    names = [c.sample for c in counts]

    def flagged(name):
        u = bg.untrusted[names.index(name)]
        return {(BASES[r] + ">" + BASES[a], ("F1R2", "F2R1")[u[r, a]])
                for r in range(4) for a in range(4) if u[r, a] >= 0}  # fmt: skip

    assert flagged("OXO") == {("G>T", "F1R2"), ("C>A", "F2R1")}
    assert flagged("DEAM") == {("C>T", "F1R2"), ("G>A", "F2R1")}
    for name in ("REF1", "REF2", "DUP", "MOS"):
        assert flagged(name) == set(), name


def test_a_carrier_in_the_batch_does_not_change_the_mosaic_call(reads, batch):
    _, paths, c482del, _ = reads
    without = scan_alignments([str(paths[n]) for n in ("MOS", "OXO", "DEAM", "DUP", "REF1",
                                                       "REF2")], FASTA)  # fmt: skip

    key = (c482del.pos, c482del.ref, c482del.alt)

    def deletion_call(result):
        return next(c for c in sample(result, "MOS").candidates if (c.pos, c.ref, c.alt) == key)

    a, b = deletion_call(batch), deletion_call(without)
    assert a.verdict == b.verdict == "called"
    assert a.alt_cells == b.alt_cells
    # the carrier (half its fragments) is left out of the background: the same background
    assert a.background == pytest.approx(b.background, rel=0.5, abs=2e-4)
    assert a.background < 0.005


def test_one_sample_with_a_panel_of_normals_gets_the_calls_of_its_batch(reads, batch, tmp_path):
    _, paths, _, _ = reads
    panel = tmp_path / "panel.npz"
    normals = [str(paths[n]) for n in ("OXO", "DEAM", "DUP", "REF1", "REF2", "CAR")]
    run(["scan", "--make-panel", *normals, "--fasta", str(FASTA), "-o", str(panel), "-q"])
    alone = scan_alignments([str(paths["MOS"])], FASTA, panel=load_panel(panel))
    assert called(alone, "MOS") == called(batch, "MOS")
    bare = scan_alignments([str(paths["MOS"])], FASTA)  # no panel: its own background only
    assert called(bare, "MOS") == called(batch, "MOS")
    # a panel made with other read filters is refused in one line
    proc = run(["scan", str(paths["MOS"]), "--fasta", str(FASTA), "--panel", str(panel),
                "--min-baseq", "30", "-o", str(tmp_path / "o")], expect=2)  # fmt: skip
    assert "other read filters" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run(["scan", str(paths["MOS"]), "--fasta", str(FASTA), "--panel", str(FASTA),
                "-o", str(tmp_path / "o")], expect=2)  # fmt: skip
    assert "is not a panel of normals" in proc.stderr


def test_overlapping_mates_count_once_as_samtools_counts_fragments(reads, batch):
    """samtools mpileup detects overlapping mates (one base a fragment) unless -x: our
    depth is its depth within 1% (where mates disagree htslib keeps the better base at 80%
    of its quality, where we keep none; against a mate's low-quality base we keep the good
    one, htslib may not), and well below the read depth."""
    _, paths, _, _ = reads
    ours = sample(batch, "REF1").counts
    region = "chr1:247424300-247424400"

    def mpileup(*extra):
        out = subprocess.run(
            ["samtools", "mpileup", "-B", "-Q", "20", "-q", "20", "-d", "0", "-r", region,
             *extra, str(paths["REF1"])], capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return {int(f[1]): int(f[3]) for f in (line.split("\t") for line in out.splitlines())}

    fragments, reads_depth = mpileup(), mpileup("-x")
    at = {int(p): i for i, p in enumerate(ours.positions.tolist())}
    for pos, depth in fragments.items():
        mine = int(ours.depth[at[pos]])
        assert abs(mine - depth) <= 0.01 * depth + 3, (pos, mine, depth)
        assert mine < 0.9 * reads_depth[pos]
    assert ours.overlapping_pairs > 1000


def test_umi_families_collapse_to_molecules_and_pcr_errors_go(tmp_path, reads):
    """UMI families (every fragment copied, ~4 reads each, not duplicate-marked) with PCR
    errors in part of each family: with --umi-tag the depth is the molecules', the
    errors within families vanish, and a 5% mosaic is still called."""
    _, _, _, locus = reads
    umi = library(umi=True, family_size=4.0, pcr_error=0.002, mark_duplicates=False,
                  depth=400.0)  # fmt: skip
    bam = simulate_sample(tmp_path / "UMI.bam", "UMI", [D303N], umi, seed=31, locus=locus)
    plain = scan_alignments([str(bam)], FASTA, filters=ReadFilters(umi_auto=False))
    collapsed = scan_alignments([str(bam)], FASTA, filters=ReadFilters(umi_tag="RX"))
    a, b = plain.samples[0].counts, collapsed.samples[0].counts
    assert b.families > 1000
    ratio = float(np.median(b.depth[b.depth > 0] / a.depth[b.depth > 0]))
    assert 1 / 5 < ratio < 1 / 3, ratio  # ~4 reads a molecule
    ref = np.array(["ACGT".find(x) for x in collapsed.reference])

    def error_rate(c):
        total = c.total
        wrong = total.sum(axis=0) - total[ref, np.arange(len(ref))]
        wrong[np.abs(c.positions - D303N.pos) == 0] = 0
        return wrong.sum() / total.sum()

    assert error_rate(b) < 0.5 * error_rate(a)
    assert (D303N.pos, "G", "A") in called(collapsed, "UMI")


def test_freebayes_sees_the_same_alleles_in_the_mosaic(reads, batch, tmp_path):
    """freebayes --pooled-continuous on the same reads finds the simulated SNV and
    deletion too (the alleles are in the reads, as we call them)."""
    if shutil.which("freebayes") is None:
        pytest.skip("needs freebayes")
    _, paths, c482del, _ = reads
    from scan_batches import read_vcf_calls

    vcf = freebayes_calls(paths["MOS"], plain_fasta(tmp_path), write_targets(tmp_path /
                          "targets.bed"), tmp_path)  # fmt: skip
    theirs = read_vcf_calls(vcf, min_reads=5, both_strands=True)
    truth = {(D303N.pos, D303N.ref, D303N.alt), (c482del.pos, c482del.ref, c482del.alt)}
    assert truth <= theirs
    assert truth <= called(batch, "MOS")


def run(args: list[str], expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "nlrp3annot", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_a_directional_amplicon_mosaic_is_called_and_its_damage_is_not(tmp_path, reads):
    """Tiled amplicons, read 1 always from the forward primer (art_illumina -amp -p): every
    fragment is F1R2, so no allele can show both orientations. A 10% c.907G>A mosaic is
    called (its orientation split is the reference reads'; the old rule refused it), and
    an oxidised and a deaminated reference library, whose G>T / C>T damage the screen
    tells from the complementary type in the one orientation, get no call."""
    _, _, _, locus = reads
    amplicon = Library("amplicon", 1000.0, mark_duplicates=False)
    spec = {
        "AMP": ([Mosaic(D303N.pos, D303N.ref, D303N.alt, 0.10)], amplicon),
        "AREF": ([], amplicon),
        "AOXO": ([], Library(**{**amplicon.__dict__, "oxidative": 0.004})),
        "ADEAM": ([], Library(**{**amplicon.__dict__, "deamination": 0.002})),
    }
    paths = [
        str(simulate_sample(tmp_path / f"{n}.bam", n, a, lib, seed=50 + k, locus=locus))
        for k, (n, (a, lib)) in enumerate(spec.items())
    ]
    result = scan_alignments(paths, FASTA)
    mos = next(c for c in sample(result, "AMP").candidates if c.pos == D303N.pos and
               c.alt == D303N.alt)  # fmt: skip
    assert mos.orientation()[1] == mos.orientation()[3] == 0  # nothing F2R1: directional
    assert mos.verdict == "called"
    ci = stats.binomtest(mos.alt_reads, mos.depth).proportion_ci(method="exact")
    assert ci.low <= 0.10 <= ci.high
    assert called(result, "AMP") == {(D303N.pos, D303N.ref, D303N.alt)}
    for name in ("AREF", "AOXO", "ADEAM"):
        assert called(result, name) == set(), (name, sample(result, name).calls)
    assert {c.untrusted.split()[1] for c in sample(result, "AOXO").candidates
            if c.untrusted} == {"(G>T"}  # fmt: skip
    assert {c.untrusted.split()[1] for c in sample(result, "ADEAM").candidates
            if c.untrusted} == {"(C>T"}  # fmt: skip
    for s in result.samples:  # every fragment F1R2, every read from a primer
        assert s.assay.design == "directional amplicon" and s.assay.fixed_read_ends, s.assay
    # the same reads with their primers clipped: the limits per amplicon of the scheme's
    # BED. Every coding position lies in some insert, so the amplicons' highest limits
    # are the sample's (its class limits, computed over all positions at once)
    from simulate_art import AMPLICON, PRIMER, SLICE, amplicon_starts, primers_bed

    bed = primers_bed(tmp_path / "primers.bed")
    clipped = scan_alignments(paths, FASTA, filters=ReadFilters(primers=str(bed)))
    inserts = {f"A{n}": (SLICE[0] + lo + PRIMER, SLICE[0] - 1 + lo + AMPLICON - PRIMER)
               for n, lo in enumerate(amplicon_starts())}  # fmt: skip
    for s in clipped.samples:
        assert s.amplicons, s.sample
        for a in s.amplicons:
            assert (a.amplicon.start, a.amplicon.end) == inserts[a.amplicon.name]
        worst = [a.other_snvs_worst for a in s.amplicons if a.other_snvs_worst is not None]
        assert max(worst) == pytest.approx(s.limits.other_snvs_worst, rel=1e-9)
        known = [a.known_snv for a in s.amplicons if a.known_snv is not None]
        assert max(known) == pytest.approx(s.limits.known_snv, rel=1e-9)
        for c in s.candidates:  # each known allele's limit is in some amplicon's
            if c.known and c.is_snv:
                assert any(a.amplicon.start <= c.pos <= a.amplicon.end for a in s.amplicons)
