"""``nlrp3annot scan`` on alignment files as labs keep them: each broken file made here
from the demo's reads with pysam (another file's index, a rewritten BAM, a damaged block, a
CRAM of another reference, a SAM text file, a directory) is refused with one line naming
it and what to do, exit 2, and nothing written."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pysam
import pytest
from conftest import TEST_FASTA

from nlrp3annot.cli import main

FASTA = TEST_FASTA["GRCh38"]
DEMO = Path(__file__).resolve().parents[1] / "nlrp3annot" / "demo" / "reads"


@pytest.fixture(scope="module")
def demo_reads():
    """(header, reads) of the demo's P17 and P16 amplicon CRAMs."""
    out = {}
    for name in ("P17", "P16"):
        with pysam.AlignmentFile(
            str(DEMO / f"{name}-amplicon.cram"), reference_filename=str(FASTA)
        ) as cram:
            out[name] = (cram.header.to_dict(), list(cram.fetch(cram.references[0])))
    return out


def write(path: Path, header: dict, reads, index: bool = True) -> Path:
    mode = "wc" if path.suffix == ".cram" else "wb"
    with pysam.AlignmentFile(str(path), mode, header=header, reference_filename=str(FASTA)) as out:
        for read in reads:
            out.write(read)
    if index:
        pysam.index(str(path))
    return path


def scan(tmp_path: Path, capsys, path: Path, *options: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    out = tmp_path / "scan"
    code = main(["scan", str(path), "--fasta", str(FASTA), "-o", str(out), *options])
    err = capsys.readouterr().err.strip().splitlines()
    if code == 2:
        assert not list(tmp_path.glob("scan/*")), "a refused scan writes nothing"
    return code, err


def refused(tmp_path: Path, capsys, path: Path) -> str:
    code, err = scan(tmp_path, capsys, path)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"nlrp3annot: error: {path}: "), err[0]
    return err[0]


def reheadered(tmp_path: Path, source: Path, name: str, header: dict) -> Path:
    """A copy of the CRAM ``source`` with ``header`` (samtools reheader in place: htslib
    refuses to write a CRAM whose @SQ M5 disagrees with the reference it is given)."""
    path = shutil.copy(source, tmp_path / name)
    text = tmp_path / "header.sam"
    text.write_text(str(pysam.AlignmentHeader.from_dict(header)))
    pysam.samtools.reheader("-i", str(text), str(path))
    pysam.index(str(path))
    return Path(path)


def test_a_cram_encoded_against_another_reference_names_the_contig_and_the_fasta(
    tmp_path: Path, capsys, demo_reads
):
    header, reads = demo_reads["P17"]
    good = write(tmp_path / "made.cram", header, reads[:2000], index=False)
    other = "0123456789abcdef0123456789abcdef"
    sq = [dict(header["SQ"][0], M5=other)]
    path = reheadered(tmp_path, good, "other.cram", dict(header, SQ=sq))
    with pysam.FastaFile(str(FASTA)) as fasta:  # the SAM spec's M5: upper-case bases
        md5 = hashlib.md5(fasta.fetch("chr1").upper().encode()).hexdigest()
    line = refused(tmp_path, capsys, path)
    assert "encoded against another reference" in line
    assert f"M5 for chr1 is {other}" in line and f"{FASTA.name} has MD5 {md5}" in line


def test_a_cram_whose_reference_cannot_be_found_says_so(tmp_path: Path, capsys, demo_reads):
    """Its contig is '1'; the FASTA holds 'chr1' (no UR to a file, no M5 cache)."""
    header, reads = demo_reads["P17"]
    good = write(tmp_path / "made.cram", header, reads[:2000], index=False)
    sq = [{"SN": "1", "LN": header["SQ"][0]["LN"], "M5": header["SQ"][0]["M5"]}]
    path = reheadered(tmp_path, good, "renamed.cram", dict(header, SQ=sq))
    line = refused(tmp_path, capsys, path)
    assert "reference cannot be found" in line and "'1'" in line and FASTA.name in line


def test_another_files_index_is_refused(tmp_path: Path, capsys, demo_reads):
    """P16's index beside P17's BAM: htslib reads on where it points, and says nothing."""
    p17 = write(tmp_path / "P17.bam", *demo_reads["P17"])
    p16 = write(tmp_path / "P16.bam", *demo_reads["P16"])
    shutil.copy(f"{p16}.bai", f"{p17}.bai")
    line = refused(tmp_path, capsys, p17)
    assert "its index P17.bam.bai is not this file's" in line and "samtools index" in line


def test_an_index_older_than_the_rewritten_bam_is_refused(tmp_path: Path, capsys, demo_reads):
    header, reads = demo_reads["P17"]
    path = write(tmp_path / "P17.bam", header, reads)
    index_time = os.stat(f"{path}.bai").st_mtime
    write(path, header, reads[: len(reads) // 2], index=False)  # rewritten, not re-indexed
    os.utime(path, (index_time + 60, index_time + 60))
    line = refused(tmp_path, capsys, path)
    assert "its index P17.bam.bai is older than the file" in line
    assert f"'samtools index {path}'" in line


def test_a_rewritten_bam_whose_index_time_looks_right_is_still_refused(
    tmp_path: Path, capsys, demo_reads
):
    """Copied with times kept (cp -p, rsync -a): the index says the reads end elsewhere."""
    header, reads = demo_reads["P17"]
    path = write(tmp_path / "P17.bam", header, reads[: len(reads) // 3])
    index = Path(f"{path}.bai").read_bytes()
    write(path, header, reads, index=False)
    Path(f"{path}.bai").write_bytes(index)
    line = refused(tmp_path, capsys, path)
    assert "is not this file's" in line and "says the reads end at byte" in line


def test_bytes_corrupted_mid_file_give_the_byte_offset(tmp_path: Path, capsys, demo_reads):
    path = write(tmp_path / "P17.bam", *demo_reads["P17"])
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))
    os.utime(f"{path}.bai")  # the index is newer: only the bytes are wrong
    line = refused(tmp_path, capsys, path)
    assert "corrupt BGZF block near byte" in line
    at = int(line.split("near byte ")[1].split(" ")[0].replace(",", ""))
    assert middle - 65536 < at <= middle  # the block holding the damaged bytes
    assert "Closing failed" not in line


def test_a_sam_text_file_is_told_how_to_convert(tmp_path: Path, capsys, demo_reads):
    header, reads = demo_reads["P17"]
    path = tmp_path / "P17.sam"
    with pysam.AlignmentFile(str(path), "w", header=header) as out:
        for read in reads[:100]:
            out.write(read)
    line = refused(tmp_path, capsys, path)
    assert "is a SAM text file" in line
    assert f"'samtools view -b -o {tmp_path / 'P17'}.bam {path}'" in line
    assert f"'samtools index {tmp_path / 'P17'}.bam'" in line


def test_a_directory_given_as_a_file_is_called_a_directory(tmp_path: Path, capsys):
    path = tmp_path / "P17.bam"
    path.mkdir()
    line = refused(tmp_path, capsys, path)
    assert "is a directory" in line and "no such file" not in line


def patient_note(tmp_path: Path, capsys, path: Path, *options: str) -> tuple[dict, list[str]]:
    """Scan ``path``, annotate its scan VCF: (its patient row, the scan's stderr lines)."""
    import csv

    code, err = scan(tmp_path, capsys, path, *options)
    assert code == 0, err
    vcf = next((tmp_path / "scan").glob("*.scan.vcf.gz"))
    patients = tmp_path / "patients.tsv"
    assert main(["annotate", str(vcf), "--fasta", str(FASTA), "-o", str(tmp_path / "calls.tsv"),
                 "--patients", str(patients), "-q"]) == 0  # fmt: skip
    with patients.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 1
    return rows[0], err


def modified(tmp_path: Path, demo_reads, name: str, change) -> Path:
    header, reads = demo_reads["P17"]
    changed = []
    for read in reads:
        copy = pysam.AlignedSegment.fromstring(
            read.to_string(), pysam.AlignmentHeader.from_dict(header)
        )
        change(copy)
        changed.append(copy)
    return write(tmp_path / f"{name}.bam", header, changed)


def test_reads_without_base_qualities_are_not_evidence(tmp_path: Path, capsys, demo_reads):
    """SAM QUAL '*': every base used to count, so a sample of such reads read negative
    with a limit of detection. Now no base counts: one warning, and not_assessable."""

    def no_qualities(read):
        sequence = read.query_sequence
        read.query_sequence = sequence  # setting SEQ clears QUAL to '*'
        assert read.query_qualities is None

    path = modified(tmp_path, demo_reads, "noqual", no_qualities)
    row, err = patient_note(tmp_path, capsys, path, "-q")
    reads = len(demo_reads["P17"][1])
    assert err == [f"nlrp3annot: warning: {path}: {reads:,} reads have no base qualities "
                   "('*'): not counted as evidence"]  # fmt: skip
    assert row["status"] == "not_assessable"
    assert f"of {reads:,} reads, {reads:,} without base qualities" in row["note"]


@pytest.mark.parametrize(
    ("name", "change", "says"),
    [
        ("dups", lambda r: setattr(r, "flag", r.flag | 0x400), "marked duplicate"),
        ("mapq0", lambda r: setattr(r, "mapping_quality", 0), "below --min-mapq 20"),
        ("qcfail", lambda r: setattr(r, "flag", r.flag | 0x200), "flagged QC-fail"),
        ("unpaired", lambda r: setattr(r, "flag", r.flag | 0x1 | 0x8), "--no-proper-pairs"),
    ],
)
def test_a_sample_whose_reads_a_filter_removed_says_which_filter(
    tmp_path: Path, capsys, demo_reads, name, change, says
):
    path = modified(tmp_path, demo_reads, name, change)
    row, _ = patient_note(tmp_path, capsys, path, "-q")
    reads = len(demo_reads["P17"][1])
    assert row["status"] == "not_assessable"
    assert f"of {reads:,} reads, {reads:,} " in row["note"] and says in row["note"], row["note"]


def with_umis(tmp_path: Path, demo_reads, name: str, umi_of) -> Path:
    """The P17 reads with an RX tag set by ``umi_of(index)`` (None: no tag)."""
    header, reads = demo_reads["P17"]
    made = pysam.AlignmentHeader.from_dict(header)
    changed = []
    for i, read in enumerate(reads):
        copy = pysam.AlignedSegment.fromstring(read.to_string(), made)
        umi = umi_of(i)
        if umi is not None:
            copy.set_tag("RX", umi)
        changed.append(copy)
    return write(tmp_path / f"{name}.bam", header, changed)


def umi(i: int) -> str:
    return "".join("ACGT"[(i >> (2 * k)) & 3] for k in range(8))


def test_a_umi_tag_most_reads_lack_is_refused(tmp_path: Path, capsys, demo_reads):
    path = with_umis(tmp_path, demo_reads, "few", lambda i: umi(i) if i % 10 < 3 else None)
    reads = len(demo_reads["P17"][1])
    missing = sum(1 for i in range(reads) if i % 10 >= 3)
    code, err = scan(tmp_path, capsys, path, "--umi-tag", "RX")
    assert code == 2 and len(err) == 1, err
    assert err[0] == (
        f"nlrp3annot: error: {path}: {missing / reads:.0%} of its reads ({missing:,} of "
        f"{reads:,}) carry no RX tag (give the tag its UMIs are in with --umi-tag, or leave "
        "--umi-tag out (duplicate flags then mark PCR copies))"
    )


def test_malformed_umis_are_counted_warned_once_and_left_out(tmp_path: Path, capsys, demo_reads):
    bad = {0: "NNNNNNNN", 1: "acgtacgt", 2: 1234}  # by i % 20

    def tag(i: int):
        return bad.get(i % 20, umi(i))

    path = with_umis(tmp_path, demo_reads, "bad", tag)
    reads = len(demo_reads["P17"][1])
    malformed = sum(1 for i in range(reads) if i % 20 in bad)
    code, err = scan(tmp_path, capsys, path, "--umi-tag", "RX")
    assert code == 0
    warnings = [line for line in err if "warning" in line]
    assert warnings == [
        f"nlrp3annot: warning: {path}: {malformed:,} with a malformed RX UMI (all N, lower "
        f"case, not text) of {reads:,} reads: left out of the UMI families"
    ]
    from nlrp3annot.reads.alignments import ReadFilters
    from nlrp3annot.reads.scan import read_counts

    *_, (counted,) = read_counts([path], FASTA, ReadFilters(umi_tag="RX"))
    assert counted.reads == reads - malformed and counted.dropped["bad_umi"] == malformed


def test_reads_with_rx_umis_scanned_without_umi_tag_are_collapsed_by_rx_and_it_is_said(
    tmp_path: Path, capsys, demo_reads
):
    """Every read carries RX: with no UMI option the scan collapses by RX (as --umi-tag RX
    would: the same scan.tsv) and says so once; --no-umi counts reads, without a word; one
    file of two without RX: reads counted, the RX file warned about."""
    path = with_umis(tmp_path, demo_reads, "rx", umi)
    code, err = scan(tmp_path, capsys, path)
    assert code == 0
    assert [line for line in err if "RX" in line] == [
        "nlrp3annot: the reads carry RX UMIs: molecules counted by RX, as with --umi-tag RX "
        "(--no-umi counts reads)"
    ]
    auto = (tmp_path / "scan" / "scan.tsv").read_text()
    code, err = scan(tmp_path, capsys, path, "--umi-tag", "RX")
    assert code == 0 and (tmp_path / "scan" / "scan.tsv").read_text() == auto
    code, err = scan(tmp_path, capsys, path, "--no-umi")
    assert code == 0 and not [line for line in err if "RX" in line]
    header, reads = demo_reads["P16"]
    plain = write(tmp_path / "plain.bam", header, reads)
    capsys.readouterr()
    code = main(["scan", str(path), str(plain), "--fasta", str(FASTA), "-o",
                 str(tmp_path / "two")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and [line for line in err if "RX" in line] == [
        f"nlrp3annot: warning: {path}: reads carry RX UMIs: give --umi-tag RX, or PCR copies "
        "count as molecules"
    ]


def run_with(tmp_path: Path, capsys, bam: Path, *options: str) -> tuple[int, list[str], Path]:
    """``run`` on the demo's VCFs and samples sheet, with ``bam`` beside them."""
    demo = DEMO.parent
    vcfs = sorted(str(p) for p in (demo / "vcf").glob("*.vcf.gz"))
    out = tmp_path / "results"
    capsys.readouterr()
    code = main(["run", *vcfs, str(bam), "--fasta", str(FASTA), "--clinical",
                 str(demo / "response.xlsx"), "--samples", str(demo / "samples.csv"),
                 "-o", str(out), "-q", *options])  # fmt: skip
    return code, capsys.readouterr().err.strip().splitlines(), out


def test_run_stops_on_a_bam_whose_sample_the_sheet_does_not_list(
    tmp_path: Path, capsys, demo_reads
):
    header, reads = demo_reads["P17"]
    header = dict(header, RG=[{"ID": "rg1", "SM": "P99-amplicon"}])
    bam = write(tmp_path / "P99.bam", header, reads[:3000])
    code, err, out = run_with(tmp_path, capsys, bam)
    assert code == 2 and len(err) == 1, err
    assert err[0] == (
        f"nlrp3annot: error: {bam}: holds sample 'P99-amplicon', which samples.csv does not "
        "list (its patient would have no genotype) (add it to the sheet's sample_id column, "
        "correct the SM tag, or give --allow-missing)"
    )
    assert not out.exists()


def test_run_with_allow_missing_goes_on_and_lists_the_file_left_out(
    tmp_path: Path, capsys, demo_reads
):
    path = tmp_path / "P17.sam"
    with pysam.AlignmentFile(str(path), "w", header=demo_reads["P17"][0]) as sam:
        for read in demo_reads["P17"][1][:10]:
            sam.write(read)
    bam = path.with_suffix(".bam")
    path.rename(bam)  # a SAM text file named .bam: run cannot read it
    code, err, out = run_with(tmp_path, capsys, bam)
    assert code == 2 and len(err) == 1 and "is a SAM text file" in err[0], err
    code, err, out = run_with(tmp_path, capsys, bam, "--allow-missing")
    assert code == 0, err
    # the file as every message shows a path: from the current folder (absolute outside it)
    assert any(line.startswith(f"nlrp3annot: skipped {bam} (--allow-missing): is a SAM text")
               for line in err), err  # fmt: skip
    listed = (out / "annotation" / "alignments.skipped.tsv").read_text().splitlines()
    assert listed[0] == "file\treason" and listed[1].startswith("P17.bam\tis a SAM text file")
