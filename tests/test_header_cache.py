"""A batch's files share one header but for the sample on their #CHROM line: the meta lines
are read once per distinct text (issue 28), and each file still gets its own samples and its
own checks of the #CHROM line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlrp3annot.errors import InputFileError
from nlrp3annot.io.vcf import parse_header

META = (
    b"##fileformat=VCFv4.2\n"
    b"##contig=<ID=chr1,length=248956422>\n"  # GRCh38's chr1 length
    b'##FORMAT=<ID=AF,Number=A,Type=Float,Description="x">\n'
    b'##FORMAT=<ID=ADF,Number=R,Type=Integer,Description="x">\n'
    b'##FORMAT=<ID=ADR,Number=R,Type=Integer,Description="x">\n'
)
FIXED = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


def test_files_sharing_meta_lines_keep_their_own_samples():
    first = parse_header(META + FIXED + b"\tFORMAT\tP00001\n", Path("a.vcf"))
    second = parse_header(META + FIXED + b"\tFORMAT\tP00002\tP00003\n", Path("b.vcf"))
    assert first.samples == ["P00001"]
    assert second.samples == ["P00002", "P00003"]
    for header in (first, second):
        assert header.declared == ("GRCh38", "chr1", 248956422)
        assert header.af_number == "A"
        assert header.strand == "ADF"
    assert first.scan_limits is not second.scan_limits  # a file's own dict


def test_a_bad_chrom_line_after_a_known_meta_is_still_refused():
    parse_header(META + FIXED + b"\tFORMAT\tP00001\n", Path("a.vcf"))
    with pytest.raises(InputFileError, match="separated by spaces"):
        parse_header(META + FIXED.replace(b"\t", b" ") + b" FORMAT P1\n", Path("b.vcf"))
    with pytest.raises(InputFileError, match="not UTF-8"):
        parse_header(META + FIXED + b"\tFORMAT\tP\xff\n", Path("c.vcf"))
    with pytest.raises(InputFileError, match="8 fixed columns"):
        parse_header(META + b"#CHROM\tPOS\n", Path("d.vcf"))
