"""annotate's outputs are what their names say (issue 27, points 3 and 4): the format follows
the extension or -O, an .xlsx is a workbook, each output has its own skipped list, JSON
numbers are numbers, TSV/JSON/API carry the same columns, and a VCF output keeps every
record of its input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import TEST_FASTA, write_vcf

import nlrp3annot
from nlrp3annot.cli import main

FASTA = str(TEST_FASTA["GRCh38"])
EXAMPLE = Path(__file__).parent / "data" / "example_patient_GRCh38.vcf"
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="no bcftools")


def annotate(tmp_path: Path, source: Path, output: str, *more: str) -> int:
    return main(["annotate", str(source), "--fasta", FASTA, "-o", str(tmp_path / output),
                 "-q", *more])  # fmt: skip


def tsv_rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_an_unknown_extension_or_a_format_against_the_name_is_one_line(tmp_path, capsys):
    for output, more, words in [
        ("calls.csv", [], [".csv", ".tsv", ".xlsx", "-O"]),
        ("calls", [], ["no extension"]),
        ("calls.tsv", ["-O", "json"], ["says tsv", "-O json"]),
    ]:
        assert annotate(tmp_path, EXAMPLE, output, *more) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and all(w in err[0] for w in words), err
        assert not (tmp_path / output).exists()
    # -O names the format of a name without an extension
    assert annotate(tmp_path, EXAMPLE, "calls", "-O", "json") == 0
    assert "annotations" in json.loads((tmp_path / "calls").read_text())


def test_xlsx_is_a_workbook_with_the_tsv_columns_and_numbers(tmp_path):
    import openpyxl

    assert annotate(tmp_path, EXAMPLE, "calls.xlsx") == 0
    assert annotate(tmp_path, EXAMPLE, "calls.tsv") == 0
    assert zipfile.is_zipfile(tmp_path / "calls.xlsx")  # not TSV text under an .xlsx name
    book = openpyxl.load_workbook(tmp_path / "calls.xlsx")
    assert book.sheetnames == ["annotations", "patients"]
    header, *rows = list(book["annotations"].values)
    expected = tsv_rows(tmp_path / "calls.tsv")
    assert list(header) == list(expected[0]) and len(rows) == len(expected)
    by_pos = {row[header.index("pos")]: dict(zip(header, row, strict=True)) for row in rows}
    r260 = by_pos[247424227]
    # AD 44,46 in the VCF: 46 / 90 to 4 significant digits, by hand
    assert r260["dp"] == 90 and r260["vaf"] == pytest.approx(0.5111)
    assert r260["legacy_protein_sample"] == "R260W"


def test_json_numbers_are_numbers_and_missing_numbers_null(tmp_path):
    vcf = write_vcf(tmp_path / "sites.vcf", [("chr1", 247424227, "C", "T")])
    assert annotate(tmp_path, EXAMPLE, "calls.json") == 0
    doc = json.loads((tmp_path / "calls.json").read_text())
    r260 = next(row for row in doc["annotations"] if row["pos"] == 247424227)
    assert r260["vaf"] == 0.5111 and r260["dp"] == 90  # AD 44,46: 46 / 90
    assert isinstance(r260["vaf_ci_low"], float) and isinstance(r260["mosaic_p"], float)
    assert doc["patients"][0]["vaf"] == 0.5111
    assert annotate(tmp_path, vcf, "sites.json") == 0  # no samples: no numbers to miss
    sites = json.loads((tmp_path / "sites.json").read_text())["annotations"]
    assert sites[0]["pos"] == 247424227 and sites[0]["norm_pos"] == 247424227
    with_and_without = tmp_path / "both.json"
    assert main(["annotate", str(EXAMPLE), str(vcf), "--fasta", FASTA, "-o",
                 str(with_and_without), "-q"]) == 0  # fmt: skip
    rows = json.loads(with_and_without.read_text())["annotations"]
    site_row = next(row for row in rows if row["file"] == str(vcf))
    assert site_row["vaf"] is None and site_row["dp"] is None and site_row["sample"] is None


def test_tsv_json_and_api_carry_the_same_columns_and_the_sample_legacy_name(tmp_path):
    assert annotate(tmp_path, EXAMPLE, "calls.tsv") == 0
    assert annotate(tmp_path, EXAMPLE, "calls.json") == 0
    tsv = tsv_rows(tmp_path / "calls.tsv")
    doc = json.loads((tmp_path / "calls.json").read_text())["annotations"]
    frame = nlrp3annot.annotate_vcfs([EXAMPLE], fasta=FASTA)
    assert set(tsv[0]) == set(doc[0]) == set(frame.columns)
    assert list(tsv[0]) == list(doc[0])  # and in one order
    # c.778C>T with c.780G on the sample's haplotype: p.Arg260Trp, R260W in the literature
    # (ClinVar's and the CAPS papers' name; MANE numbering), not the site's R260*
    r260 = next(row for row in tsv if row["pos"] == "247424227")
    assert r260["legacy_protein"] == "R260*" and r260["legacy_protein_sample"] == "R260W"


def test_each_output_has_its_own_skipped_list_written_only_when_something_is_skipped(
    tmp_path,
):
    header = '##ALT=<ID=DEL,Description="Deletion">'
    vcf = write_vcf(
        tmp_path / "in.vcf",
        [("chr1", 247424227, "C", "T"), ("chr1", 247424765, "C", "<DEL>")],
        extra_header=header,
    )
    names = {"calls.tsv": "calls.skipped.tsv", "calls.json": "calls.json.skipped.tsv",
             "calls.vcf.gz": "calls.vcf.gz.skipped.tsv"}  # fmt: skip
    for output, listed in names.items():
        assert annotate(tmp_path, vcf, output) == 0
        rows = tsv_rows(tmp_path / listed)
        assert [(r["pos"], r["alt"]) for r in rows] == [("247424765", "<DEL>")]
    # nothing skipped: no list, and the earlier run's list is gone
    clean = write_vcf(tmp_path / "clean.vcf", [("chr1", 247424227, "C", "T")])
    for output, listed in names.items():
        assert annotate(tmp_path, clean, output) == 0
        assert not (tmp_path / listed).exists()
    # --skipped names a list that is always written (a workflow declares it)
    assert annotate(tmp_path, clean, "calls.tsv", "--skipped", str(tmp_path / "s.tsv")) == 0
    assert (tmp_path / "s.tsv").read_text().splitlines() == ["path\tchrom\tpos\tref\talt\treason"]


def _bcftools(*args: str) -> str:
    return subprocess.run(["bcftools", *args], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def _with_records_elsewhere(tmp_path: Path) -> Path:
    """The example patient with records before, after and beside the locus (chr2), sorted,
    as a whole-exome VCF has them."""
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    sample = body[0].rstrip("\n").split("\t")[8:]
    before = ["chr1", "1000", "rs1", "A", "G", "50", "PASS", "DP=12;NOTE=x", *sample]
    after = ["chr1", "248000000", ".", "T", "TA,TAA", "60", "q10", ".", *sample]
    other = ["chr2", "247424227", ".", "C", "T", "70", "PASS", ".", *sample]
    contig = (
        "##contig=<ID=chr2,length=242193529>\n"
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
        '##INFO=<ID=NOTE,Number=1,Type=String,Description="Note">\n'
        '##FILTER=<ID=q10,Description="Quality below 10">\n'
    )
    at = next(i for i, line in enumerate(header) if line.startswith("##contig"))
    text = header[: at + 1] + [contig] + header[at + 1 :]
    text += ["\t".join(before) + "\n", *body, "\t".join(after) + "\n", "\t".join(other) + "\n"]
    path = tmp_path / "exome.vcf"
    path.write_text("".join(text))
    return path


@needs_bcftools
@pytest.mark.parametrize("kind", ["vcf", "vcf.gz", "bcf"])
def test_the_vcf_output_keeps_every_record(tmp_path, kind):
    source = _with_records_elsewhere(tmp_path)
    if kind != "vcf":
        given = tmp_path / f"exome.{kind}"
        _bcftools("view", "-O", "b" if kind == "bcf" else "z", "-o", str(given), str(source))
        source = given
    assert annotate(tmp_path, source, "out.vcf.gz") == 0
    out = tmp_path / "out.vcf.gz"
    count = len(_bcftools("view", "-H", str(source)).splitlines())
    assert count == 12  # the example's 9, and 3 elsewhere
    assert len(_bcftools("view", "-H", str(out)).splitlines()) == count  # valid, all there
    fields = "%CHROM\t%POS\t%ID\t%REF\t%ALT\t%QUAL\t%FILTER\t%INFO[\t%GT:%AD:%DP]\n"
    before = _bcftools("query", "-f", fields, str(source)).splitlines()
    after = _bcftools("query", "-f", fields, str(out)).splitlines()
    annotated = [line for line in after if "CSQ=" in line]
    assert len(annotated) == 8  # the example's 8 locus records; its 9th lies past the locus
    passed = [line for line in after if "CSQ=" not in line]
    assert passed == [line for line in before if line.split("\t")[1] in
                      ("1000", "247460000", "248000000") or line.startswith("chr2")]  # fmt: skip
    # same records, in input order: CHROM POS REF ALT and genotypes unchanged everywhere
    keep = "%CHROM %POS %REF %ALT[ %GT]\n"
    assert _bcftools("query", "-f", keep, str(out)) == _bcftools("query", "-f", keep, str(source))
    assert "##nlrp3annot_records=<in=12,annotated=8,passed_through=4>" in _bcftools(
        "view", "-h", str(out)
    )
    # the text of a record passed through is its input line, byte for byte
    if kind == "vcf":
        import gzip

        lines = gzip.decompress(out.read_bytes()).decode().splitlines()
        assert "\t".join(["chr1", "1000", "rs1", "A", "G", "50", "PASS", "DP=12;NOTE=x"]) in {
            "\t".join(line.split("\t")[:8]) for line in lines
        }


@needs_bcftools
def test_locus_only_gives_the_annotated_records(tmp_path):
    source = _with_records_elsewhere(tmp_path)
    assert annotate(tmp_path, source, "out.vcf", "--locus-only") == 0
    out = tmp_path / "out.vcf"
    assert len(_bcftools("view", "-H", str(out)).splitlines()) == 8
    assert "##nlrp3annot_records=<annotated=8,passed_through=0>" in out.read_text()
