"""A sites-only table's lines (io/writers, the SiteRow path that joins a row's cells at
once) are csv.writer's lines of the same cells: user text that a spreadsheet would run is
guarded with an apostrophe, a cell with a tab, quote or newline is quoted, None is empty,
and numbers and the REF-mismatch flag are written as Python writes them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nlrp3annot.io.writers import table_columns, write_tsv
from nlrp3annot.values import SITE_KEYS, SiteRow
from tests.conftest import TEST_FASTA

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV-injection rule, by hand


def _runs(text: str) -> bool:
    if not text.startswith(FORMULA_START):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False


def _guarded(column: str, value: object) -> str:
    text = "" if value is None else str(value)
    if column not in {"file", "chrom", "ref", "alt", "id", "filter"}:
        return text
    # a formula gets an apostrophe; so does an apostrophe before one (reads back exactly)
    if _runs(text) or (text.startswith("'") and _runs(text[1:])):
        return "'" + text
    return text


def _expected(rows: list, columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_guarded(c, row[c]) for c in columns])
    return out.getvalue()


def test_site_rows_are_written_as_csv_writes_them(tmp_path: Path):
    from nlrp3annot.runner.pipeline import annotate_file

    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t247416000\t=cmd|calc\tA\tG\t.\tPASS\t.\n"
        "chr1\t247416001\t-1.5\tC\tT\t.\tq10;LowQual\t.\n"
        'chr1\t247416002\tsay"so\tG\tA\t.\t.\t.\n'
        "chr1\t247416003\t@x\tT\tC\t.\t+y\t.\n"
    )
    result = annotate_file(vcf, fasta=TEST_FASTA["GRCh38"], build="GRCh38")
    rows = list(result.table)
    assert [type(r) for r in rows] == [SiteRow] * 4
    # and rows whose cells the annotation never gives: None, a tab, a newline, a number
    base = list(rows[1].values)  # (its user text needs no guard)
    odd = []
    cells = [("conditions", None), ("note", "a\tb"), ("domain", "x\ny"), ("clinvar_id", 7),
             ("pos", None), ("id", "'=z"), ("filter", "'plain")]  # fmt: skip
    for key, value in cells:
        values = list(base)
        values[SITE_KEYS.index(key)] = value
        odd.append(SiteRow(tuple(values)))
    result.table[:] = rows + odd
    out = tmp_path / "out.tsv"
    write_tsv(result, out)
    columns = table_columns(result.table)
    text = out.read_text()
    assert text == _expected(result.table, columns)
    ids = [line.split("\t")[columns.index("id")] for line in text.splitlines()[1:5]]
    assert ids == ["'=cmd|calc", "-1.5", '"say""so"', "'@x"]
