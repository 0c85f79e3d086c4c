"""A sites-only text VCF read by our own loop (io/site_reader, with io/vcf's split_alleles)
gives the scan htslib's reading gives (io/pysam_reader, the reference implementation):
the same records, field by field and as dataclass values, the same skipped alleles with
their reasons, and the same counts; and a bad record is refused with the text reader's
one-line error."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from nlrp3annot.errors import RecordError
from nlrp3annot.genome.reference import locus_window
from nlrp3annot.io.read import scan_vcf
from nlrp3annot.values import Record, Variant

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=248956422>\n"
    '##FILTER=<ID=LowQual,Description="Low quality">\n'
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">\n'
    '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">\n'
    '##ALT=<ID=NON_REF,Description="Any possible alternative allele">\n'
    '##ALT=<ID=DEL,Description="Deletion">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def _lines() -> list[str]:
    lo, hi = locus_window("GRCh38")
    p = lo + 100
    rows = [
        ("chr1", lo - 50_000, ".", "A", "G", ".", "."),  # outside the window
        ("chr1", p, "rs1", "A", "G", "LowQual", "DB"),
        ("chr1", p + 1, ".", "C", "T,G,<NON_REF>", ".", "."),  # multi-allelic with NON_REF
        ("chr1", p + 2, "x;y", "ACG", "A,*", "PASS", "."),  # deletion, spanning deletion
        ("chr1", p + 3, ".", "c", "t", ".", "."),  # lower case
        ("chr1", p + 4, ".", "R", "A", ".", "."),  # IUPAC REF
        ("chr1", p + 5, ".", "G", ".", ".", "."),  # no ALT
        ("chr1", p + 6, ".", "G", "G", ".", "."),  # ALT equals REF
        ("chr1", p + 7, ".", "G", "<DEL>", ".", "."),  # symbolic
        ("chr1", p + 8, ".", "T", "<NON_REF>", ".", "END=" + str(p + 20)),  # gVCF block
        ("chr1", lo - 10, ".", "A", "<NON_REF>", ".", f"END={lo + 5}"),  # block into it
        ("chr1", p + 30, ".", "A", "AT,ANT", ".", "DB;END=1"),  # END before POS: ignored
        ("chr1", hi, ".", "AC", "A", ".", "."),  # last base of the window
        ("chr1", hi + 1, ".", "A", "C", ".", "."),  # one past it
    ]
    # (QUAL, the sixth column, is "." throughout)
    return ["\t".join(str(c) for c in (*row[:5], ".", *row[5:])) + "\n" for row in rows]


def _scan(path: Path, reader: str):
    scan = scan_vcf(path, reader=reader)
    return (
        scan.records,
        scan.skipped,
        scan.records_read,
        scan.outside,
        scan.gvcf_blocks,
        scan.samples,
    )


def test_a_sites_only_vcf_is_read_as_htslib_reads_it(tmp_path: Path):
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(HEADER + "".join(_lines()))
    ours, htslib = _scan(vcf, "auto"), _scan(vcf, "htslib")
    assert ours == htslib
    records = ours[0]["GRCh38"]
    assert len(records) == 8  # 1 + 2 + 1 + 1 + 2 + 1: the plain ALTs above, by hand
    assert {s.reason for s in ours[1]["GRCh38"]} >= {
        "no ALT allele (reference call)",
        "ALT equals REF (no change)",
        "REF is not a plain sequence of bases",
    }
    assert ours[4] == 2  # the two <NON_REF>-only records (blocks)
    # both readers share split_alleles: what it makes is checked against the lines by hand
    p = locus_window("GRCh38")[0] + 100
    by_key = {(r.variant.pos, r.variant.alt): r for r in records}
    assert set(by_key) == {
        (p, "G"), (p + 1, "T"), (p + 1, "G"), (p + 2, "A"), (p + 3, "t"),
        (p + 30, "AT"), (p + 30, "ANT"), (locus_window("GRCh38")[1], "A"),
    }  # fmt: skip
    assert by_key[(p, "G")] == Record(2, Variant("chr1", p, "A", "G"), "rs1", "LowQual", 1, 1)
    assert by_key[(p + 1, "G")] == Record(3, Variant("chr1", p + 1, "C", "G"), ".", ".", 2, 3)
    assert by_key[(p + 2, "A")] == Record(
        4, Variant("chr1", p + 2, "ACG", "A"), "x;y", "PASS", 1, 2
    )
    # the records are the dataclasses' own values (made without __init__ on this path)
    for rec in records:
        again = Record(**{f.name: getattr(rec, f.name) for f in fields(Record)})
        assert again == rec and hash(again) == hash(rec)
        assert vars(rec) == vars(again)
        v = rec.variant
        assert Variant(v.chrom, v.pos, v.ref, v.alt) == v and vars(v) == vars(
            Variant(*vars(v).values())
        )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr1\t247416000\t.\tA\n", "fewer than 8 tab-separated columns"),
        ("chr1\t24741600x\t.\tA\tG\t.\t.\t.\n", "POS '24741600x' is not a number"),
    ],
)
def test_a_bad_sites_only_record_is_refused_with_its_number(tmp_path: Path, line, message):
    vcf = tmp_path / "bad.vcf"
    vcf.write_text(HEADER + _lines()[1] + line)
    with pytest.raises(RecordError, match=message) as error:
        scan_vcf(vcf)
    assert "#2" in str(error.value)
