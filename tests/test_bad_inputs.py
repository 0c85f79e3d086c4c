"""User mistakes, one by one, as a new user makes them: each must end with exit code 2 and
one line on stderr that names the file (or option) and says what to do, never a traceback,
and must leave no output file behind."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_FASTA, compare_args, write_vcf

FASTA = str(TEST_FASTA["GRCh38"])
R260W = [("chr1", 247424227, "C", "T")]
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


def _good(tmp: Path) -> Path:
    return write_vcf(tmp / "good.vcf", R260W)


def _text(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _bytes(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _truncated_bgzip(tmp: Path) -> Path:
    import pysam

    plain = write_vcf(tmp / "t.vcf", R260W * 1)
    path = tmp / "t.vcf.gz"
    pysam.tabix_compress(str(plain), str(path), force=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    return path


def _bam(tmp: Path, name: str) -> Path:
    """A real BAM (one read, written by htslib through pysam), named ``name``."""
    import pysam

    path = tmp / name
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 248956422}],
              "RG": [{"ID": "a", "SM": "S1"}]}  # fmt: skip
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        read = pysam.AlignedSegment(out.header)
        read.query_name, read.reference_id, read.reference_start = "r1", 0, 247424200
        read.query_sequence, read.cigarstring = "ACGT" * 10, "40M"
        read.query_qualities = pysam.qualitystring_to_array("I" * 40)
        out.write(read)
    return path


# (case id, how to make the arguments from a temporary folder, text the line must hold)
def _loop(tmp: Path, name: str) -> Path:
    """A symbolic link that points at itself."""
    link = tmp / name
    link.symlink_to(name)
    return link


CASES = [
    ("missing_vcf", lambda t: ["annotate", str(t / "nope.vcf")], "nope.vcf"),
    ("symlink_loop_vcf", lambda t: ["annotate", str(_loop(t, "loop.vcf"))], "loop.vcf"),
    (
        "symlink_loop_genotypes",
        lambda t: _compare(t, genotypes=_loop(t, "loop.tsv")),
        "loop.tsv",
    ),
    ("folder_as_vcf", lambda t: ["annotate", str(t)], "work"),
    ("empty_vcf", lambda t: ["annotate", str(_text(t, "empty.vcf", ""))], "empty.vcf"),
    (
        "binary_vcf",
        lambda t: ["annotate", str(_bytes(t, "bin.vcf", bytes(range(256)) * 4))],
        "bin.vcf",
    ),
    ("truncated_bgzip", lambda t: ["annotate", str(_truncated_bgzip(t))], "t.vcf.gz"),
    (
        "no_chrom_line",
        lambda t: ["annotate", str(_text(t, "nochrom.vcf", HEADER + "chr1\t5\t.\tA\tC\n"))],
        "nochrom.vcf",
    ),
    (
        "byte_order_mark",
        lambda t: [
            "annotate",
            str(_bytes(t, "bom.vcf", b"\xef\xbb\xbf" + (HEADER + COLUMNS + "\n").encode())),
        ],
        "byte-order mark",
    ),
    (
        "duplicate_samples",
        lambda t: [
            "annotate",
            str(_text(t, "dup.vcf", HEADER + COLUMNS + "\tFORMAT\tS1\tS1\n")),
        ],
        "dup.vcf",
    ),
    (
        "duplicate_samples_say_their_columns",
        lambda t: [
            "annotate",
            str(_text(t, "dup3.vcf", HEADER + COLUMNS + "\tFORMAT\tA\tB\tA\n")),
        ],
        "'A' is in the #CHROM line 2 times (columns 10, 12)",
    ),
    (
        "byte_order_mark_named",
        lambda t: [
            "annotate",
            str(_bytes(t, "bom2.vcf", b"\xef\xbb\xbf" + (HEADER + COLUMNS + "\n").encode())),
        ],
        "bom2.vcf: starts with a UTF-8 byte-order mark before ##fileformat",
    ),
    (
        "bam_to_annotate",
        lambda t: ["annotate", str(_bam(t, "reads.bam")), "--fasta", FASTA],
        "reads.bam: is a BAM alignment file (reads), not a VCF (annotate reads VCFs; to call "
        "variants from reads use 'nlrp3annot scan",
    ),
    (
        "bam_named_as_a_vcf",
        lambda t: ["annotate", str(_bam(t, "reads.vcf.gz")), "--fasta", FASTA],
        "reads.vcf.gz: is a BAM alignment file",
    ),
    (
        "sam_to_annotate",
        lambda t: [
            "annotate",
            str(_text(t, "reads.sam", "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:248956422\n")),
        ],
        "reads.sam: is a SAM alignment file",
    ),
    (
        "pos_not_a_number_in_locus",
        lambda t: [
            "annotate",
            str(_text(t, "pos.vcf", HEADER + COLUMNS + "\nchr1\t24742422x\t.\tC\tT\t.\t.\t.\n")),
        ],
        "pos.vcf",
    ),
    (
        "too_few_columns_in_locus",
        lambda t: [
            "annotate",
            str(_text(t, "cols.vcf", HEADER + COLUMNS + "\nchr1\t247424227\t.\tC\tT\n")),
        ],
        "cols.vcf",
    ),
    ("missing_list", lambda t: ["annotate", "--list", str(t / "nolist.txt")], "nolist.txt"),
    ("missing_fasta", lambda t: ["annotate", str(_good(t)), "--fasta", str(t / "no.fa")], "no.fa"),
    (
        "fasta_not_a_fasta",
        lambda t: ["annotate", str(_good(t)), "--fasta", str(_text(t, "bad.fa", "hello\n"))],
        "bad.fa",
    ),
    (
        "output_is_a_folder",
        lambda t: ["annotate", str(_good(t)), "--fasta", FASTA, "-o", str(t)],
        "work: is a folder",
    ),
    (
        "output_under_a_file",
        lambda t: ["annotate", str(_good(t)), "--fasta", FASTA, "-o", str(_good(t) / "x.tsv")],
        "good.vcf",
    ),
    (
        "output_is_the_input",
        lambda t: ["annotate", str(_good(t)), "--fasta", FASTA, "-o", str(t / "good.vcf")],
        "good.vcf",
    ),
    (
        "output_is_a_device",
        lambda t: ["annotate", str(_good(t)), "--fasta", FASTA, "-o", "/dev/null"],
        "/dev/null",
    ),
    (
        "vcf_output_of_two_files",
        lambda t: [
            "annotate",
            str(_good(t)),
            str(write_vcf(t / "second.vcf", R260W)),
            "--fasta",
            FASTA,
            "-o",
            str(t / "out.vcf"),
        ],
        "VCF output takes one input file",
    ),
    (
        "genotypes_empty",
        lambda t: _compare(t, genotypes=_text(t, "g.tsv", "")),
        "g.tsv",
    ),
    (
        "genotypes_binary",
        lambda t: _compare(t, genotypes=_bytes(t, "g.tsv", bytes(range(256)))),
        "g.tsv",
    ),
    (
        "genotypes_not_a_summary",
        lambda t: _compare(t, genotypes=_text(t, "g.tsv", "a\tb\n1\t2\n")),
        "g.tsv",
    ),
    (
        "genotypes_workbook_named_tsv",
        lambda t: _compare(t, genotypes=_workbook(t, "g.tsv")),
        "g.tsv: is an Excel workbook (a zip file), not TSV text",
    ),
    (
        "samples_workbook_named_csv",
        lambda t: _compare(t, samples=_workbook(t, "s.csv")),
        "s.csv: is an Excel workbook (a zip file), not CSV text",
    ),
    (
        "clinical_missing",
        lambda t: _compare(t, clinical=t / "none.csv"),
        "none.csv",
    ),
    (
        "clinical_workbook_named_csv",
        lambda t: _compare(t, clinical=_bytes(t, "c.csv", b"PK\x03\x04" + b"\x00" * 40)),
        "c.csv",
    ),
    (
        "clinical_unknown_unit",
        lambda t: _compare(
            t,
            clinical=_text(
                t, "c.csv", "patient_id,visit,day,measure,value,unit\nP1,baseline,0,CRP,5,furlong\n"
            ),
        ),
        "c.csv",
    ),
    (
        "samples_sheet_without_ids",
        lambda t: _compare(t, samples=_text(t, "s.csv", "who,what\nP1,S1\n")),
        "s.csv",
    ),
    (
        "gzip_that_is_not",
        lambda t: ["annotate", str(_bytes(t, "fake.vcf.gz", b"\x1f\x8b" + b"\x00" * 50))],
        "fake.vcf.gz",
    ),
]


def _workbook(tmp: Path, name: str) -> Path:
    """A real .xlsx workbook (openpyxl) saved under another name."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["patient_id", "sample_id"])
    book.active.append(["P1", "S1"])
    path = tmp / name
    book.save(path)
    return path


def _compare(tmp: Path, genotypes=None, clinical=None, samples=None) -> list[str]:
    if genotypes is None:
        genotypes = _text(
            tmp,
            "patients.tsv",
            "file\tsample\tstatus\nx.vcf\tS1\tpositive_germline\nx.vcf\tS2\tnegative\n",
        )
    if clinical is None:
        clinical = _text(
            tmp,
            "response.csv",
            "patient_id,visit,day,measure,value,unit\nP1,baseline,0,CRP,5,mg/L\n"
            "P2,baseline,0,CRP,9,mg/L\n",
        )
    if samples is None:
        samples = _text(tmp, "samples.csv", "patient_id,sample_id\nP1,S1\nP2,S2\n")
    return compare_args(genotypes, clinical, samples, tmp / "results")


@pytest.mark.parametrize("case, make, named", CASES, ids=[c[0] for c in CASES])
def test_a_user_mistake_is_one_line_and_exit_2(tmp_path: Path, case, make, named) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = make(work)
    before = {p for p in work.rglob("*")}
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, (case, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, (case, proc.stderr)
    assert lines[0].startswith("nlrp3annot: error: "), lines[0]
    assert named in lines[0], (case, named, lines[0])
    # nothing made is left: no output, no lock file, no results folder of a failed run
    leftovers = sorted({p for p in work.rglob("*")} - before)
    assert leftovers == [], (case, leftovers)


def test_plain_gzip_of_a_vcf_is_fine(tmp_path: Path) -> None:
    """(The counterpart of gzip_that_is_not: a real plain-gzip VCF is read.)"""
    plain = write_vcf(tmp_path / "p.vcf", R260W)
    path = tmp_path / "p.vcf.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(path), "--fasta", FASTA, "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "c.778C>T" in proc.stdout


@pytest.mark.parametrize("args", [["plan"], ["lookup", "R260W"], ["annotate", "VCF", "-q"]])
def test_stdout_on_a_full_device_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """`> /dev/full`: the write fails with ENOSPC; one line naming stdout, exit 2."""
    args = [str(_good(tmp_path)) if a == "VCF" else a for a in args]
    if args[0] == "annotate":
        args += ["--fasta", FASTA]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "nlrp3annot", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "nlrp3annot: error: cannot write to stdout: No space left on device"
    ]
