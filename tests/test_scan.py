"""``nlrp3annot scan`` on real BAM and CRAM files of reads simulated on the TEST locus (not
the real genome) with a 0.5% substitution error rate (scripts/simulate_reads.py): mosaics
found with an interval holding the simulated fraction, artefacts not called, a 1% mosaic at
depth 50 below the limit of detection (not negative), a germline het called germline, no
false call over 20 negative samples, CRAM = BAM, and the calls named by the same engine
(positions from the MANE model table; names from ClinVar)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_FASTA
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from simulate_reads import C907, C1043, EXON4, Allele, simulate  # noqa: E402

from nlrp3annot.genome.reference import mane_transcript  # noqa: E402
from nlrp3annot.patients.coverage import coding_targets  # noqa: E402
from nlrp3annot.reads.scan import scan_alignments  # noqa: E402

FASTA = TEST_FASTA["GRCh38"]
T = mane_transcript("GRCh38")
TARGETS = coding_targets(T.exons, T.cds_start, T.cds_end)


def bam(tmp: Path, name: str, depth: int, *alleles: Allele, seed: int = 1, regions=None):
    return simulate(
        tmp / f"{name}.bam", regions or [EXON4], depth, tuple(alleles), seed=seed,
        sample=name, fasta_path=FASTA, read_length=150,
    )  # fmt: skip


def candidate(result, sample: str, pos: int, alt: str):
    found = [
        c for s in result.samples if s.sample == sample for c in s.candidates
        if c.pos == pos and c.alt == alt
    ]  # fmt: skip
    return found[0] if found else None


@pytest.fixture(scope="module")
def mosaics(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mosaics")
    spec = {
        "M10_907": Allele(C907, "A", 0.10),
        "M03_907": Allele(C907, "A", 0.03),
        "M10_1043": Allele(C1043, "T", 0.10),
        "M03_1043": Allele(C1043, "T", 0.03),
    }
    paths = [
        bam(tmp, name, 500, allele, seed=i + 1) for i, (name, allele) in enumerate(spec.items())
    ]
    return spec, scan_alignments(paths, FASTA)


@pytest.mark.parametrize("name", ["M10_907", "M03_907", "M10_1043", "M03_1043"])
def test_mosaics_at_depth_500_are_called_with_an_interval_holding_the_fraction(mosaics, name):
    spec, result = mosaics
    allele = spec[name]
    c = candidate(result, name, allele.pos, allele.alt)
    assert c is not None and c.verdict == "called", c
    low, high = c.vaf_ci
    assert low <= allele.fraction <= high
    # the interval is Clopper-Pearson's, recomputed with scipy
    expected = stats.binomtest(c.alt_reads, c.depth).proportion_ci(method="exact")
    assert (low, high) == pytest.approx((expected.low, expected.high), rel=1e-6)
    assert c.known  # both are ClinVar pathogenic: the known-allele threshold applies
    clinvar = {C907: "p.Asp303Asn", C1043: "p.Thr348Met"}[allele.pos]  # ClinVar's names
    assert c.names[1] == f"NP_001230062.1:{clinvar}"
    # nothing else is called in these samples
    sample = next(s for s in result.samples if s.sample == name)
    assert [(x.pos, x.alt) for x in sample.calls] == [(allele.pos, allele.alt)]


def test_a_1_percent_mosaic_at_depth_50_is_below_the_limit_not_negative(tmp_path: Path):
    path = bam(tmp_path, "LOW", 50, Allele(C907, "A", 0.01), regions=TARGETS)
    out, patients = scan_and_annotate(tmp_path, path, "LOW")
    assert patients["LOW"]["status"] == "not_assessable"
    assert "limit of detection" in patients["LOW"]["note"]
    rows = scan_tsv(out / "scan.tsv")
    known = [r for r in rows if r["known_pathogenic"] == "True" and int(r["pos"]) == C907]
    assert known and float(known[0]["limit_of_detection"]) > 0.05


def test_artefacts_on_one_strand_or_at_read_ends_are_not_called(tmp_path: Path):
    strand = bam(tmp_path, "STRAND", 500, Allele(C1043, "T", 0.16, strand="forward"))
    ends = bam(tmp_path, "ENDS", 500, Allele(C907, "A", 1.0, ends_only=True), seed=2)
    result = scan_alignments([strand, ends], FASTA)
    one_strand = candidate(result, "STRAND", C1043, "T")
    assert one_strand.alt_reads >= 20 and one_strand.strand()[1] == 0  # no reverse ALT
    assert one_strand.verdict == "strand_bias"
    at_ends = candidate(result, "ENDS", C907, "A")
    assert at_ends.alt_reads >= 20
    assert at_ends.verdict == "read_end"
    assert not [c for s in result.samples for c in s.calls]


def test_a_germline_het_is_called_germline(tmp_path: Path):
    path = bam(tmp_path, "HET", 200, Allele(C1043, "T", 0.5), regions=TARGETS)
    _, patients = scan_and_annotate(tmp_path, path, "HET")
    assert patients["HET"]["status"] == "positive_germline"
    assert patients["HET"]["hgvs_p_sample"] == "NP_001230062.1:p.Thr348Met"  # ClinVar's name


def test_twenty_negative_samples_at_depth_500_have_no_call(tmp_path: Path):
    paths = [bam(tmp_path, f"N{i:02d}", 500, seed=100 + i, regions=TARGETS) for i in range(20)]
    result = scan_alignments(paths, FASTA)
    assert [c for s in result.samples for c in s.calls] == []
    assert all(s.lod is not None and s.lod < 0.05 for s in result.samples)


def test_a_cram_and_a_bam_of_the_same_reads_give_the_same_result(tmp_path: Path):
    cram = simulate(
        tmp_path / "C.cram", [EXON4], 300, (Allele(C907, "A", 0.08),), seed=7, sample="C",
        fasta_path=FASTA, read_length=150,
    )  # fmt: skip
    from_bam = scan_alignments([cram.with_suffix(".bam")], FASTA)
    from_cram = scan_alignments([cram], FASTA)
    assert (from_bam.samples[0].counts.depth == from_cram.samples[0].counts.depth).all()
    assert from_bam.samples[0].candidates == from_cram.samples[0].candidates
    assert [c.verdict for c in from_cram.samples[0].candidates if c.verdict == "called"]


def test_a_mosaic_found_only_by_the_scan_makes_the_patient_positive(tmp_path: Path):
    path = bam(tmp_path, "P16-amplicon", 600, Allele(C907, "A", 0.045), regions=TARGETS)
    _, patients = scan_and_annotate(tmp_path, path, "P16-amplicon")
    row = patients["P16-amplicon"]
    assert row["status"] == "positive_mosaic"
    assert row["hgvs_p_sample"] == "NP_001230062.1:p.Asp303Asn"
    assert row["coding_bases_covered"] == "1.0"


def test_bad_alignment_inputs_are_one_line(tmp_path: Path):
    path = bam(tmp_path, "X", 30)
    Path(str(path) + ".bai").unlink()
    for args, words in [
        (["scan", str(path), "--fasta", str(FASTA), "-o", str(tmp_path / "o")], "no index"),
        (["scan", str(tmp_path / "none.bam"), "--fasta", str(FASTA), "-o", str(tmp_path)],
         "no such file"),
        (["scan", str(FASTA), "--fasta", str(FASTA), "-o", str(tmp_path / "o")],
         "not a readable BAM/CRAM"),
        (["scan", "--fasta", str(FASTA), "-o", str(tmp_path / "o")], "give BAM/CRAM files"),
    ]:  # fmt: skip
        proc = run_cli(args, expect=2)
        assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr
    good = bam(tmp_path, "Y", 30, seed=3)
    for args, words in [
        (["--umi-tag", "UMI_TAG"], "give a two-character SAM tag"),
        (["--panel", str(tmp_path / "none.npz")], "no such file"),
        (["--panel", str(good)], "is not a panel of normals"),
        (["--make-panel", "-o", str(tmp_path / "panel.tsv")], "written as a .npz file"),
    ]:  # fmt: skip
        out = [] if "-o" in args else ["-o", str(tmp_path / "o")]
        proc = run_cli(["scan", str(good), "--fasta", str(FASTA), *out, *args], expect=2)
        assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr
    proc = run_cli(
        ["scan", str(good), "--fasta", str(TEST_FASTA["GRCh37"]), "-o", str(tmp_path / "o")],
        expect=2,
    )
    assert len(proc.stderr.strip().splitlines()) == 1 and "is GRCh37" in proc.stderr


def run_cli(args: list[str], expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def scan_and_annotate(tmp_path: Path, path: Path, sample: str) -> tuple[Path, dict[str, dict]]:
    """``scan`` one BAM into tmp_path/scan, then ``annotate`` its VCF: (folder, patients)."""
    out = tmp_path / "scan"
    run_cli(["scan", str(path), "--fasta", str(FASTA), "-o", str(out), "-q"])
    return out, annotate(tmp_path, out / f"{sample}.scan.vcf.gz")


def annotate(tmp_path: Path, vcf: Path) -> dict[str, dict]:
    patients = tmp_path / "patients.tsv"
    run_cli(["annotate", str(vcf), "--fasta", str(FASTA), "-o", str(tmp_path / "calls.tsv"),
             "--patients", str(patients), "-q"])  # fmt: skip
    return {r["sample"]: r for r in scan_tsv(patients)}


def scan_tsv(path: Path) -> list[dict[str, str]]:
    lines = [line.split("\t") for line in path.read_text().splitlines()]
    return [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]


def test_a_mosaic_deletion_is_called_and_spelled_from_the_reference(tmp_path: Path):
    import gzip

    import pysam

    anchor = C907 - 30
    path = bam(tmp_path, "DEL", 500, Allele(anchor, "-3", 0.10), seed=11)
    out = tmp_path / "scan"
    run_cli(["scan", str(path), "--fasta", str(FASTA), "-o", str(out), "-q"])
    with pysam.FastaFile(str(FASTA)) as fasta:
        ref = fasta.fetch("chr1", anchor - 1, anchor + 3).upper()
    with gzip.open(out / "DEL.scan.vcf.gz", "rt") as handle:
        calls = [
            line.split("\t") for line in handle
            if not line.startswith("#") and "<NON_REF>" not in line
        ]  # fmt: skip
    assert [(int(c[1]), c[3], c[4]) for c in calls] == [(anchor, ref, ref[0])]
    ad = calls[0][9].split(":")[1].split(",")
    test = stats.binomtest(int(ad[1]), int(ad[0]) + int(ad[1]))
    low, high = test.proportion_ci(method="exact")
    assert low <= 0.10 <= high


def test_the_library_returns_the_scan_as_a_dataframe(tmp_path: Path):
    import nlrp3annot

    path = bam(tmp_path, "LIB", 400, Allele(C907, "A", 0.08), seed=21)
    frame = nlrp3annot.scan_reads([path], fasta=FASTA)
    called = frame[frame["verdict"] == "called"]
    assert list(zip(called["pos"], called["alt"], strict=True)) == [(C907, "A")]
    assert frame.attrs["limits"]["LIB"] is not None


def test_r260w_reads_are_named_with_the_samples_own_codon(tmp_path: Path):
    """c.778C>T (het) with c.780A>G (hom) in the reads: the codon is TGG, p.Arg260Trp, not
    the p.Arg260Ter that c.778C>T alone on the reference reads (ClinVar: R260W)."""
    c778, c780 = EXON4[0] + 778 - 398, EXON4[0] + 780 - 398
    path = bam(tmp_path, "R260W", 300, Allele(c778, "T", 0.5), Allele(c780, "G", 1.0),
               regions=TARGETS)  # fmt: skip
    out, patients = scan_and_annotate(tmp_path, path, "R260W")
    rows = {(int(r["pos"]), r["alt"]): r for r in scan_tsv(out / "scan.tsv")}
    assert rows[(c778, "T")]["hgvs_p"] == "NP_001230062.1:p.Arg260Ter"  # the allele alone
    assert patients["R260W"]["hgvs_p_sample"] == "NP_001230062.1:p.Arg260Trp"
    assert patients["R260W"]["status"] == "positive_germline"


def test_the_scan_limits_header_reads_back_and_an_earlier_scan_still_reads():
    """The ##NLRP3_SCAN line a scan writes is read back as written; a line of an earlier
    version (LOD, MAX_LOD, KNOWN_BELOW_DEPTH, MIN_DEPTH only) still gives its limit."""
    from nlrp3annot.io.vcf import _ATTR, scan_limit
    from nlrp3annot.values import ScanLimits

    limits = ScanLimits(0.011, 61, None, 0, 0.009, 0.014, 0.05, 0.015, 0.028, 0, 20)
    line = limits.header("P1")
    attrs = dict(_ATTR.findall(line[len("##NLRP3_SCAN=<") : -1]))
    assert scan_limit(attrs) == {"P1": limits}
    old = "ID=P2,LOD=0.034,MAX_LOD=0.05,KNOWN_BELOW_DEPTH=0,MIN_DEPTH=20"
    earlier = scan_limit(dict(_ATTR.findall(old)))["P2"]
    assert earlier.known == 0.034 and earlier.indels is None and earlier.max_lod == 0.05
    assert "small indels unknown" in earlier.describe()


@pytest.mark.parametrize("names", [("P16 blood", "P16_blood"), ("p16_Blood", "P16_blood")])
def test_two_samples_whose_scan_vcfs_would_share_a_name_are_refused(
    tmp_path: Path, capsys, names: tuple[str, str]
):
    """SM tags that differ by a space or by case would both write P16_blood.scan.vcf.gz
    (the second over the first: a carrier read negative). One line naming the file and
    both samples, exit 2, and no scan VCF written."""
    import itertools

    import pysam

    from nlrp3annot.cli import main

    source = Path(__file__).resolve().parents[1] / "nlrp3annot" / "demo" / "reads"
    made = []
    with pysam.AlignmentFile(
        str(source / "P17-amplicon.cram"), reference_filename=str(FASTA)
    ) as cram:
        reads = list(itertools.islice(cram.fetch(cram.references[0]), 200))
        for n, name in enumerate(names):
            header = cram.header.to_dict()
            header["RG"] = [{"ID": f"rg{n}", "SM": name}]
            path = tmp_path / f"lib{n}.bam"
            with pysam.AlignmentFile(str(path), "wb", header=header) as out:
                for read in reads:
                    read.set_tag("RG", f"rg{n}")
                    out.write(read)
            pysam.index(str(path))
            made.append(str(path))
    capsys.readouterr()
    code = main(["scan", *made, "--fasta", str(FASTA), "-o", str(tmp_path / "scan")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "lib1.bam" in err[0] and repr(names[1]) in err[0] and repr(names[0]) in err[0]
    assert not list(tmp_path.glob("scan/*.scan.vcf.gz"))


# --- the strand and orientation bias rule, on hand-built fragment counts -------------------
# cells: F1R2 forward, F1R2 reverse, F2R1 forward, F2R1 reverse (fragments.CELLS)
TESTED = 9300  # alleles a sample tests (README): the Bonferroni threshold 0.05 / 9300


def hand_built(ref: str, alt: str, alt_cells, depth_cells, mu: float = 1e-3):
    """A candidate as the scan would hold it; its P is the binomial tail (scipy) against a
    background ``mu`` per fragment, which the beta-binomial only raises a little."""
    from nlrp3annot.reads.calling import Candidate

    p = float(stats.binom.sf(sum(alt_cells) - 1, sum(depth_cells), mu))
    return Candidate(
        C907, ref, alt, tuple(alt_cells), tuple(depth_cells), (mu,) * 4, 1e-4, (True,) * 4,
        p, 0.05 / TESTED, known=False,
    )  # fmt: skip


def fisher(alt_a: int, alt_b: int, depth_a: int, depth_b: int) -> float:
    table = [[alt_a, alt_b], [depth_a - alt_a, depth_b - alt_b]]
    return float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def test_an_allele_split_like_the_reference_reads_is_called_at_140x_like_depth():
    """15 ALT of 100 fragments (15%, G569R at 14.9% in the issue), split across strands and
    orientations as the other fragments are: called. The old rule wanted each half to show
    the allele above its own background; this one keeps every fragment's power."""
    from nlrp3annot.reads.calling import ORIENTATION_HALVES, STRAND_HALVES, bias_p, judge
    from nlrp3annot.reads.settings import CallSettings

    c = hand_built("G", "A", (4, 3, 4, 4), (25, 25, 25, 25))
    assert c.p < c.threshold
    assert bias_p(c, STRAND_HALVES) == pytest.approx(fisher(8, 7, 50, 50), rel=1e-9)
    assert bias_p(c, ORIENTATION_HALVES) == pytest.approx(fisher(7, 8, 50, 50), rel=1e-9)
    assert judge(c, CallSettings()) == "called"


def test_g_to_t_all_on_f1r2_where_the_reference_reads_split_evenly_is_refused():
    """8-oxoG: 15 G>T fragments all F1R2 (read 1 forward or read 2 reverse), both strands,
    where the 200 fragments split 100/100 between the orientations: refused for
    orientation, not for strand."""
    from nlrp3annot.reads.calling import ORIENTATION_HALVES, STRAND_HALVES, bias_p, judge
    from nlrp3annot.reads.settings import CallSettings

    c = hand_built("G", "T", (8, 7, 0, 0), (50, 50, 50, 50))
    assert c.p < c.threshold
    p = bias_p(c, ORIENTATION_HALVES)
    assert p == pytest.approx(fisher(15, 0, 100, 100), rel=1e-9) and p < 1e-3
    assert bias_p(c, STRAND_HALVES) == pytest.approx(fisher(8, 7, 100, 100), rel=1e-9)
    assert judge(c, CallSettings()) == "orientation_bias"
    # all on the forward strand instead (both orientations): refused for strand
    s = hand_built("G", "T", (8, 0, 7, 0), (50, 50, 50, 50))
    assert bias_p(s, STRAND_HALVES) == pytest.approx(fisher(15, 0, 100, 100), rel=1e-9)
    assert judge(s, CallSettings()) == "strand_bias"


def test_an_amplicon_allele_with_every_fragment_in_one_orientation_is_not_refused():
    """A directional amplicon assay: read 1 always from the forward primer, so every
    fragment (reference too) is F1R2. The orientation split cannot be compared: skipped,
    and the allele is called; its strands still are compared."""
    from nlrp3annot.reads.calling import ORIENTATION_HALVES, STRAND_HALVES, bias_p, judge
    from nlrp3annot.reads.settings import CallSettings

    c = hand_built("G", "A", (8, 7, 0, 0), (50, 50, 0, 0))
    assert bias_p(c, ORIENTATION_HALVES) is None
    assert bias_p(c, STRAND_HALVES) == pytest.approx(fisher(8, 7, 50, 50), rel=1e-9)
    assert judge(c, CallSettings()) == "called"
    one_strand = hand_built("G", "A", (15, 0, 0, 0), (50, 50, 0, 0))
    assert judge(one_strand, CallSettings()) == "strand_bias"


def test_the_stated_limit_is_met_by_the_rule_in_simulated_fragments():
    """At a 140x position the rule finds an allele at its stated limit in >= 95% of draws:
    ALT fragments Binomial(depth, limit) (numpy), spread over the cells as the depth is,
    each draw judged by the whole rule (significance, strand and orientation bias). 5,000
    draws: the rate is known to +/- 0.003 (one standard error), so the test allows three;
    a limit 10% too low would find ~92%."""
    from nlrp3annot.reads import betabinomial as bb
    from nlrp3annot.reads.calling import Candidate, judge
    from nlrp3annot.reads.limits import detection_limits
    from nlrp3annot.reads.settings import CallSettings

    settings = CallSettings()
    depth, mu, rho, threshold = (40, 30, 35, 35), 1e-3, 1e-3, 0.005 / 61
    cells = (np.array([depth]), np.array([[mu] * 4]), np.array([rho]), np.ones((1, 4), bool))
    limit = float(detection_limits(*cells, np.array([threshold]), settings)[0])
    assert 0.02 < limit < 0.10  # at ~140x: the 10-20% alleles are all above it
    rng = np.random.default_rng(7)
    calls = 0
    draws = 5000
    for _ in range(draws):
        alt = rng.binomial(depth, limit)  # each fragment ALT with chance f, per cell
        p = float(bb.sf(int(alt.sum()), sum(depth), mu, rho))
        c = Candidate(C907, "G", "A", tuple(int(x) for x in alt), depth, (mu,) * 4, rho,
                      (True,) * 4, p, threshold, known=True)  # fmt: skip
        calls += judge(c, settings) == "called"
    assert calls / draws >= 0.95 - 3 * (0.95 * 0.05 / draws) ** 0.5, calls / draws


def _amplicon_bam(path: Path, primer_start: int, alt_at: int, reads: int, with_alt: int) -> Path:
    """Single-end reads that all start at a primer (0-based ``primer_start``), 120 bases of
    the TEST reference, ``with_alt`` of them with A at 1-based ``alt_at``."""
    import pysam

    with pysam.FastaFile(str(FASTA)) as fasta:
        contig = fasta.references[0]
        length = fasta.get_reference_length(contig)
        bases = fasta.fetch(contig, primer_start, primer_start + 120).upper()
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": contig, "LN": length}],
              "RG": [{"ID": "rg", "SM": "AMP1"}]}  # fmt: skip
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for n in range(reads):
            read = pysam.AlignedSegment(out.header)
            seq = list(bases)
            if n < with_alt:
                seq[alt_at - 1 - primer_start] = "A"
            read.query_name, read.flag, read.reference_id = f"r{n}", 0, 0
            read.reference_start, read.mapping_quality = primer_start, 60
            read.cigartuples = [(0, 120)]
            read.query_sequence = "".join(seq)
            read.query_qualities = pysam.qualitystring_to_array("I" * 120)
            read.set_tag("RG", "rg")
            out.write(read)
    pysam.index(str(path))
    return path


def test_primer_bases_are_not_evidence(tmp_path: Path):
    """--primers: bases of a read inside the primer it starts in are clipped (samtools
    ampliconclip --both-ends) and count for nothing: an ALT that only primer-derived bases
    show (here 60 of 200 reads at c.907, 11 bases into the primer) is called without the
    BED and not one of its reads is counted with it; the bases after the primer still
    count, once per read (expected values from how the BAM and the BED were built)."""
    from nlrp3annot.reads.alignments import ReadFilters

    pos = C907
    primer_start = pos - 1 - 10  # 0-based: c.907 is the primer's 11th base
    bam = _amplicon_bam(tmp_path / "amp.bam", primer_start, pos, reads=200, with_alt=60)
    bed = tmp_path / "primers.bed"
    bed.write_text(f"chr1\t{primer_start}\t{primer_start + 22}\tA1_LEFT\t1\t+\n")
    plain = scan_alignments([bam], FASTA, filters=ReadFilters(proper_pairs=False))
    (sample,) = plain.samples
    hit = [c for c in sample.candidates if (c.pos, c.alt) == (pos, "A")]
    assert hit and hit[0].alt_reads == 60 and hit[0].verdict == "called"
    clipped = scan_alignments(
        [bam], FASTA, filters=ReadFilters(proper_pairs=False, primers=str(bed))
    )
    (sample,) = clipped.samples
    (known,) = [c for c in sample.candidates if (c.pos, c.alt) == (pos, "A")]  # (listed: known)
    assert known.alt_reads == 0 and known.depth == 0 and known.verdict != "called"
    depth = dict(zip(sample.counts.positions.tolist(), sample.counts.depth.tolist(), strict=True))
    assert depth[pos] == 0  # inside the primer: clipped from every read
    assert depth[primer_start + 22 + 5] == 200  # after it: every read counts


def test_a_primer_bed_that_is_not_one_is_one_line(tmp_path: Path, capsys):
    from nlrp3annot.cli import main

    bam = _amplicon_bam(tmp_path / "amp.bam", C907 - 11, C907, reads=10, with_alt=0)
    bed = tmp_path / "primers.bed"
    bed.write_text("chr1\tstart\t22\n")
    capsys.readouterr()
    code = main(["scan", str(bam), "--fasta", str(FASTA), "-o", str(tmp_path / "s"),
                 "--primers", str(bed), "--no-proper-pairs"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "primers.bed" in err[0] and "line 1" in err[0]
