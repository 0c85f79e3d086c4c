"""Every input reader on damaged bytes: a VCF (plain and gzip), a clinical table as CSV and
as XLSX, a samples sheet and a FASTA, each mutated at random by hypothesis. Each input must
either be read or end with the project's own error (Nlrp3AnnotError: one line naming the
file); any other exception is a crash, and crashes found are kept as regression files in
tests/data/bad/ (replayed in tests/test_bad_inputs.py). Each target runs a derandomised round
first (the same examples every run; NLRP3_FUZZ_EXAMPLES sets how many), then fresh random
rounds until NLRP3_FUZZ_SECONDS (default 60) have passed.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from conftest import TEST_FASTA, fuzz_for, fuzz_target
from hypothesis import strategies as st

from nlrp3annot.errors import Nlrp3AnnotError

VCF = (
    b"##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
    b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    b'##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    b'##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
    b"chr1\t247424227\trs1\tC\tT\t50\tPASS\tDP=40\tGT:AD:DP\t0/1:20,20:40\t0/0:40,0:40\n"
    b"chr1\t247424356\t.\tG\tA,GT\t.\t.\t.\tGT:AD:DP\t1/2:0,10,9:19\t./.:.:.\n"
    b"chr1\t247424492\t.\tCAG\tC\t.\tLowQual\t.\tGT\t0|1\t1\n"
)
CLINICAL = (
    b"patient_id,visit,day,measure,value,unit\n"
    b"P1,baseline,0,CRP,5.0,mg/dL\nP1,month3,90,SAA,<5,mg/L\nP2,baseline,0,ESR,40,mm/h\n"
)
SAMPLES = b"patient_id,sample_id,withdrawal_day,flare_day\nP1,S1,90,93\nP2,S2,,\n"


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """``original`` after 1-6 random edits: a byte replaced, inserted or deleted, a line
    dropped or doubled, or the file cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["replace", "insert", "delete", "line", "cut"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if edit == "replace" and data:
            data[at] = draw(st.sampled_from(b"\t\n\r,;:/|.*<>=0123456789ACGTN-\x00\xff\xe9 "))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif edit == "line":
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines[k:k] = [] if draw(st.booleans()) else [lines[k]]
            if draw(st.booleans()):
                del lines[k]
            data = bytearray(b"\n".join(lines))
        elif edit == "cut":
            del data[at:]
    return bytes(data)


def _read_or_own_error(call) -> None:
    try:
        call()
    except Nlrp3AnnotError as exc:
        assert "\n" not in str(exc).strip()


_FOLDER = Path(tempfile.mkdtemp(prefix="nlrp3annot-fuzz-"))
_COUNT = iter(range(10**9))


def _file(name: str, data: bytes) -> Path:
    """A fresh file per example (readers remember files by path, size and time); the
    previous examples' files are removed."""
    for old in _FOLDER.iterdir():
        old.unlink()
    path = _FOLDER / f"{next(_COUNT)}-{name}"
    path.write_bytes(data)
    return path


@fuzz_target(data=damaged(VCF), compressed=st.booleans())
def damaged_vcf(data: bytes, compressed: bool) -> None:
    from nlrp3annot.runner.pipeline import annotate_file

    path = _file("x.vcf.gz" if compressed else "x.vcf", gzip.compress(data) if compressed else data)
    _read_or_own_error(lambda: annotate_file(path, fasta=TEST_FASTA["GRCh38"]))


@fuzz_target(data=damaged(CLINICAL), suffix=st.sampled_from([".csv", ".tsv", ".txt"]))
def damaged_clinical_table(data: bytes, suffix: str) -> None:
    from nlrp3annot.response.tables.clinical import read_clinical

    _read_or_own_error(lambda: read_clinical(_file("c" + suffix, data)))


@fuzz_target(data=damaged(SAMPLES))
def damaged_samples_sheet(data: bytes) -> None:
    from nlrp3annot.response.tables.clinical import read_samples

    _read_or_own_error(lambda: read_samples(_file("s.csv", data)))


CELL = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


@fuzz_target(
    examples_share=1 / 3,  # a workbook per example: slower
    header=st.lists(
        st.sampled_from(
            ["patient_id", "visit", "day", "measure", "value", "unit", "CRP (mg/dL)", "SAA"]
            + ["", "Patient", "ADY", "AVAL", "PARAMCD", "USUBJID"]
        ),
        min_size=1,
        max_size=7,
    ),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=6),
)
def random_xlsx_clinical_table(header: list[str], rows: list[list]) -> None:
    import openpyxl
    from openpyxl.utils.exceptions import IllegalCharacterError

    from nlrp3annot.response.tables.clinical import read_clinical

    path = _file("c.xlsx", b"")
    book = openpyxl.Workbook()
    try:
        book.active.append(header)
        for row in rows:
            book.active.append(row)
        book.save(path)
    except (ValueError, TypeError, IllegalCharacterError):
        return  # openpyxl refuses the cell itself: a workbook Excel could not hold either
    _read_or_own_error(lambda: read_clinical(path))


FASTA = b">chr1 test\n" + b"ACGTNacgtn" * 30 + b"\n" + b"GATTACA" * 20 + b"\n"


@fuzz_target(data=damaged(FASTA), build=st.sampled_from(["GRCh38", "GRCh37"]))
def damaged_fasta(data: bytes, build: str) -> None:
    from nlrp3annot.genome.sequence import fasta_build, read_fasta_locus

    path = _file("g.fa", data)
    _read_or_own_error(lambda: read_fasta_locus(path, build))
    _read_or_own_error(lambda: fasta_build(path))


TARGETS = [
    damaged_vcf,
    damaged_clinical_table,
    damaged_samples_sheet,
    random_xlsx_clinical_table,
    damaged_fasta,
]


@pytest.mark.parametrize("target", TARGETS, ids=[t.__name__ for t in TARGETS])
def test_fuzz_target_for_a_bounded_time(target) -> None:
    assert fuzz_for(target) >= 1
