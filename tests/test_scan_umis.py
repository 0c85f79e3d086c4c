"""UMIs where pipelines leave them: in a tag (``--umi-tag RX``) or in the read name
(``--umi-from-name``: bcl-convert's eighth ':' field, UMI-tools' '_' suffix), and duplex
UMIs (fgbio's ``AAAA-CCCC``, whose other strand carries ``CCCC-AAAA``). The reads are the
demo's P17 reads, or read pairs made here at their places with the reference's bases, with
pysam; expected values come from what each test wrote (the molecules, names and tags it
made), never from the scan's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest
from test_scan_files import DEMO, FASTA, scan, write

from nlrp3annot.cli import main
from nlrp3annot.reads.alignments import ReadFilters
from nlrp3annot.reads.pileup import BASES
from nlrp3annot.reads.scan import read_counts
from nlrp3annot.reads.umis import name_field, umi_in_name


@pytest.fixture(scope="module")
def demo_reads():
    """(header, reads) of the demo's P17 amplicon CRAM (single-end reads, both strands)."""
    with pysam.AlignmentFile(str(DEMO / "P17-amplicon.cram"), reference_filename=str(FASTA)) as f:
        return {"P17": (f.header.to_dict(), list(f.fetch(f.references[0])))}


COPIED = 3  # every COPIED-th P17 read gets two PCR copies (same UMI, same alignment)


def umi(i: int, length: int = 8) -> str:
    return "".join("ACGT"[(i >> (2 * k)) & 3] for k in range(length))


def bcl_convert(i: int, copy: int, umi_text: str) -> str:
    return f"M70123:45:000000000-ABCDE:1:1101:{i}:{copy}:{umi_text}"


def umi_tools(name: str, copy: int, umi_text: str) -> str:
    return f"{name}c{copy}_{umi_text}"


def p17_with_copies(tmp_path: Path, demo_reads, name: str, place) -> Path:
    """P17's reads, each with its own UMI, every COPIED-th with two PCR copies of it;
    ``place(read, index, copy, umi)`` puts the UMI on the read (a tag, or its name)."""
    header, reads = demo_reads["P17"]
    made = pysam.AlignmentHeader.from_dict(header)
    out = []
    for i, read in enumerate(reads):
        for copy in range(3 if i % COPIED == 0 else 1):
            new = pysam.AlignedSegment.fromstring(read.to_string(), made)
            place(new, i, copy, umi(i))
            out.append(new)
    return write(tmp_path / f"{name}.bam", header, out)


def in_tag(read, i: int, copy: int, umi_text: str) -> None:
    read.query_name = f"{read.query_name}c{copy}"
    read.set_tag("RX", umi_text)


def counted(path: Path, filters: ReadFilters):
    *_, (counts,) = read_counts([path], FASTA, filters)
    return counts


def same_counts(a, b) -> None:
    for name in ("bases", "near_end", "indel_depth"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.indels.keys() == b.indels.keys()
    assert all(np.array_equal(a.indels[k], b.indels[k]) for k in a.indels)


@pytest.mark.parametrize(
    "place",
    [
        lambda read, i, copy, u: setattr(read, "query_name", bcl_convert(i, copy, u)),
        lambda read, i, copy, u: setattr(read, "query_name", umi_tools(read.query_name, copy, u)),
    ],
    ids=["bcl-convert", "umi-tools"],
)
def test_umis_in_the_read_name_count_as_the_same_umis_in_a_tag(tmp_path, demo_reads, place):
    """The PCR copies collapse into their original, so both count exactly what P17's own
    reads count without copies and without UMIs."""
    tagged = counted(
        p17_with_copies(tmp_path, demo_reads, "tag", in_tag), ReadFilters(umi_tag="RX")
    )
    named = counted(p17_with_copies(tmp_path, demo_reads, "name", place),
                    ReadFilters(umi_from_name=True))  # fmt: skip
    header, reads = demo_reads["P17"]
    original = counted(write(tmp_path / "P17.bam", header, reads), ReadFilters())
    same_counts(named, tagged)
    same_counts(named, original)
    copied = sum(1 for i in range(len(reads)) if i % COPIED == 0)
    assert named.reads == tagged.reads == len(reads) + 2 * copied
    assert named.families == tagged.families == copied
    assert not named.dropped["no_umi"] and not named.dropped["bad_umi"]


@pytest.mark.parametrize(
    ("name", "field", "umi_text"),
    [
        ("M70123:45:000000000-ABCDE:1:1101:15589:1332:ACGTACGT", "ACGTACGT", "ACGTACGT"),
        ("M70123:45:FC:1:1101:15589:1332:ACGTACGT+TTGACCAT", "ACGTACGT+TTGACCAT",
         "ACGTACGT+TTGACCAT"),
        ("SRR1234.56_ACGTACGT", "ACGTACGT", "ACGTACGT"),
        ("M70123:45:FC:1:1101:15589:1332_GGCCAATT", "GGCCAATT", "GGCCAATT"),  # UMI-tools
        ("M70123:45:FC:1:1101:15589:1332:ACGNACGT", "ACGNACGT", None),  # malformed
        ("read7_acgtacgt", "acgtacgt", None),  # malformed: lower case
        ("M70123:45:FC:1:1101:15589:1332", None, None),  # Illumina, no UMI field
        ("SRR1234.56_1", None, None),  # '_' before a number: no UMI
        ("r1243", None, None),
    ],
)  # fmt: skip
def test_the_read_name_forms_accepted(name, field, umi_text):
    assert name_field(name) == field
    assert umi_in_name(name) == umi_text


def names_some_without(tmp_path, demo_reads, file, without) -> tuple[Path, int, int]:
    """P17's reads named bcl-convert style, ``without(i)`` saying which have no UMI field
    ("none": their plain name) or a malformed one ("bad"); and how many of each."""
    header, reads = demo_reads["P17"]
    made = pysam.AlignmentHeader.from_dict(header)
    out, missing, bad = [], 0, 0
    for i, read in enumerate(reads):
        new = pysam.AlignedSegment.fromstring(read.to_string(), made)
        kind = without(i)
        if kind == "bad":
            new.query_name, bad = bcl_convert(i, 0, "NNNNNNNN"), bad + 1
        elif kind == "none":
            new.query_name, missing = f"M70123:45:000000000-ABCDE:1:1101:{i}:0", missing + 1
        else:
            new.query_name = bcl_convert(i, 0, umi(i))
        out.append(new)
    return write(tmp_path / f"{file}.bam", header, out), missing, bad


def test_names_without_a_umi_and_malformed_ones_are_counted_warned_and_left_out(
    tmp_path: Path, capsys, demo_reads
):
    kinds = {0: "none", 1: "none", 2: "bad"}  # by i % 20
    path, missing, bad = names_some_without(
        tmp_path, demo_reads, "some", lambda i: kinds.get(i % 20)
    )
    reads = len(demo_reads["P17"][1])
    code, err = scan(tmp_path, capsys, path, "--umi-from-name")
    assert code == 0
    assert [line for line in err if "warning" in line] == [
        f"nlrp3annot: warning: {path}: {bad:,} with a malformed UMI in the read name (N, lower "
        f"case) and {missing:,} with no UMI in the read name of {reads:,} reads: left out of "
        "the UMI families"
    ]
    counts = counted(path, ReadFilters(umi_from_name=True))
    assert counts.dropped["no_umi"] == missing and counts.dropped["bad_umi"] == bad
    assert counts.reads == reads - missing - bad


def test_umi_from_name_when_most_names_carry_none_is_refused(tmp_path: Path, capsys, demo_reads):
    path, missing, _ = names_some_without(tmp_path, demo_reads, "few",
                                          lambda i: None if i % 10 < 3 else "none")  # fmt: skip
    reads = len(demo_reads["P17"][1])
    code, err = scan(tmp_path, capsys, path, "--umi-from-name")
    assert code == 2 and len(err) == 1, err
    assert err[0] == (
        f"nlrp3annot: error: {path}: {missing / reads:.0%} of its reads ({missing:,} of "
        f"{reads:,}) carry no UMI in their name (as ...:Y:ACGTACGT or NAME_ACGTACGT) (give "
        "--umi-tag if the UMIs are in a tag, or leave --umi-from-name out (duplicate flags "
        "then mark PCR copies))"
    )


def test_a_umi_tag_and_umi_from_name_together_are_refused(tmp_path: Path, capsys, demo_reads):
    path = p17_with_copies(tmp_path, demo_reads, "tag", in_tag)
    code, err = scan(tmp_path, capsys, path, "--umi-tag", "RX", "--umi-from-name")
    assert code == 2
    assert err == [
        "nlrp3annot: error: --umi-tag RX and --umi-from-name: the UMIs are in a tag or in the "
        "read name, give one of the two"
    ]


def test_a_panel_made_with_umis_in_a_tag_is_refused_for_umis_from_names(
    tmp_path: Path, capsys, demo_reads
):
    """The same UMIs in the tag and in the names: only the filters differ."""

    def both(read, i: int, copy: int, umi_text: str) -> None:
        read.query_name = umi_tools(read.query_name, copy, umi_text)
        read.set_tag("RX", umi_text)

    path = p17_with_copies(tmp_path, demo_reads, "both", both)
    panel = tmp_path / "panel.npz"
    made = ["scan", "--make-panel", str(path), "--umi-tag", "RX", "--fasta", str(FASTA)]
    assert main([*made, "-o", str(panel), "-q"]) == 0 and panel.is_file()
    code, err = scan(tmp_path, capsys, path, "--panel", str(panel), "--umi-from-name")
    assert code == 2 and len(err) == 1 and "was made with other read filters" in err[0], err


# -- duplex UMIs -------------------------------------------------------------------------

FRAGMENT, READ = 250, 150  # mates overlap by 50 bases
TOP_COPIES = 3  # the top strand of every DISAGREE-th molecule has this many pairs
DISAGREE = 7


def pair(
    made,
    reference,
    start: int,
    name: str,
    top: bool,
    umi_text: str,
    place,
    change: int | None = None,
) -> list:
    """One read pair of a molecule at [start, start + FRAGMENT): its top strand (read 1
    forward at the left end) or its bottom strand (read 2 forward at the left end, read 1
    reverse at the right), the reference's bases (``change``: this position's base
    changed, in both mates where they show it)."""
    reads = []
    for left in (True, False):
        lo = start if left else start + FRAGMENT - READ
        seq = list(reference.fetch("chr1", lo, lo + READ).upper())
        if change is not None and lo <= change < lo + READ:
            seq[change - lo] = "ACGT"[("ACGT".index(seq[change - lo]) + 1) % 4]
        read1 = left == top  # top: read 1 is the left (forward) read
        read = pysam.AlignedSegment(made)
        read.query_name = place(name, umi_text)
        read.query_sequence = "".join(seq)
        read.flag = 0x1 | 0x2 | (0x40 if read1 else 0x80) | (0x20 if left else 0x10)
        read.reference_id = read.next_reference_id = 0
        read.reference_start = lo
        read.next_reference_start = start + FRAGMENT - READ if left else start
        read.template_length = FRAGMENT if left else -FRAGMENT
        read.mapping_quality = 60
        read.cigarstring = f"{READ}M"
        read.query_qualities = pysam.qualitystring_to_array("I" * READ)
        if place is tag_place:
            read.set_tag("RX", umi_text)
        reads.append(read)
    return reads


def tag_place(name: str, umi_text: str) -> str:
    return name


@pytest.mark.parametrize(
    ("place", "join", "filters"),
    [
        (tag_place, "-", ReadFilters(umi_tag="RX")),
        (lambda name, u: f"M70123:45:FC:1:{name}:{u}", "+", ReadFilters(umi_from_name=True)),
    ],
    ids=["fgbio-RX", "bcl-convert-name"],
)
def test_the_two_strands_of_a_duplex_molecule_are_one_molecule(
    tmp_path: Path, demo_reads, place, join, filters
):
    """Molecules at P17's read starts, two thirds with both strands' pairs (UMI parts
    swapped), some with PCR copies; at one target position of every DISAGREE-th molecule
    its bottom strand shows another base than its TOP_COPIES top pairs (3 of 4 reads: a
    majority of one flat family): that molecule then gives no base there. Depth is the
    molecules', counted here from the molecules written."""
    header, reads = demo_reads["P17"]
    made = pysam.AlignmentHeader.from_dict(header)
    positions = counted(write(tmp_path / "P17.bam", header, reads), ReadFilters()).positions
    reference = pysam.FastaFile(str(FASTA))
    targeted = set((positions - 1).tolist())  # 0-based
    starts = sorted({r.reference_start for r in reads if not r.is_reverse})[::4]
    out, molecules, disagreeing = [], [], []
    for k, start in enumerate(starts):
        a, b = umi(2 * k), umi(2 * k + 1)
        both = k % 3 != 0
        change = None
        if k % DISAGREE == 0 and both:
            inside = [p for p in range(start + 110, start + 140) if p in targeted]
            change = inside[0] if inside else None
        top = TOP_COPIES if change is not None else 1
        for copy in range(top):
            out += pair(made, reference, start, f"{k}:{copy}:1", True, f"{a}{join}{b}", place)
        if both:  # the bottom strand reads the molecule from its other end: parts swapped
            out += pair(made, reference, start, f"{k}:0:2", False, f"{b}{join}{a}", place,
                        change)  # fmt: skip
        molecules.append(start)
        if change is not None:
            disagreeing.append(change)
    assert len(disagreeing) >= 5
    out.sort(key=lambda r: r.reference_start)
    path = write(tmp_path / "duplex.bam", header, out)

    counts = counted(path, filters)
    zero = positions - 1
    covering = np.array([sum(1 for s in molecules if s <= p < s + FRAGMENT) for p in zero])
    lost = np.array([disagreeing.count(p) for p in zero])
    assert np.array_equal(counts.depth, covering - lost)
    ref = np.array([BASES.index(reference.fetch("chr1", p, p + 1).upper()) for p in zero])
    reference.close()
    other = counts.total.sum(axis=0) - counts.total[ref, np.arange(len(ref))]
    assert not other.any()  # the bottom strands' other base never counts
    assert counts.families == sum(1 for k in range(len(starts)) if k % 3 != 0)

    # the file is what it should be: without UMIs every pair is a fragment, and each
    # disagreeing bottom strand shows its other base once
    plain = counted(path, ReadFilters(umi_auto=False))
    per_molecule = {s: 0 for s in molecules}
    for read in out:
        if read.flag & 0x40:
            per_molecule[min(read.reference_start, read.next_reference_start)] += 1
    fragments = np.array([sum(n for s, n in per_molecule.items() if s <= p < s + FRAGMENT)
                          for p in zero])  # fmt: skip
    assert np.array_equal(plain.depth, fragments)
    plain_other = plain.total.sum(axis=0) - plain.total[ref, np.arange(len(ref))]
    assert np.array_equal(plain_other, lost)
