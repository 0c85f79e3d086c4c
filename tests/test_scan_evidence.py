"""What each scan call rests on (issue 25): the assay as a sample's fragments show it
(hand-built counts), each candidate's evidence in words (hand-built candidates, the bias
P values recomputed with scipy), and the limits per amplicon of a primer BED written here
over the TEST locus (boundaries from the BED, limits recomputed from scan.tsv's rows and
the ##NLRP3_SCAN line the scan's other path writes)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import TEST_FASTA
from scipy import stats
from test_scan import C907, _amplicon_bam, fisher, hand_built, scan_tsv

from nlrp3annot.reads.assay import (
    DIRECTIONAL,
    NO_FRAGMENTS,
    NON_DIRECTIONAL,
    RANDOM,
    assay_of,
)
from nlrp3annot.reads.evidence import evidence_codes, evidence_parts, evidence_text
from nlrp3annot.reads.pileup import Counts
from nlrp3annot.reads.settings import CallSettings

FASTA = TEST_FASTA["GRCh38"]
SETTINGS = CallSettings()


def vcf_text(path: Path) -> str:
    with gzip.open(path, "rt") as handle:
        return handle.read()


def counts(per_cell: tuple[int, int, int, int], near_share, n: int = 100) -> Counts:
    """``n`` positions, each with ``per_cell`` fragments (all A) in the four cells
    (F1R2+, F1R2-, F2R1+, F2R1-), and ``near_share`` (one value, or one a position) of
    each position's fragments within 10 bases of a read end."""
    bases = np.zeros((4, 4, n), dtype=np.int64)
    bases[:, 0, :] = np.array(per_cell)[:, None]
    depth = sum(per_cell)
    near = np.zeros((4, n), dtype=np.int64)
    near[0] = np.round(np.broadcast_to(near_share, (n,)) * depth).astype(np.int64)
    return Counts("S", "s.bam", "GRCh38", "chr1", np.arange(1000, 1000 + n), bases, near,
                  np.zeros((4, n), dtype=np.int64))  # fmt: skip


def test_random_fragments_show_both_orientations_and_read_ends_everywhere():
    # capture/WGS: ~half F1R2; 13% of the bases near a read end at every position
    a = assay_of(counts((30, 30, 30, 30), 0.13), umi=False, libraries=1, primers_clipped=False)
    assert a.design == RANDOM and a.orientation == "both orientations"
    assert a.f1r2_share == pytest.approx(0.5) and a.fixed_read_ends is False


def test_a_directional_amplicon_shows_one_orientation():
    a = assay_of(counts((60, 60, 0, 0), 0.0), umi=False, libraries=1, primers_clipped=False)
    assert a.design == DIRECTIONAL and a.orientation == "F1R2 only" and a.f1r2_share == 1.0
    # a few stray F2R1 fragments (3 of 103) still leave one orientation; 10 of 110 do not
    assert assay_of(counts((50, 50, 3, 0), 0.13), False, 1, False).design == DIRECTIONAL
    assert assay_of(counts((50, 50, 10, 0), 0.13), False, 1, False).design == RANDOM
    # read 2 from the forward primer: every fragment F2R1
    b = assay_of(counts((0, 0, 40, 40), 0.0), False, 1, False)
    assert b.design == DIRECTIONAL and b.orientation == "F2R1 only"


def test_a_non_directional_amplicon_has_both_orientations_and_fixed_read_ends():
    # read ends only at the first and last 10 positions of a 100-base insert
    share = np.zeros(100)
    share[:10] = share[-10:] = 1.0
    a = assay_of(counts((30, 30, 30, 30), share), umi=True, libraries=2, primers_clipped=False)
    assert a.design == NON_DIRECTIONAL and a.fixed_read_ends is True
    # too few well-covered positions to judge the read ends: the primer BED decides
    shallow = counts((5, 5, 5, 5), 0.0)
    assert assay_of(shallow, False, 1, False).fixed_read_ends is None
    assert assay_of(shallow, False, 1, False).design == RANDOM
    assert assay_of(shallow, False, 1, primers_clipped=True).design == NON_DIRECTIONAL
    assert "UMI molecules" in a.describe() and "2 replicate libraries" in a.describe()


def test_no_fragment_is_said_and_the_header_line_is_one_pysam_reads(tmp_path: Path):
    empty = assay_of(counts((0, 0, 0, 0), 0.0), False, 1, False)
    assert empty.design == NO_FRAGMENTS and empty.f1r2_share is None
    line = assay_of(counts((60, 60, 0, 0), 0.0), True, 2, True).header("P1")
    vcf = tmp_path / "h.vcf"
    vcf.write_text(f"##fileformat=VCFv4.2\n{line}\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pysam.VariantFile(str(vcf)) as handle:
        (record,) = [r for r in handle.header.records if r.key == "NLRP3_SCAN_ASSAY"]
        attrs = dict(record.items())
    assert attrs["ID"] == "P1" and attrs["DESIGN"] == "directional_amplicon"
    assert attrs["ORIENTATION"] == "F1R2_only" and attrs["F1R2_SHARE"] == "1.0000"
    assert (attrs["UMI"], attrs["LIBRARIES"], attrs["PRIMERS_CLIPPED"]) == ("yes", "2", "yes")


def test_the_evidence_of_a_call_names_each_test_with_its_p_value():
    assay = assay_of(counts((30, 30, 30, 30), 0.13), False, 1, False)
    c = hand_built("G", "A", (4, 4, 4, 3), (50, 50, 50, 50))
    c.near_end = (2, 15, 20, 185)
    parts = evidence_parts(c, assay, SETTINGS)
    text = evidence_text(parts)
    strand = fisher(8, 7, 100, 100)  # ALT forward, reverse; fragments forward, reverse
    orientation = fisher(8, 7, 100, 100)
    assert text.startswith("15 ALT of 200 fragments (both orientations: random fragments); ")
    assert f"strand test P={strand:.2g} (passed)" in text
    assert f"orientation test P={orientation:.2g} (passed)" in text
    assert f"beta-binomial P={c.p:.2g} below the threshold {c.threshold:.2g}" in text
    assert "read-end test passed (near a read end: 2 of 15 ALT bases, 20 of 185 others)" in text
    assert evidence_codes(parts) == (
        "fragments:15/200:both_orientations,significance:passed,strand_test:passed,"
        "orientation_test:passed,read_end_test:passed"
    )


def test_the_evidence_says_which_test_could_not_be_made_and_why():
    # directional amplicon: every fragment F1R2, the orientation split cannot be compared
    assay = assay_of(counts((60, 60, 0, 0), 0.0), umi=True, libraries=2, primers_clipped=True)
    c = hand_built("G", "A", (8, 7, 0, 0), (50, 50, 0, 0))
    c.called_in = ("L1", "L2")
    c.near_end = (15, 15, 85, 85)  # every base near a read end, ALT and other alike
    text = evidence_text(evidence_parts(c, assay, SETTINGS, ("L1", "L2")))
    assert "15 ALT of 100 fragments (F1R2 only: directional amplicon)" in text
    assert f"strand test P={fisher(8, 7, 50, 50):.2g} (passed)" in text
    assert "orientation test not applicable (every fragment F1R2)" in text
    assert "UMI molecules" in text and "primer bases clipped" in text
    assert text.endswith("called in 2 of 2 libraries (L1, L2)")
    # the read-end test: share high but no different from the other bases' (Fisher P = 1)
    assert "read-end test passed" in text
    # an artefact all on one strand: the strand test refuses it (scipy's P)
    one = hand_built("G", "A", (15, 0, 0, 0), (50, 50, 0, 0))
    text = evidence_text(evidence_parts(one, assay, SETTINGS))
    assert f"strand test P={fisher(15, 0, 50, 50):.2g} (below 0.001: strand bias)" in text
    # an orientation left out as damage: its test cannot be made
    oxo = hand_built("G", "T", (5, 5, 9, 9), (50, 50, 50, 50))
    oxo.trusted, oxo.untrusted = (True, True, False, False), "F2R1 (G>T at 12x the F1R2 rate)"
    capture = assay_of(counts((30, 30, 30, 30), 0.13), False, 1, False)
    text = evidence_text(evidence_parts(oxo, capture, SETTINGS))
    assert "10 ALT of 100 fragments (both orientations: random fragments)" in text
    assert "F2R1 (G>T at 12x the F1R2 rate) not evidence" in text
    assert "orientation test not applicable (the F2R1 reads are not evidence)" in text


def test_the_read_end_test_fails_where_the_alt_bases_alone_sit_at_read_ends():
    c = hand_built("G", "A", (5, 5, 5, 5), (50, 50, 50, 50))
    c.near_end = (19, 20, 10, 180)  # 95% of ALT bases near an end, 5.6% of the others
    p = stats.hypergeom.sf(19 - 1, 200, 20, 29)  # one-sided Fisher, scipy
    assert p < SETTINGS.artefact_p
    assert "read-end test failed" in evidence_text(evidence_parts(c, None, SETTINGS))


def test_amplicons_are_the_left_right_pairs_of_the_bed(tmp_path: Path):
    from nlrp3annot.reads.amplicons import Amplicon, primer_amplicons

    bed = tmp_path / "p.bed"
    bed.write_text(
        "chr1\t100\t122\tS_1_LEFT\tpool_1\t+\n"
        "chr1\t98\t121\tS_1_LEFT_alt1\tpool_1\t+\n"  # an alternative primer: innermost wins
        "chr1\t300\t322\tS_1_RIGHT\tpool_1\t-\n"
        "chr1\t250\t270\tS_2_LEFT\tpool_2\t+\n"
        "chr1\t480\t500\tS_2_RIGHT\tpool_2\t-\n"
        "chr1\t600\t620\tS_3_LEFT\tpool_1\t+\n"  # no RIGHT
        "chr2\t1\t20\tS_9_LEFT\t1\t+\nchr2\t80\t100\tS_9_RIGHT\t1\t-\n"  # another contig
        "chr1\t700\t720\tprimerX\t1\t+\n"
    )
    amplicons, unpaired = primer_amplicons(bed, "chr1")
    # 1-based insert: after the LEFT primer's last base (BED end), up to the RIGHT's start
    assert amplicons == [Amplicon("S_1", "pool_1", 123, 300), Amplicon("S_2", "pool_2", 271, 480)]
    assert sorted(unpaired) == ["S_3_LEFT", "primerX"]


def test_limits_per_amplicon_from_a_primer_bed_over_the_test_locus(tmp_path: Path, capsys):
    """120-base single-end reads from one primer (the TEST locus, c.907 in the insert);
    three amplicons written here: one read through, one over coding positions no read
    covers, one in an intron (not listed)."""
    from nlrp3annot.cli import main
    from nlrp3annot.genome.reference import mane_transcript
    from nlrp3annot.patients.coverage import coding_targets

    ps = C907 - 1 - 30  # 0-based primer start: c.907 is 31 bases into the read
    bam = _amplicon_bam(tmp_path / "amp.bam", ps, C907, reads=200, with_alt=20)
    bed = tmp_path / "primers.bed"
    bed.write_text(
        f"chr1\t{ps}\t{ps + 22}\tN_1_LEFT\tp1\t+\nchr1\t{ps + 120}\t{ps + 142}\tN_1_RIGHT\tp1\t-\n"
        f"chr1\t{ps + 400}\t{ps + 422}\tN_2_LEFT\tp2\t+\n"
        f"chr1\t{ps + 520}\t{ps + 542}\tN_2_RIGHT\tp2\t-\n"
        "chr1\t247420000\t247420022\tN_3_LEFT\tp1\t+\nchr1\t247420200\t247420222\tN_3_RIGHT\tp1\t-\n"
    )  # fmt: skip
    out = tmp_path / "scan"
    capsys.readouterr()
    code = main(
        [
            "scan",
            str(bam),
            "--fasta",
            str(FASTA),
            "-o",
            str(out),
            "--primers",
            str(bed),
            "--no-proper-pairs",
            "-v",
        ]
    )  # fmt: skip (-v: each sample's assay line)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "AMP1: directional amplicon (F1R2 only" in err and "primers clipped" in err
    rows = {r["amplicon"]: r for r in scan_tsv(out / "scan_amplicons.tsv")}
    assert sorted(rows) == ["N_1", "N_2"]  # N_3 lies in an intron
    t = mane_transcript("GRCh38")
    coding = {p for a, b in coding_targets(t.exons, t.cds_start, t.cds_end)
              for p in range(a, b + 1)}  # fmt: skip
    candidates = scan_tsv(out / "scan.tsv")
    for name, (lo, hi) in {"N_1": (ps + 23, ps + 120), "N_2": (ps + 423, ps + 520)}.items():
        row = rows[name]
        assert (int(row["start"]), int(row["end"])) == (lo, hi)
        assert int(row["coding_positions"]) == len(coding & set(range(lo, hi + 1)))
        known = [r for r in candidates if r["known_pathogenic"] == "True"
                 and lo <= int(r["pos"]) <= hi and len(r["ref"]) == len(r["alt"]) == 1]  # fmt: skip
        assert int(row["known_snvs"]) == len(known) > 0
        limits = [float(r["limit_of_detection"]) for r in known if r["limit_of_detection"]]
        if limits:
            assert float(row["known_snv_limit"]) == pytest.approx(max(limits), rel=1e-5)
        assert int(row["known_below_depth"]) == len(known) - len(limits)
    # N_2: no read, so no limit at any of its positions
    assert rows["N_2"]["other_snv_limit_worst"] == "" and rows["N_2"]["median_fragments"] == "0"
    assert int(rows["N_2"]["positions_below_depth"]) == int(rows["N_2"]["coding_positions"])
    # N_1 holds every read base after the primer: its SNV limits are the sample's, as the
    # scan's class limits (##NLRP3_SCAN, another path) give them
    n1 = rows["N_1"]
    assert n1["median_fragments"] == "200" and n1["positions_below_depth"] == "0"
    with pysam.VariantFile(str(out / "AMP1.scan.vcf.gz")) as vcf:
        header = {r.key + (r.get("ID") or ""): dict(r.items()) for r in vcf.header.records
                  if r.key.startswith("NLRP3_SCAN")}  # fmt: skip
        calls = [r for r in vcf if r.alts and r.alts[0] != "<NON_REF>"]
    scan = header["NLRP3_SCANAMP1"]
    assert float(n1["other_snv_limit_worst"]) == pytest.approx(
        float(scan["LOD_OTHER_SNVS_MAX"]), rel=1e-5)  # fmt: skip
    assert float(n1["other_snv_limit_95"]) == pytest.approx(float(scan["LOD_OTHER_SNVS"]), 1e-5)
    assert float(n1["limit_of_detection"]) == max(
        float(n1["known_snv_limit"]), float(n1["other_snv_limit_worst"]))  # fmt: skip
    amplicon = header["NLRP3_SCAN_AMPLICONN_1"]
    assert (amplicon["START"], amplicon["END"], amplicon["POOL"]) == (
        str(ps + 23),
        str(ps + 120),
        "p1",
    )
    assert header["NLRP3_SCAN_ASSAYAMP1"]["DESIGN"] == "directional_amplicon"
    # the call and its evidence: 20 reads of 200, all forward (single-end from one primer)
    (call,) = calls
    assert call.pos == C907
    assert "fragments:20/200:F1R2_only" in call.info["SCAN_EVIDENCE"]
    assert "strand_test:not_applicable" in call.info["SCAN_EVIDENCE"]
    (row,) = [r for r in candidates if int(r["pos"]) == C907 and r["alt"] == "A"]
    assert row["evidence"].startswith("20 ALT of 200 fragments (F1R2 only: directional amplicon)")
    assert "strand test not applicable (every fragment forward)" in row["evidence"]
    assert vcf_text(out / "AMP1.scan.vcf.gz").count("##NLRP3_SCAN_AMPLICON") == 2


def test_without_primers_no_amplicon_table(tmp_path: Path):
    from nlrp3annot.cli import main

    bam = _amplicon_bam(tmp_path / "amp.bam", C907 - 31, C907, reads=50, with_alt=0)
    out = tmp_path / "scan"
    assert main(["scan", str(bam), "--fasta", str(FASTA), "-o", str(out), "--no-proper-pairs",
                 "-q"]) == 0  # fmt: skip
    assert not (out / "scan_amplicons.tsv").exists()
    assert all(r["evidence"] for r in scan_tsv(out / "scan.tsv"))
    assert "##NLRP3_SCAN_AMPLICON" not in vcf_text(out / "AMP1.scan.vcf.gz")
