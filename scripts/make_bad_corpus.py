"""Write the bad-input corpus kept in tests/data/bad/ (replayed by tests/test_bad_corpus.py).

Each case is one damaged input (a VCF line, a header, a genotype, a table cell, a FASTA) and
what a user should get, written down from the VCF/CSV rules before running the tool: either
exit 0 (the input is usable; a record outside NLRP3 or an allele that cannot be named is
counted or listed, not fatal) or exit 2 with one line holding a given phrase. VCF cases come
plain and bgzip-compressed. Run from the repository root:

    python scripts/make_bad_corpus.py
"""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pysam

OUT = Path("tests/data/bad")
LOCUS = 247424227  # c.778C>T (R260W) on GRCh38; the TEST genome has C there
HEAD = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
)
COLS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
GOOD = f"chr1\t{LOCUS}\trs1\tC\tT\t50\tPASS\tDP=40\tGT:AD:DP\t0/1:20,20:40\t0/0:40,0:40\n"
OTHER = "chr1\t247424356\t.\tG\tA\t.\tPASS\t.\tGT:AD:DP\t0/0:30,0:30\t0/1:15,15:30\n"


def field(index: int, value: str) -> str:
    """The good locus record with column ``index`` (0-based) replaced."""
    cells = GOOD.rstrip("\n").split("\t")
    cells[index] = value
    return "\t".join(cells) + "\n"


# (name, record lines or a whole text, expected exit, phrase the error line must hold)
RECORD_CASES = [
    ("pos_letters", field(1, "24742422x"), 2, "is not a number"),
    ("pos_empty", field(1, ""), 2, "is not a number"),
    ("pos_float", field(1, "247424227.0"), 2, "is not a number"),
    ("pos_exponent", field(1, "2.47e8"), 2, "is not a number"),
    ("pos_negative", field(1, "-5"), 0, ""),  # a number: outside the locus
    ("pos_zero", field(1, "0"), 0, ""),
    ("pos_huge", field(1, "99999999999999999999"), 0, ""),
    ("ref_empty", field(3, ""), 0, ""),  # listed as skipped: REF is not bases
    ("ref_dot", field(3, "."), 0, ""),
    ("ref_not_bases", field(3, "X"), 0, ""),
    ("ref_lowercase", field(3, "c"), 0, ""),
    ("ref_mismatch", field(3, "G"), 0, ""),  # reported per row, not fatal
    ("ref_long_mismatch", field(3, "C" * 300), 0, ""),
    ("alt_empty", field(4, ""), 0, ""),
    ("alt_dot", field(4, "."), 0, ""),
    ("alt_symbolic", field(4, "<DEL>"), 0, ""),
    ("alt_star", field(4, "*"), 0, ""),
    ("alt_trailing_comma", field(4, "T,"), 0, ""),
    ("alt_leading_comma", field(4, ",T"), 0, ""),
    ("alt_breakend", field(4, "C]chr2:5]"), 0, ""),
    ("alt_not_bases", field(4, "Z"), 0, ""),
    ("alt_equals_ref", field(4, "C"), 0, ""),
    ("qual_letters", field(5, "high"), 0, ""),
    ("filter_empty", field(6, ""), 0, ""),
    ("info_end_letters", field(7, "END=abc"), 0, ""),
    ("info_garbage", field(7, "=;;=="), 0, ""),
    ("gt_beyond_alts", field(9, "0/3:20,20:40"), 2, "names allele 3"),
    ("gt_negative", field(9, "0/-1:20,20:40"), 2, "S1"),
    ("gt_letters", field(9, "a/b:20,20:40"), 2, "S1"),
    ("gt_triploid", field(9, "0/1/1:20,20:40"), 0, ""),
    ("gt_missing", field(9, "./.:.:."), 0, ""),
    ("gt_haploid", field(9, "1:0,40:40"), 0, ""),
    ("ad_letters", field(9, "0/1:a,b:40"), 2, "S1"),
    ("ad_one_value", field(9, "0/1:20:40"), 0, ""),
    ("dp_letters", field(9, "0/1:20,20:deep"), 2, "S1"),
    ("format_empty", field(8, ""), 0, ""),
    ("too_few_samples", GOOD.rsplit("\t", 1)[0] + "\n", 2, "sample columns"),
    ("too_many_samples", GOOD.rstrip("\n") + "\t0/0:1,0:1\n", 2, "sample columns"),
    ("too_few_columns", "chr1\t247424227\trs1\tC\tT\n", 2, "fewer than 8"),
    ("other_chromosome", field(0, "chr2"), 0, ""),
    ("chromosome_empty", field(0, ""), 0, ""),
    ("crlf_line_end", GOOD.replace("\n", "\r\n"), 0, ""),
    ("tab_at_end", GOOD.rstrip("\n") + "\t\n", 2, "sample columns"),
    ("latin1_info", field(7, "NOTE=caf\xe9"), 0, ""),
    ("nul_in_info", field(7, "A\x00B"), 0, ""),
]
WHOLE_CASES = [
    ("no_fileformat", HEAD.split("\n", 1)[1] + COLS + GOOD, 2, "not a VCF"),
    ("byte_order_mark", "\ufeff" + HEAD + COLS + GOOD, 2, "UTF-8 byte-order mark before"),
    ("chrom_line_spaces", HEAD + COLS.replace("\t", "  ") + GOOD, 2, "spaces, not tabs"),
    ("no_chrom_line", HEAD + GOOD, 2, "#CHROM"),
    (
        "duplicate_samples",
        HEAD + COLS.replace("S2", "S1") + GOOD,
        2,
        "'S1' is in the #CHROM line 2 times (columns 10, 11)",
    ),
    ("header_only", HEAD + COLS, 0, ""),
    ("empty", "", 2, "empty"),
    ("blank_lines_between", HEAD + COLS + GOOD + "\n\n" + OTHER, 0, ""),
    ("comment_after_header", HEAD + COLS + "#note\n" + GOOD, 0, ""),
    ("unsorted", HEAD + COLS + OTHER + GOOD, 0, ""),
    ("contig_1_records_chr1", HEAD.replace("ID=chr1", "ID=1") + COLS + GOOD, 0, ""),
    ("contig_grch37_length", HEAD.replace("248956422", "249250621") + COLS + GOOD, 2, "GRCh37"),
]

TABLE_HEAD = "patient_id,visit,day,measure,value,unit\n"
CLINICAL_CASES = [
    (
        "clinical_no_patient_column",
        "visit,day,measure,value,unit\nbaseline,0,CRP,5,mg/L\n",
        2,
        "patient",
    ),
    ("clinical_no_measure", "patient_id,visit,day\nP1,baseline,0\n", 2, "measure"),
    ("clinical_unknown_unit", TABLE_HEAD + "P1,baseline,0,CRP,5,furlong\n", 2, "unit"),
    ("clinical_decimal_comma", TABLE_HEAD + "P1,baseline,0,CRP,5,5,mg/L\n", 2, "decimal"),
    ("clinical_value_letters", TABLE_HEAD + "P1,baseline,0,CRP,lots,mg/L\n", 2, "not a number"),
    ("clinical_day_letters", TABLE_HEAD + "P1,baseline,zero,CRP,5,mg/L\n", 2, "number of days"),
    ("clinical_header_only", TABLE_HEAD, 0, ""),
    ("clinical_empty", "", 2, "empty"),
    ("clinical_binary", "\x00\x01\x02\x03", 2, "binary"),
    ("clinical_semicolons", TABLE_HEAD.replace(",", ";") + "P1;baseline;0;CRP;5,5;mg/L\n", 0, ""),
    ("clinical_bom", "\ufeff" + TABLE_HEAD + "P1,baseline,0,CRP,5,mg/L\n", 0, ""),
    ("clinical_censored", TABLE_HEAD + "P1,baseline,0,SAA,<5,mg/L\n", 0, ""),
]
SAMPLES_CASES = [
    ("samples_no_ids", "who,what\nP1,S1\n", 2, "sample"),
    ("samples_empty", "", 2, "empty"),
    (
        "samples_day_letters",
        "patient_id,sample_id,withdrawal_day\nP1,S1,soon\nP2,S2,\n",
        2,
        "withdrawal",
    ),
    ("samples_sample_twice", "patient_id,sample_id\nP1,S1\nP2,S1\n", 2, "S1"),
]
# Excel workbooks saved under a text table's name (written by openpyxl): (name, role, phrase)
WORKBOOK_CASES = [
    ("genotypes_workbook.tsv", "genotypes", "is an Excel workbook (a zip file), not TSV text"),
    ("samples_workbook.csv", "samples", "is an Excel workbook (a zip file), not CSV text"),
    ("clinical_workbook.csv", "clinical", "is an Excel workbook (a zip file), not CSV text"),
]
FASTA_CASES = [
    ("fasta_not_fasta", "hello\n", 2, "FASTA"),
    ("fasta_empty", "", 2, "FASTA"),
    ("fasta_other_contig", ">chr2\n" + "ACGT" * 100 + "\n", 2, "chr1"),
    ("fasta_short_chr1", ">chr1\n" + "ACGT" * 100 + "\n", 2, "NLRP3"),
]


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    rows = []
    for name, line, code, phrase in RECORD_CASES:
        text = HEAD + COLS + line + OTHER if "\n" in line else HEAD + COLS + line
        rows += _vcf(name, text, code, phrase)
    for name, text, code, phrase in WHOLE_CASES:
        rows += _vcf(name, text, code, phrase)
    for name, text, code, phrase in CLINICAL_CASES:
        (OUT / f"{name}.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
        rows.append((f"{name}.csv", "clinical", code, phrase))
    for name, text, code, phrase in SAMPLES_CASES:
        (OUT / f"{name}.csv").write_text(text)
        rows.append((f"{name}.csv", "samples", code, phrase))
    for name, role, phrase in WORKBOOK_CASES:
        _workbook(OUT / name)
        rows.append((name, role, 2, phrase))
    for name, text, code, phrase in FASTA_CASES:
        (OUT / f"{name}.fa").write_text(text)
        rows.append((f"{name}.fa", "fasta", code, phrase))
    with (OUT / "EXPECTED.tsv").open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "given_as", "exit", "phrase"])
        writer.writerows(rows)
    print(f"{len(rows)} bad inputs in {OUT}")


def _workbook(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["patient_id", "sample_id"])
    book.active.append(["P1", "S1"])
    book.save(path)


def _vcf(name: str, text: str, code: int, phrase: str) -> list[tuple]:
    data = text.encode("latin-1") if "\xe9" in text else text.encode()
    plain = OUT / f"{name}.vcf"
    plain.write_bytes(data)
    rows = [(plain.name, "vcf", code, phrase)]
    if name in ("empty",):
        return rows
    packed = OUT / f"{name}.vcf.gz"
    try:
        pysam.tabix_compress(str(plain), str(packed), force=True)
    except OSError:
        packed.write_bytes(gzip.compress(data))
    rows.append((packed.name, "vcf", code, phrase))
    return rows


if __name__ == "__main__":
    main()
