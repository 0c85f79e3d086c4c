"""An indexed FASTA read without htslib (genome/fasta_index) gives htslib's bases (pysam's
FastaFile.fetch, the reference): bgzip with .fai and .gzi, plain text with .fai in two line
widths and with CRLF line ends, at block and line edges and past the contig's end; a file
it cannot read that way (no .gzi, a .fai that does not match) is left to htslib (None),
and the locus the annotator loads is the same either way."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pysam
import pytest

from nlrp3annot.genome.fasta_index import fetch_indexed
from nlrp3annot.genome.reference import locus_window
from nlrp3annot.genome.sequence import SHIFT_MARGIN, read_fasta_locus
from tests.conftest import TEST_FASTA

SPANS = [(0, 1), (0, 100), (59, 61), (60, 121), (65_000, 66_000), (100_000, 300_000)]


def _htslib(path: Path, contig: str, start: int, end: int) -> str:
    with pysam.FastaFile(str(path)) as fasta:
        return fasta.fetch(contig, start, end)


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_the_bundled_bgzip_fastas_read_as_htslib_reads_them(build):
    path = Path(TEST_FASTA[build])
    lo, hi = locus_window(build)
    length = int(path.with_name(path.name + ".fai").read_text().split("\t")[1])
    spans = [(lo - SHIFT_MARGIN - 1, hi + SHIFT_MARGIN), (length - 500, length + 1000), *SPANS]
    for start, end in spans:
        assert fetch_indexed(path, ["chr1"], start, end) == _htslib(path, "chr1", start, end)


@pytest.mark.parametrize(("width", "newline"), [(60, "\n"), (70, "\n"), (60, "\r\n")])
def test_plain_and_bgzip_fastas_of_any_line_width_read_as_htslib_reads_them(
    tmp_path: Path, width: int, newline: str
):
    rng = random.Random(width)
    contigs = {"chrM": 1_000, "1": 300_007}  # another contig first: offsets from the .fai
    plain = tmp_path / "genome.fa"
    with plain.open("w", newline="") as out:
        for name, size in contigs.items():
            seq = "".join(rng.choice("ACGTNacgt") for _ in range(size))
            out.write(f">{name} some description{newline}")
            out.writelines(seq[i : i + width] + newline for i in range(0, size, width))
    pysam.faidx(str(plain))
    packed = tmp_path / "genome.fa.gz"
    pysam.tabix_compress(str(plain), str(packed))
    pysam.faidx(str(packed))  # .fai and .gzi
    for path in (plain, packed):
        for start, end in [*SPANS, (299_990, 400_000)]:
            got = fetch_indexed(path, ["chr1", "1"], start, end)
            assert got == _htslib(path, "1", start, end), (path.name, start, end)


def test_what_it_cannot_read_is_left_to_htslib(tmp_path: Path):
    source = Path(TEST_FASTA["GRCh38"])
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    shutil.copy(source.with_name(source.name + ".fai"), tmp_path / (copy.name + ".fai"))
    assert fetch_indexed(copy, ["chr1"], 0, 100) is None  # no .gzi
    plain = tmp_path / "short.fa"
    plain.write_text(">chr1\nACGTACGTAC\nACGTAC\n")
    (tmp_path / "short.fa.fai").write_text("chr1\t16\t6\t12\t13\n")  # wrong line width
    assert fetch_indexed(plain, ["chr1"], 0, 16) is None
    assert fetch_indexed(plain, ["chr2"], 0, 16) is None  # no such contig


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_the_locus_loaded_is_htslibs(build):
    path = Path(TEST_FASTA[build])
    seq = read_fasta_locus(path, build)
    lo, hi = locus_window(build)
    expected = _htslib(path, "chr1", lo - SHIFT_MARGIN - 1, hi + SHIFT_MARGIN).upper()
    assert seq.bases == expected and seq.start == lo - SHIFT_MARGIN
